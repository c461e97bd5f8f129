//! The real `natter` binary against a real server on a loopback port.

mod common;

use std::process::Stdio;

use common::{
    Setup, WAIT, check_probe, check_video_call_seen_by_both, collect_until_exit, last_probe,
    lines_of, phases, start_server, start_server_with,
};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_follow_list_and_search_from_the_command_line() {
    let setup = start_server().await;
    let alice = setup.sign_up("alice").await;
    let bob = setup.sign_up("bob").await;

    let sent = setup
        .run(Some(&alice), &["send", "@bob", "hello from a script"])
        .await;
    assert_eq!(sent[0]["state"], "sent", "{sent:?}");
    let conversation_id = sent[0]["conversation_id"]
        .as_str()
        .expect("a conversation id")
        .to_owned();

    // Bob follows the conversation live; alice sends again.
    let mut follow = setup.natter(Some(&bob), &["follow", &conversation_id]);
    follow
        .arg("--data-dir")
        .arg(setup.data.path().join("bob-follow"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = follow.spawn().expect("natter follow starts");
    let lines = lines_of(&mut child);
    let wait_for = |predicate: &dyn Fn(&Value) -> bool, what: &str| -> Value {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let line = lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("natter follow printed no {what}"));
            let value: Value = serde_json::from_str(&line).expect("every line is JSON");
            if predicate(&value) {
                return value;
            }
        }
    };
    wait_for(
        &|v| v["type"] == "connection" && v["status"]["state"] == "online",
        "online status",
    );
    setup
        .run(Some(&alice), &["send", &conversation_id, "second"])
        .await;
    let event = wait_for(
        &|v| v["type"] == "message" && v["message"]["body"] == "second",
        "message event",
    );
    assert_eq!(event["incoming"], true);
    assert_eq!(event["message"]["sender_name"], "alice");
    let _ = child.kill();
    let _ = child.wait();

    let conversations = setup.run(Some(&bob), &["conversations"]).await;
    assert_eq!(conversations.len(), 1);
    assert_eq!(conversations[0]["title"], "alice");
    assert_eq!(conversations[0]["unread_count"], 2);
    assert_eq!(conversations[0]["last_message"]["body"], "second");

    let hits = setup.run(Some(&bob), &["search", "script"]).await;
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0]["body"], "hello from a script");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_clear_and_exit_non_zero() {
    let setup = start_server().await;
    let alice = setup.sign_up("alice").await;
    let stderr = setup.run_failing(&alice, &["send", "@nobody", "hi"]).await;
    assert!(stderr.contains("no user named \"nobody\""), "{stderr}");

    let stderr = setup.run_failing("not-a-token", &["whoami"]).await;
    assert!(stderr.contains("401"), "{stderr}");
}

/// Alice (tone 440 Hz) calls Bob (660 Hz), who answers; both send the test pattern (in a video
/// call) and probe what they receive. Returns what each printed.
async fn call(
    setup: &Setup,
    kind: &str,
    extra: &[&str],
    seconds: &str,
) -> (Vec<Value>, Vec<Value>) {
    let alice = setup.sign_up("alice").await;
    let bob = setup.sign_up("bob").await;
    setup.run(Some(&alice), &["dm", "@bob"]).await;
    let media = |tone: &str, home: &str| -> Vec<String> {
        [
            "--fake-camera",
            "--fake-mic",
            tone,
            "--bind",
            "127.0.0.1:0",
            "--no-mdns",
            "--probe",
        ]
        .iter()
        .chain(extra)
        .map(|arg| (*arg).to_owned())
        .chain([
            "--data-dir".to_owned(),
            setup.data.path().join(home).display().to_string(),
        ])
        .collect()
    };
    let mut answerer = setup
        .natter(Some(&bob), &["answer"])
        .args(media("660", "bob-call"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("natter answer starts");
    let answerer_lines = lines_of(&mut answerer);
    let mut caller = setup
        .natter(Some(&alice), &["call", "bob", "--duration", seconds])
        .args((kind == "video").then_some("--video"))
        .args(media("440", "alice-call"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("natter call starts");
    let caller_lines = lines_of(&mut caller);
    let (caller_seen, answerer_seen) = tokio::task::spawn_blocking(move || {
        let caller_seen = collect_until_exit(&mut caller, &caller_lines);
        let answerer_seen = collect_until_exit(&mut answerer, &answerer_lines);
        (caller_seen, answerer_seen)
    })
    .await
    .expect("the readers do not panic");
    for (token, lines) in [(&alice, &caller_seen), (&bob, &answerer_seen)] {
        let calls = setup.run(Some(token), &["calls"]).await;
        assert_eq!(calls.len(), 1, "{calls:#?}");
        assert_eq!(calls[0]["end_reason"], "completed", "{lines:#?}");
        assert_eq!(calls[0]["kind"], kind);
    }
    (caller_seen, answerer_seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_video_call_between_two_command_line_clients_carries_pictures_and_tones() {
    let setup = start_server().await;
    let (caller_seen, answerer_seen) = call(&setup, "video", &[], "6.5").await;
    check_video_call_seen_by_both(&caller_seen, &answerer_seen);
    assert!(
        caller_seen
            .iter()
            .any(|line| line["type"] == "call_stats" && line["stats"]["rtt_ms"].as_f64().is_some()),
        "stats with a round-trip time are printed"
    );

    // The history has the call's talk time (the helper checked it completed).
    let history = setup.history_of_last_call().await;
    let duration = history["duration_ms"].as_i64().unwrap_or(0);
    assert!(
        (6_000..15_000).contains(&duration),
        "talk time {duration} ms for a 6.5 s call"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_only_call_goes_through_the_embedded_turn_listener() {
    let setup = start_server_with(|config| {
        config.turn_listen = Some("127.0.0.1:0".parse().expect("an address"));
        // Both peers are on this machine: their relays must reach loopback.
        config.turn_allow_private_peers = true;
    })
    .await;
    let (caller_seen, answerer_seen) = call(&setup, "video", &["--relay-only"], "6.5").await;
    for (lines, tone_hz) in [(&caller_seen, 660.0), (&answerer_seen, 440.0)] {
        assert!(
            phases(lines).contains(&"connected".to_owned()),
            "{lines:#?}"
        );
        let candidate_types: Vec<&Value> = lines
            .iter()
            .filter(|line| line["type"] == "call_stats")
            .map(|line| &line["stats"]["local_candidate_type"])
            .filter(|kind| !kind.is_null())
            .collect();
        assert!(
            !candidate_types.is_empty() && candidate_types.iter().all(|kind| *kind == "relay"),
            "the media went through TURN: {candidate_types:?}"
        );
        // Pictures and tone arrive through the relay as they do directly.
        check_probe(last_probe(lines), tone_hz);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_are_listed_and_a_device_that_is_not_there_is_refused() {
    let setup = start_server().await;
    let alice = setup.sign_up("alice").await;
    let listed = setup.run(Some(&alice), &["devices"]).await;
    let ids = |kind: &str| -> Vec<String> {
        listed
            .iter()
            .filter(|device| device["kind"] == kind)
            .filter_map(|device| device["id"].as_str().map(str::to_owned))
            .collect()
    };
    assert!(
        ids("camera").contains(&"synthetic:test-pattern".to_owned()),
        "{listed:#?}"
    );
    assert!(
        ids("microphone").contains(&"synthetic:tone:440".to_owned()),
        "{listed:#?}"
    );
    assert!(
        ids("speaker").contains(&"synthetic:silent".to_owned()),
        "{listed:#?}"
    );
    assert!(
        listed
            .iter()
            .all(|device| device["name"].as_str().is_some_and(|name| !name.is_empty()))
    );

    let refused = setup
        .run_failing(&alice, &["call", "bob", "--video", "--camera", "camera:99"])
        .await;
    assert!(refused.contains("no camera \"camera:99\""), "{refused}");
    let refused = setup
        .run_failing(&alice, &["call", "bob", "--microphone", "synthetic:tone:0"])
        .await;
    assert!(refused.contains("no microphone"), "{refused}");
}

/// Issue 14: Bob answers a video call on a machine without a camera. The call goes on, with
/// his camera off, and Alice is told so (she receives no pictures).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_video_call_answered_without_a_camera_tells_the_caller_it_is_off() {
    let setup = start_server().await;
    let alice = setup.sign_up("alice").await;
    let bob = setup.sign_up("bob").await;
    setup.run(Some(&alice), &["dm", "@bob"]).await;
    let local = ["--bind", "127.0.0.1:0", "--no-mdns"];
    // No --camera, no --fake-camera: Bob has none.
    let bob_answers = setup.start(
        "bob",
        &bob,
        &[&["answer", "--fake-mic", "660"][..], &local].concat(),
    );
    let alice_calls = setup.start(
        "alice",
        &alice,
        &[
            &["call", "bob", "--video", "--fake-camera", "--duration", "3"][..],
            &local,
        ]
        .concat(),
    );

    let (alice_seen, alice_ok) = alice_calls.finish();
    let (bob_seen, bob_ok) = bob_answers.finish();
    assert!(alice_ok && bob_ok, "{alice_seen:#?} {bob_seen:#?}");
    assert!(
        phases(&bob_seen).contains(&"connected".to_owned()),
        "the call went on: {bob_seen:#?}"
    );
    let bob_camera: Vec<&Value> = bob_seen
        .iter()
        .filter(|line| line["type"] == "call" && line["call"]["phase"] == "connected")
        .map(|line| &line["call"]["camera_on"])
        .collect();
    assert!(
        !bob_camera.is_empty() && bob_camera.iter().all(|on| on.as_bool() == Some(false)),
        "Bob's camera shown on while connected: {bob_camera:?}"
    );
    let told = alice_seen
        .iter()
        .rfind(|line| line["type"] == "call" && line["call"]["phase"] == "connected")
        .map(|line| line["call"]["peer_camera_on"].clone());
    assert_eq!(
        told,
        Some(Value::Bool(false)),
        "Alice was not told Bob's camera is off: {alice_seen:#?}"
    );
}

/// Issue 20: the account commands, through the real binary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_commands_from_the_command_line() {
    let setup = start_server_with(|config| config.users_can_invite = true).await;
    let alice = setup.sign_up("alice").await;

    // An invite, and a sign-up with its web link.
    let invite = setup
        .run(
            Some(&alice),
            &["invite", "--uses", "2", "--note", "for bob"],
        )
        .await;
    let link = invite[0]["link"].as_str().expect("a web link").to_owned();
    assert!(link.contains("/invite/"), "{invite:?}");
    assert!(
        invite[0]["app_link"]
            .as_str()
            .is_some_and(|app| app.starts_with("natter://invite?server=")),
        "{invite:?}"
    );
    let signed_up = setup
        .run(None, &["signup", "bob", "--invite", &link, "--print-token"])
        .await;
    let bob = signed_up[0]["token"].as_str().expect("a token").to_owned();
    let invites = setup.run(Some(&alice), &["invites"]).await;
    assert_eq!(invites[0]["uses"], 1, "{invites:?}");

    // A second device, listed and signed out.
    let second = setup.run(None, &["login", "alice", "--print-token"]).await[0]["token"]
        .as_str()
        .expect("a token")
        .to_owned();
    let sessions = setup.run(Some(&alice), &["sessions"]).await;
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    let other = sessions
        .iter()
        .find(|session| session["current"] == false)
        .expect("the other session");
    let other_id = other["id"].as_str().expect("an id");
    setup
        .run(Some(&alice), &["sessions", "revoke", other_id])
        .await;
    setup.run_failing(&second, &["whoami"]).await;
    assert_eq!(setup.run(Some(&alice), &["sessions"]).await.len(), 1);

    // Blocked, Bob's message is refused with the server's reason.
    setup.run(Some(&bob), &["dm", "alice"]).await;
    setup.run(Some(&alice), &["block", "bob"]).await;
    assert_eq!(
        setup.run(Some(&alice), &["blocked"]).await[0]["username"],
        "bob"
    );
    let refused = setup
        .run_failing(&bob, &["send", "@alice", "let me in"])
        .await;
    assert!(
        refused.contains("cannot receive your messages"),
        "{refused}"
    );
    setup.run(Some(&alice), &["unblock", "bob"]).await;
    setup.run(Some(&bob), &["send", "@alice", "thanks"]).await;

    // Two-factor setup prints the secret and URI (the QR code goes to stderr).
    let totp = setup.run(Some(&alice), &["2fa", "setup"]).await;
    assert!(
        totp[0]["otpauth_uri"]
            .as_str()
            .is_some_and(|uri| uri.starts_with("otpauth://totp/")),
        "{totp:?}"
    );

    // The export, then the account is gone.
    let path = setup.data.path().join("alice-export.json");
    let exported = setup
        .run(
            Some(&alice),
            &["export", path.to_str().expect("a UTF-8 path")],
        )
        .await;
    assert!(
        exported[0]["bytes"]
            .as_u64()
            .is_some_and(|bytes| bytes > 100)
    );
    let export: Value =
        serde_json::from_slice(&std::fs::read(&path).expect("the export is written"))
            .expect("the export is JSON");
    assert_eq!(export["format"], "natter-export/1");
    assert_eq!(export["account"]["user"]["username"], "alice");
    setup.run_failing(&alice, &["delete-account"]).await;
    setup.run(Some(&alice), &["delete-account", "--yes"]).await;
    setup.run_failing(&alice, &["whoami"]).await;
}

/// A reply, a reaction and a mute from the command line; a muted conversation announces only
/// the messages that mention me (`alert` on the followed event), and the reply's quote names
/// its original.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_reactions_and_a_muted_conversation_that_still_hears_mentions() {
    let setup = start_server().await;
    let alice = setup.sign_up("alice").await;
    let bob = setup.sign_up("bob").await;
    let carol = setup.sign_up("carol").await;
    let first = setup
        .run(Some(&alice), &["send", "@bob", "lunch at noon?"])
        .await;
    let conversation_id = first[0]["conversation_id"].as_str().expect("an id");
    let original_id = first[0]["id"].as_str().expect("a message id");

    let reply = setup
        .run(
            Some(&bob),
            &["send", conversation_id, "yes!", "--reply-to", original_id],
        )
        .await;
    assert_eq!(reply[0]["reply_to"]["message_id"], original_id, "{reply:?}");
    assert_eq!(reply[0]["reply_to"]["excerpt"], "lunch at noon?");
    assert_eq!(reply[0]["reply_to"]["sender_name"], "alice");

    let reacted = setup
        .run(Some(&bob), &["react", conversation_id, original_id, "👍"])
        .await;
    assert_eq!(reacted[0]["reactions"][0]["emoji"], "👍", "{reacted:?}");
    assert_eq!(reacted[0]["reactions"][0]["count"], 1);
    assert_eq!(reacted[0]["reactions"][0]["mine"], true);
    let stderr = setup
        .run_failing(&bob, &["react", conversation_id, original_id, "nope"])
        .await;
    assert!(stderr.contains("one emoji"), "{stderr}");

    // Bob mutes a group, then follows it.
    let group = setup
        .run(Some(&alice), &["group", "Lunch", "bob", "carol"])
        .await;
    let group_id = group[0]["id"].as_str().expect("a group id");
    let muted = setup.run(Some(&bob), &["mute", group_id]).await;
    assert_eq!(muted[0]["muted"], true, "{muted:?}");
    let mut follow = setup.natter(Some(&bob), &["follow", group_id]);
    follow
        .arg("--data-dir")
        .arg(setup.data.path().join("bob-follow"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = follow.spawn().expect("natter follow starts");
    let lines = lines_of(&mut child);
    let next_message = |body: &str| -> Value {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let line = lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("natter follow printed no message {body:?}"));
            let value: Value = serde_json::from_str(&line).expect("every line is JSON");
            if value["type"] == "connection" && value["status"]["state"] == "online" {
                continue;
            }
            if value["type"] == "message" && value["message"]["body"] == body {
                return value;
            }
        }
    };
    setup
        .run(Some(&carol), &["send", group_id, "anyone hungry?"])
        .await;
    let quiet = next_message("anyone hungry?");
    assert_eq!(
        (quiet["incoming"].clone(), quiet["alert"].clone()),
        (Value::Bool(true), Value::Bool(false)),
        "a muted conversation does not announce: {quiet}"
    );
    setup
        .run(Some(&carol), &["send", group_id, "@bob are you coming?"])
        .await;
    let mention = next_message("@bob are you coming?");
    assert_eq!(mention["alert"], true, "a mention is announced: {mention}");
    assert_eq!(mention["message"]["mentions_me"], true);
    let _ = child.kill();
    let _ = child.wait();

    let unmuted = setup.run(Some(&bob), &["mute", group_id, "--off"]).await;
    assert_eq!(unmuted[0]["muted"], false);
}

/// Files from the command line: `send-file` uploads (two files and a caption, one of them
/// empty) and waits until the message is stored; `download` fetches them into a folder by
/// their names, never over a file already there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_go_up_and_come_down_through_the_command_line() {
    let setup = start_server().await;
    let alice = setup.sign_up("alice").await;
    let bob = setup.sign_up("bob").await;
    let outgoing = setup.data.path().join("outgoing");
    std::fs::create_dir_all(&outgoing).expect("a folder");
    let big: Vec<u8> = (0..6_000_000u32).map(|index| (index % 253) as u8).collect();
    let big_path = outgoing.join("big data.bin");
    std::fs::write(&big_path, &big).expect("a file");
    let empty_path = outgoing.join("empty.txt");
    std::fs::write(&empty_path, b"").expect("a file");

    let sent = setup
        .run(
            Some(&alice),
            &[
                "send-file",
                "@bob",
                big_path.to_str().expect("a UTF-8 path"),
                empty_path.to_str().expect("a UTF-8 path"),
                "--text",
                "the numbers",
            ],
        )
        .await;
    let message = &sent[0];
    assert_eq!(message["state"], "sent", "{message}");
    assert_eq!(message["body"], "the numbers");
    let names: Vec<&str> = message["attachments"]
        .as_array()
        .expect("attachments")
        .iter()
        .filter_map(|attachment| attachment["name"].as_str())
        .collect();
    assert_eq!(names, ["big data.bin", "empty.txt"]);
    assert_eq!(message["attachments"][0]["size"], 6_000_000);
    let message_id = message["id"].as_str().expect("an id");

    let inbox = setup.data.path().join("inbox");
    std::fs::create_dir_all(&inbox).expect("a folder");
    let inbox_text = inbox.to_str().expect("a UTF-8 path");
    let downloaded = setup
        .run(Some(&bob), &["download", message_id, inbox_text])
        .await;
    assert_eq!(downloaded.len(), 2, "{downloaded:?}");
    assert_eq!(
        std::fs::read(inbox.join("big data.bin")).expect("downloaded"),
        big
    );
    assert_eq!(
        std::fs::read(inbox.join("empty.txt")).expect("downloaded"),
        b""
    );
    let again = setup
        .run(Some(&bob), &["download", message_id, inbox_text])
        .await;
    assert_eq!(
        again[0]["path"],
        inbox
            .join("big data (1).bin")
            .to_str()
            .expect("a UTF-8 path"),
        "nothing is overwritten"
    );

    let stderr = setup
        .run_failing(&bob, &["send-file", "@alice", "/no/such/file"])
        .await;
    assert!(stderr.contains("/no/such/file"), "{stderr}");
}
