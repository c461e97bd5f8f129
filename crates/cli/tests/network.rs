//! Calls across a real (virtual) network: each user's `natter` runs in a network namespace of
//! its own, joined to the server by a bridge, so the test can take a link down or make it slow
//! with `ip` and `tc` while the call runs.
//!
//! Needs root (CAP_NET_ADMIN) for `ip netns`, as CI and the development machine have.

mod common;

use std::{
    process::Command,
    sync::atomic::{AtomicU32, Ordering},
    time::{Duration, Instant},
};

use common::{Running, Setup, WAIT, start_server_with};
use serde_json::Value;

/// Two hosts, `a` (10.231.N.2) and `b` (.3), on a bridge with the server (.1). Torn down on drop.
struct Lab {
    tag: String,
    subnet: u32,
}

static LABS: AtomicU32 = AtomicU32::new(0);

/// One call at a time: two video calls at once on a 2-core machine starve each other of CPU,
/// and what these tests measure is the network, not the scheduler.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn ip(args: &[&str]) {
    let output = Command::new("ip")
        .args(args)
        .output()
        .unwrap_or_else(|error| panic!("`ip` runs ({error}): install iproute2"));
    assert!(
        output.status.success(),
        "ip {}: {} (these tests need root for network namespaces)",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
}

impl Lab {
    fn new() -> Lab {
        let index = LABS.fetch_add(1, Ordering::SeqCst);
        let subnet = 20 + (std::process::id() % 100) * 2 + index % 2;
        let lab = Lab {
            tag: format!("{}{}", std::process::id() % 100_000, index),
            subnet,
        };
        lab.clean();
        let bridge = lab.bridge();
        ip(&["link", "add", &bridge, "type", "bridge"]);
        ip(&[
            "addr",
            "add",
            &format!("{}/24", lab.server_ip()),
            "dev",
            &bridge,
        ]);
        ip(&["link", "set", &bridge, "up"]);
        for (host, last) in [("a", 2), ("b", 3)] {
            let (netns, outside, inside) = (
                lab.netns(host),
                lab.link(host),
                format!("i{}{host}", lab.tag),
            );
            ip(&["netns", "add", &netns]);
            ip(&[
                "link", "add", &outside, "type", "veth", "peer", "name", &inside,
            ]);
            ip(&["link", "set", &inside, "netns", &netns]);
            ip(&["link", "set", &outside, "master", &bridge]);
            ip(&["link", "set", &outside, "up"]);
            let address = format!("10.231.{}.{last}/24", lab.subnet);
            ip(&["-n", &netns, "addr", "add", &address, "dev", &inside]);
            ip(&["-n", &netns, "link", "set", &inside, "up"]);
            ip(&["-n", &netns, "link", "set", "lo", "up"]);
        }
        lab
    }

    fn bridge(&self) -> String {
        format!("nb{}", self.tag)
    }

    fn netns(&self, host: &str) -> String {
        format!("natter-{}-{host}", self.tag)
    }

    /// The bridge side of a host's cable: what the tests unplug or slow down.
    fn link(&self, host: &str) -> String {
        format!("o{}{host}", self.tag)
    }

    fn server_ip(&self) -> String {
        format!("10.231.{}.1", self.subnet)
    }

    fn clean(&self) {
        for host in ["a", "b"] {
            let _ = Command::new("ip")
                .args(["netns", "del", &self.netns(host)])
                .output();
        }
        let _ = Command::new("ip")
            .args(["link", "del", &self.bridge()])
            .output();
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.clean();
    }
}

/// The server on the bridge; Alice and Bob signed up and sharing a conversation.
async fn people_on(lab: &Lab) -> (Setup, String, String) {
    let listen = format!("{}:0", lab.server_ip());
    let setup = start_server_with(|config| {
        config.listen = listen.parse().expect("an address");
    })
    .await;
    let alice = setup.sign_up("alice").await;
    let bob = setup.sign_up("bob").await;
    setup.run(Some(&alice), &["dm", "@bob"]).await;
    (setup, alice, bob)
}

fn is_connected(line: &Value) -> bool {
    line["type"] == "call" && line["call"]["phase"] == "connected"
}

/// Pictures Bob's probe has counted so far, read from its next report.
fn pictures_seen(bob: &mut Running) -> u64 {
    bob.wait_for("a probe report", |line| line["type"] == "media_probe")["frames"]
        .as_u64()
        .unwrap_or(0)
}

/// Waits until Bob has decoded `more` pictures beyond what he had.
fn wait_for_more_pictures(bob: &mut Running, more: u64) -> Duration {
    let start = Instant::now();
    let from = pictures_seen(bob);
    while pictures_seen(bob) < from + more {
        assert!(
            start.elapsed() < WAIT,
            "Bob saw fewer than {more} new pictures in {WAIT:?}"
        );
    }
    start.elapsed()
}

/// Bob (host `b`, 660 Hz) answers; Alice (host `a`, 440 Hz) calls him with video for
/// `seconds`; both send the test pattern and probe what they receive.
fn video_call(
    lab: &Lab,
    setup: &Setup,
    (alice, bob): (&str, &str),
    seconds: &str,
) -> (Running, Running) {
    let media = |tone| ["--fake-camera", "--fake-mic", tone, "--no-mdns", "--probe"];
    let bob = setup.start_in(
        &lab.netns("b"),
        "bob",
        bob,
        &[&["answer"][..], &media("660")].concat(),
    );
    let alice = setup.start_in(
        &lab.netns("a"),
        "alice",
        alice,
        &[
            &["call", "bob", "--video", "--duration", seconds][..],
            &media("440"),
        ]
        .concat(),
    );
    (alice, bob)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_comes_back_after_the_network_drops_by_restarting_ice() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let lab = Lab::new();
    let (setup, alice, bob) = people_on(&lab).await;
    let (mut alice, mut bob) = video_call(&lab, &setup, (&alice, &bob), "25");
    alice.wait_for("the call connected", is_connected);
    wait_for_more_pictures(&mut bob, 30);

    // Bob's cable is pulled: Alice's side notices and starts restarting ICE.
    ip(&["link", "set", &lab.link("b"), "down"]);
    alice.wait_for("the media reconnecting", |line| {
        line["type"] == "call" && line["call"]["reconnecting"] == true
    });
    alice.wait_for("an ICE restart", |line| {
        line["type"] == "call_stats" && line["stats"]["ice_restarts"].as_u64() >= Some(1)
    });
    ip(&["link", "set", &lab.link("b"), "up"]);

    let back = alice.wait_for("the media back", |line| {
        line["type"] == "call" && line["call"]["reconnecting"] == false
    });
    assert_eq!(back["call"]["phase"], "connected", "{back}");
    let took = wait_for_more_pictures(&mut bob, 60);
    eprintln!("60 more pictures {took:?} after the media came back");

    let (alice_seen, alice_ok) = alice.finish();
    let (bob_seen, bob_ok) = bob.finish();
    assert!(alice_ok && bob_ok, "{alice_seen:#?} {bob_seen:#?}");
    let calls = setup
        .run(Some(&setup.sign_in("alice").await), &["calls"])
        .await;
    assert_eq!(calls[0]["end_reason"], "completed", "{calls:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_link_lowers_the_bitrate_instead_of_freezing() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let lab = Lab::new();
    // Everything towards Bob goes through 300 kbit/s, queueing at most 400 ms (a token bucket:
    // netem is not in every kernel).
    let status = Command::new("tc")
        .args(["qdisc", "add", "dev", &lab.link("b"), "root", "tbf"])
        .args(["rate", "300kbit", "burst", "4kb", "latency", "400ms"])
        .status()
        .expect("tc runs (iproute2)");
    assert!(status.success(), "tc could not shape the link");
    let (setup, alice, bob) = people_on(&lab).await;
    let (mut alice, mut bob) = video_call(&lab, &setup, (&alice, &bob), "16");
    alice.wait_for("the call connected", is_connected);

    // The sender settles under the link's rate...
    let settled = alice.wait_for("a target bitrate under the link's 300 kbit/s", |line| {
        line["type"] == "call_stats"
            && line["stats"]["target_bitrate_bps"]
                .as_u64()
                .is_some_and(|bps| bps > 0 && bps < 300_000)
    });
    eprintln!("settled: {settled}");
    // ...and the picture keeps moving: at least 10 fps over 4 s, not a frozen frame.
    let took = wait_for_more_pictures(&mut bob, 40);
    assert!(
        took < Duration::from_secs(4),
        "40 pictures took {took:?} on the slow link"
    );

    let (alice_seen, alice_ok) = alice.finish();
    let (bob_seen, bob_ok) = bob.finish();
    assert!(alice_ok && bob_ok, "{alice_seen:#?} {bob_seen:#?}");
    let heard = bob_seen
        .iter()
        .rev()
        .find(|line| line["type"] == "media_probe")
        .and_then(|probe| probe["tone_hz"].as_f64());
    let last_stats = |lines: &[Value]| {
        lines
            .iter()
            .rev()
            .find(|line| line["type"] == "call_stats")
            .cloned()
            .unwrap_or_default()
    };
    assert!(
        heard.is_some_and(|hz| (hz - 440.0).abs() < 8.8),
        "the voice got through the slow link: heard {heard:?}; Alice's last stats {}, Bob's {}",
        last_stats(&alice_seen),
        last_stats(&bob_seen)
    );
}
