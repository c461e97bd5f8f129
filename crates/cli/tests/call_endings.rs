//! How calls end, told through real `natter` processes on both sides: declined, cancelled,
//! unanswered, busy, answered on another device, and two users calling each other at once.
//! Each story checks what both sides printed last, their exit codes, and the history.

mod common;

use common::{Running, Setup, last_call, phases, start_server_with};
use serde_json::{Value, json};

/// Alice, Bob and Carol; Alice and Carol each share a direct conversation with Bob.
struct People {
    setup: Setup,
    alice: String,
    bob: String,
    carol: String,
}

async fn people() -> People {
    let setup = start_server_with(|config| config.call_ring_seconds = 2.0).await;
    let alice = setup.sign_up("alice").await;
    let bob = setup.sign_up("bob").await;
    let carol = setup.sign_up("carol").await;
    setup.run(Some(&alice), &["dm", "@bob"]).await;
    setup.run(Some(&carol), &["dm", "@bob"]).await;
    People {
        setup,
        alice,
        bob,
        carol,
    }
}

impl People {
    /// Local calls: media on loopback, no mDNS.
    fn call(&self, name: &str, token: &str, callee: &str, extra: &[&str]) -> Running {
        let mut args = vec!["call", callee, "--bind", "127.0.0.1:0", "--no-mdns"];
        args.extend(extra);
        self.setup.start(name, token, &args)
    }

    fn answer(&self, name: &str, token: &str) -> Running {
        self.setup.start(
            name,
            token,
            &["answer", "--bind", "127.0.0.1:0", "--no-mdns"],
        )
    }

    /// The newest entry of this user's call history.
    async fn last_history_entry(&self, token: &str) -> Value {
        let calls = self.setup.run(Some(token), &["calls"]).await;
        calls.into_iter().next().expect("a call in the history")
    }

    async fn unread_with_bob(&self, token: &str) -> i64 {
        let conversations = self.setup.run(Some(token), &["conversations"]).await;
        conversations
            .iter()
            .map(|conversation| conversation["unread_count"].as_i64().unwrap_or(-1))
            .sum()
    }
}

fn ended(reason: &str) -> Value {
    json!({ "kind": "ended", "reason": reason })
}

fn is_call_in(phase: &'static str) -> impl Fn(&Value) -> bool {
    move |line| line["type"] == "call" && line["call"]["phase"] == phase
}

/// A call that never connected: nothing to time.
fn check_unanswered_record(record: &Value, reason: &str) {
    assert_eq!(record["end_reason"], reason, "{record}");
    assert!(record["answered_at"].is_null(), "{record}");
    assert_eq!(record["duration_ms"], 0, "{record}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bob_declines() {
    let people = people().await;
    let bob = people.setup.start("bob", &people.bob, &["decline"]);
    let alice = people.call("alice", &people.alice, "bob", &[]);

    let (bob_seen, bob_ok) = bob.finish();
    let (alice_seen, alice_ok) = alice.finish();
    assert_eq!(phases(&alice_seen), ["outgoing", "ended"]);
    assert_eq!(last_call(&alice_seen)["ending"], ended("declined"));
    assert!(!alice_ok, "a declined call is not a success for the caller");
    assert_eq!(phases(&bob_seen), ["incoming", "ended"]);
    assert_eq!(last_call(&bob_seen)["ending"], ended("declined"));
    assert!(bob_ok, "`natter decline` did what it was asked");

    check_unanswered_record(&people.last_history_entry(&people.alice).await, "declined");
    // Bob saw it and said no: not a missed call.
    assert_eq!(people.unread_with_bob(&people.bob).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alice_gives_up_while_it_rings() {
    let people = people().await;
    let mut bob = people.setup.start("bob", &people.bob, &["follow"]);
    let mut alice = people.call("alice", &people.alice, "bob", &[]);
    bob.wait_for("the incoming call", is_call_in("incoming"));
    alice.wait_for("ringing", |line| line["call"]["ringing"] == true);
    alice.interrupt();

    let (alice_seen, alice_ok) = alice.finish();
    assert_eq!(last_call(&alice_seen)["ending"], ended("cancelled"));
    assert!(!alice_ok);
    let bob_end = bob.wait_for("the end of the call", is_call_in("ended"));
    assert_eq!(bob_end["call"]["ending"], ended("cancelled"));

    check_unanswered_record(&people.last_history_entry(&people.bob).await, "cancelled");
    assert_eq!(
        people.unread_with_bob(&people.bob).await,
        1,
        "a cancelled call is a missed call for Bob"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_answers() {
    let people = people().await;
    let mut bob = people.setup.start("bob", &people.bob, &["follow"]);
    let alice = people.call("alice", &people.alice, "bob", &[]);
    bob.wait_for("the incoming call", is_call_in("incoming"));

    let (alice_seen, alice_ok) = alice.finish();
    assert_eq!(phases(&alice_seen), ["outgoing", "ended"]);
    assert_eq!(last_call(&alice_seen)["ending"], ended("missed"));
    assert!(!alice_ok);
    let bob_end = bob.wait_for("the end of the call", is_call_in("ended"));
    assert_eq!(bob_end["call"]["ending"], ended("missed"));

    let record = people.last_history_entry(&people.alice).await;
    check_unanswered_record(&record, "missed");
    let rang_for =
        record["ended_at"].as_i64().unwrap_or(0) - record["started_at"].as_i64().unwrap_or(0);
    assert!(
        (2_000..6_000).contains(&rang_for),
        "rang for {rang_for} ms with a 2 s ring timeout"
    );
    assert_eq!(people.unread_with_bob(&people.bob).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bob_is_busy() {
    let people = people().await;
    let bob = people.answer("bob", &people.bob);
    let mut alice = people.call("alice", &people.alice, "bob", &["--duration", "4"]);
    alice.wait_for("the call connected", is_call_in("connected"));

    let carol = people.call("carol", &people.carol, "bob", &[]);
    let (carol_seen, carol_ok) = carol.finish();
    assert_eq!(last_call(&carol_seen)["ending"], ended("busy"));
    assert!(!carol_ok);
    check_unanswered_record(&people.last_history_entry(&people.carol).await, "busy");

    // Carol's attempt did not disturb the call in progress.
    let (alice_seen, alice_ok) = alice.finish();
    let (bob_seen, bob_ok) = bob.finish();
    assert!(alice_ok && bob_ok, "{alice_seen:#?} {bob_seen:#?}");
    assert_eq!(
        phases(&bob_seen),
        ["incoming", "connecting", "connected", "ended"]
    );
    let record = people.last_history_entry(&people.alice).await;
    assert_eq!(record["end_reason"], "completed");
    let talked = record["duration_ms"].as_i64().unwrap_or(0);
    assert!((4_000..10_000).contains(&talked), "talked {talked} ms");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bob_answers_on_his_other_device() {
    let people = people().await;
    // Each device signs in for itself: a device is a session.
    let bob_on_phone = people.setup.sign_in("bob").await;
    let mut bob_laptop = people.setup.start("bob-laptop", &people.bob, &["follow"]);
    let bob_phone = people.answer("bob-phone", &bob_on_phone);
    // Online before the call, or the phone might answer before the laptop ever rang.
    bob_laptop.wait_for("online", |line| {
        line["type"] == "connection" && line["status"]["state"] == "online"
    });
    let alice = people.call("alice", &people.alice, "bob", &["--duration", "1"]);

    bob_laptop.wait_for("the incoming call", is_call_in("incoming"));
    let laptop_end = bob_laptop.wait_for("the end of the ringing", is_call_in("ended"));
    assert_eq!(
        laptop_end["call"]["ending"],
        json!({ "kind": "answered_elsewhere" }),
    );
    let (alice_seen, alice_ok) = alice.finish();
    let (phone_seen, phone_ok) = bob_phone.finish();
    assert!(alice_ok && phone_ok, "{alice_seen:#?} {phone_seen:#?}");
    assert_eq!(last_call(&phone_seen)["ending"], ended("completed"));
    assert_eq!(
        people.last_history_entry(&people.bob).await["end_reason"],
        "completed"
    );
    assert_eq!(people.unread_with_bob(&people.bob).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alice_and_bob_call_each_other_at_once() {
    let people = people().await;
    let alice = people.call("alice", &people.alice, "bob", &["--duration", "1"]);
    let bob = people.call("bob", &people.bob, "alice", &["--duration", "1"]);

    let (alice_seen, alice_ok) = alice.finish();
    let (bob_seen, bob_ok) = bob.finish();
    assert!(alice_ok && bob_ok, "{alice_seen:#?} {bob_seen:#?}");
    assert_eq!(
        last_call(&alice_seen)["call_id"],
        last_call(&bob_seen)["call_id"],
        "both talked in one call"
    );
    let calls = people.setup.run(Some(&people.alice), &["calls"]).await;
    assert_eq!(calls.len(), 1, "one call recorded: {calls:#?}");
    assert_eq!(calls[0]["end_reason"], "completed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_call_opens_the_direct_conversation_and_rings() {
    // Alice and Bob have never written to each other: they share no conversation, which the
    // server requires of a call.
    let setup = start_server_with(|config| config.call_ring_seconds = 2.0).await;
    let alice = setup.sign_up("alice").await;
    let bob = setup.sign_up("bob").await;
    let bob_declines = setup.start("bob", &bob, &["decline"]);
    let alice_calls = setup.start(
        "alice",
        &alice,
        &["call", "bob", "--bind", "127.0.0.1:0", "--no-mdns"],
    );

    // Alice's side first: refused, it ends at once, and Bob's waits for a call forever.
    let (alice_seen, alice_ok) = alice_calls.finish();
    assert_eq!(
        last_call(&alice_seen)["ending"],
        ended("declined"),
        "the call did not ring at Bob's: {alice_seen:#?}"
    );
    assert!(!alice_ok, "a declined call is not a success for the caller");
    let (bob_seen, bob_ok) = bob_declines.finish();
    assert_eq!(phases(&bob_seen), ["incoming", "ended"]);
    assert!(bob_ok, "{bob_seen:#?}");
    let conversations = setup.run(Some(&alice), &["conversations"]).await;
    assert_eq!(conversations.len(), 1, "{conversations:#?}");
    assert_eq!(conversations[0]["kind"], "direct");
    assert_eq!(conversations[0]["title"], "bob");

    // Someone who does not exist: said exactly, before anything starts.
    let refused = setup.run_failing(&alice, &["call", "nobody"]).await;
    assert!(refused.contains("no user named \"nobody\""), "{refused}");
}
