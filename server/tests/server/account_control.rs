//! People in control of their account (issue 20): password change, two-factor sign-in,
//! blocking, deleting the account, exporting their data.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use natter_protocol::{
    AccountExport, ClientFrame, ConversationId, RecoveryCodes, ServerFrame, TotpSetup,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use totp_rs::{Algorithm, Secret, TOTP};

use crate::harness::{Backend, Client, TestServer, Ws};

crate::on_both_backends!(
    changing_the_password_needs_the_current_one_and_can_sign_out_the_rest,
    two_factor_codes_work_once_and_recovery_codes_stand_in,
    a_blocked_user_cannot_write_type_or_start_a_conversation,
    a_blocked_users_call_never_rings_and_ends_as_declined,
    a_deleted_account_leaves_its_messages_and_frees_its_name,
    the_export_holds_what_is_mine,
);

const PASSWORD: &str = "correct horse battery";

fn login_body(client: &Client, password: &str, totp: Option<&str>) -> Value {
    let mut body = json!({"username": client.user.username, "password": password});
    if let Some(code) = totp {
        body["totp_code"] = json!(code);
    }
    body
}

async fn login(
    server: &TestServer,
    client: &Client,
    password: &str,
    totp: Option<&str>,
) -> (StatusCode, Value) {
    server
        .http()
        .call(
            Method::POST,
            "/api/auth/login",
            Some(login_body(client, password, totp)),
        )
        .await
}

async fn changing_the_password_needs_the_current_one_and_can_sign_out_the_rest(backend: Backend) {
    let server = TestServer::start(backend).await;
    let mel = server.user("mel").await;
    let laptop = mel.second_device().await;
    let mut laptop_socket = laptop.connect(&[]).await;
    let (status, body) = mel
        .call(
            Method::POST,
            "/api/me/password",
            Some(json!({"current_password": "not it at all", "new_password": "a new password"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "wrong_password");
    let (status, body) = mel
        .call(
            Method::POST,
            "/api/me/password",
            Some(json!({"current_password": PASSWORD, "new_password": "short"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = mel
        .call(
            Method::POST,
            "/api/me/password",
            Some(json!({
                "current_password": PASSWORD,
                "new_password": "a new password",
                "sign_out_other_devices": true
            })),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(laptop_socket.closed().await, 4001);
    let (status, _) = laptop.call(Method::GET, "/api/me", None).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the other device is signed out"
    );
    let (status, _) = mel.call(Method::GET, "/api/me", None).await;
    assert_eq!(status, StatusCode::OK, "this device stays signed in");
    assert_eq!(
        login(&server, &mel, PASSWORD, None).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login(&server, &mel, "a new password", None).await.0,
        StatusCode::OK
    );
}

fn app_for(setup: &TotpSetup) -> TOTP {
    let bytes = Secret::Encoded(setup.secret.clone())
        .to_bytes()
        .expect("a base32 secret");
    TOTP::new(Algorithm::SHA1, 6, 1, 30, bytes, None, String::new()).expect("a TOTP")
}

fn unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

async fn two_factor_codes_work_once_and_recovery_codes_stand_in(backend: Backend) {
    let server = TestServer::start(backend).await;
    let mel = server.user("mel").await;
    let setup: TotpSetup = mel.ok(Method::POST, "/api/me/totp/setup", None).await;
    assert!(
        setup.otpauth_uri.starts_with("otpauth://totp/Natter:")
            && setup
                .otpauth_uri
                .contains(&format!("secret={}", setup.secret)),
        "{}",
        setup.otpauth_uri
    );
    let app = app_for(&setup);
    // Not on until a code confirms the app has the secret.
    assert_eq!(login(&server, &mel, PASSWORD, None).await.0, StatusCode::OK);
    let (status, body) = mel
        .call(
            Method::POST,
            "/api/me/totp/confirm",
            Some(json!({"code": "000000"})),
        )
        .await;
    if app.generate(unix_seconds()) != "000000" {
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    }
    // The previous step's code: clocks drift, and it leaves the current one for the log-in.
    let now = unix_seconds();
    let previous = app.generate(now - 30);
    let codes: RecoveryCodes = mel
        .ok(
            Method::POST,
            "/api/me/totp/confirm",
            Some(json!({"code": previous})),
        )
        .await;
    assert_eq!(codes.recovery_codes.len(), 10);
    let account: Value = mel.ok(Method::GET, "/api/me/account", None).await;
    assert_eq!(account["totp_enabled"], true);

    let (status, body) = login(&server, &mel, PASSWORD, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "totp_required");
    let (status, body) = login(&server, &mel, "a wrong password", Some(&previous)).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the password is checked first: {body}"
    );
    // The confirming code was spent: it cannot sign in.
    let (status, body) = login(&server, &mel, PASSWORD, Some(&previous)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "totp_invalid");
    let current = app.generate(unix_seconds());
    let (status, body) = login(&server, &mel, PASSWORD, Some(&current)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = login(&server, &mel, PASSWORD, Some(&current)).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "no replay within the window: {body}"
    );

    // A recovery code, typed loosely, works once.
    let recovery = codes.recovery_codes[3].to_lowercase().replace('-', " ");
    let (status, body) = login(&server, &mel, PASSWORD, Some(&recovery)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = login(&server, &mel, PASSWORD, Some(&recovery)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Turning it off needs the password and a code.
    let (status, body) = mel
        .call(
            Method::POST,
            "/api/me/totp/disable",
            Some(json!({"password": PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "totp_required");
    let (status, body) = mel
        .call(
            Method::POST,
            "/api/me/totp/disable",
            Some(json!({"password": PASSWORD, "totp_code": codes.recovery_codes[0]})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(login(&server, &mel, PASSWORD, None).await.0, StatusCode::OK);
}

fn message_path(conversation_id: ConversationId) -> String {
    format!("/api/conversations/{conversation_id}/messages")
}

async fn a_blocked_user_cannot_write_type_or_start_a_conversation(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (mel, rex, sue) = (
        server.user("mel").await,
        server.user("rex").await,
        server.user("sue").await,
    );
    let direct = rex.direct_with(&mel).await;
    rex.send(direct.id, "hello before").await;
    let group = rex.group("club", &[&mel, &sue]).await;
    let (status, _) = mel
        .call(Method::PUT, &format!("/api/blocks/{}", rex.id()), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let blocked: Value = mel.ok(Method::GET, "/api/blocks", None).await;
    assert_eq!(blocked["users"][0]["id"], json!(rex.id()));
    let direct_seq = mel.conversation(direct.id).await.last_seq;
    let mut socket = mel
        .connect(&[(direct.id, direct_seq), (group.id, group.last_seq)])
        .await;

    let body = json!({"client_id": uuid::Uuid::now_v7(), "body": "can you hear me"});
    let (status, refused) = rex
        .call(Method::POST, &message_path(direct.id), Some(body))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    assert_eq!(
        refused["error"]["message"],
        "this person cannot receive your messages"
    );
    let (status, _) = rex
        .call(
            Method::POST,
            &format!("/api/conversations/{}/typing", direct.id),
            None,
        )
        .await;
    assert!(status.is_success(), "typing is dropped quietly");
    let (status, body) = sue
        .call(
            Method::POST,
            "/api/conversations",
            Some(json!({"kind": "direct", "user_id": mel.id()})),
        )
        .await;
    assert!(status.is_success(), "others still can: {body}");
    // Groups are not changed by a block: Rex's group message reaches Mel, and only it.
    let in_group = rex.send(group.id, "in the group").await;
    let mut typing_seen = false;
    let arrived = loop {
        match socket.next().await {
            ServerFrame::Event(event) if event.conversation_id == group.id => break event,
            ServerFrame::Event(event) => assert_ne!(
                event.conversation_id, direct.id,
                "nothing from the blocked user's direct conversation: {event:?}"
            ),
            ServerFrame::Typing { .. } => typing_seen = true,
            _ => continue,
        }
    };
    assert!(!typing_seen, "a blocked user's typing is not shown");
    let natter_protocol::EventBody::MessageCreated { message } = arrived.body else {
        panic!("expected the group message, got {arrived:?}");
    };
    assert_eq!(message.id, in_group.id);
    let history: Value = mel.ok(Method::GET, &message_path(direct.id), None).await;
    assert_eq!(history["messages"].as_array().unwrap().len(), 1);

    // A new direct conversation cannot be started either (Sue's with Rex shows it is the
    // block, not a rule about new conversations).
    let other = server.user("other").await;
    let (status, _) = other
        .call(Method::PUT, &format!("/api/blocks/{}", rex.id()), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = rex
        .call(
            Method::POST,
            "/api/conversations",
            Some(json!({"kind": "direct", "user_id": other.id()})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    let (status, _) = mel
        .call(Method::DELETE, &format!("/api/blocks/{}", rex.id()), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    rex.send(direct.id, "after unblocking").await;
    let (status, _) = mel
        .call(Method::DELETE, &format!("/api/blocks/{}", rex.id()), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = mel
        .call(Method::PUT, &format!("/api/blocks/{}", mel.id()), None)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// Waits up to `limit` for a call frame on `socket`; None if none came.
async fn call_frame_within(socket: &mut Ws, limit: Duration) -> Option<ServerFrame> {
    tokio::time::timeout(limit, socket.next_live()).await.ok()
}

async fn a_blocked_users_call_never_rings_and_ends_as_declined(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (mel, rex) = (server.user("mel").await, server.user("rex").await);
    let direct = rex.direct_with(&mel).await;
    let (status, _) = mel
        .call(Method::PUT, &format!("/api/blocks/{}", rex.id()), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let mut mel_socket = mel.connect(&[]).await;
    let mut rex_socket = rex.connect(&[]).await;
    let call_id = uuid::Uuid::now_v7();
    rex_socket
        .send_frame(&ClientFrame::CallInvite {
            call_id,
            callee_id: mel.id(),
            kind: natter_protocol::CallKind::Voice,
        })
        .await;
    let ringing = rex_socket.next_live().await;
    assert!(
        matches!(ringing, ServerFrame::CallRinging { .. }),
        "the caller hears it ring: {ringing:?}"
    );
    let ended = rex_socket.next_live().await;
    assert_eq!(
        ended,
        ServerFrame::CallEnded {
            call_id,
            reason: natter_protocol::CallEndReason::Declined
        }
    );
    // Mel's device heard nothing, then or since; and no record shows in our conversation.
    let heard = call_frame_within(&mut mel_socket, Duration::from_millis(300)).await;
    assert_eq!(heard, None, "the blocked call rang");
    let history: Value = mel.ok(Method::GET, &message_path(direct.id), None).await;
    assert_eq!(history["messages"], json!([]), "{history}");

    // Unblocked, the same call rings.
    let (status, _) = mel
        .call(Method::DELETE, &format!("/api/blocks/{}", rex.id()), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let call_id = uuid::Uuid::now_v7();
    rex_socket
        .send_frame(&ClientFrame::CallInvite {
            call_id,
            callee_id: mel.id(),
            kind: natter_protocol::CallKind::Voice,
        })
        .await;
    let incoming = mel_socket.next_live().await;
    assert!(
        matches!(incoming, ServerFrame::CallIncoming { .. }),
        "{incoming:?}"
    );
}

async fn a_deleted_account_leaves_its_messages_and_frees_its_name(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (mel, rex, sue) = (
        server.user("mel").await,
        server.user("rex").await,
        server.user("sue").await,
    );
    let direct = rex.direct_with(&mel).await;
    let said = rex.send(direct.id, "remember me").await;
    let group = rex.group("club", &[&mel, &sue]).await;
    let mut rex_socket = rex.connect(&[]).await;
    let mut sue_socket = sue.connect(&[(group.id, group.last_seq)]).await;

    let (status, body) = rex
        .call(
            Method::POST,
            "/api/me/delete",
            Some(json!({"password": "wrong one"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = rex
        .call(
            Method::POST,
            "/api/me/delete",
            Some(json!({"password": PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(rex_socket.closed().await, 4001);
    let (status, _) = rex.call(Method::GET, "/api/me", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        login(&server, &rex, PASSWORD, None).await.0,
        StatusCode::UNAUTHORIZED
    );

    // The group hears Rex leave, and the owner's role passes on.
    let left = sue_socket.next_durable().await;
    assert!(
        matches!(left.body, natter_protocol::EventBody::MemberRemoved { user_id, .. } if user_id == rex.id()),
        "{left:?}"
    );
    // The message stays, from "Deleted account"; the profile says nothing more.
    let history: Value = mel.ok(Method::GET, &message_path(direct.id), None).await;
    assert_eq!(history["messages"][0]["id"], json!(said.id));
    assert_eq!(history["messages"][0]["body"], "remember me");
    let profile: Value = mel
        .ok(Method::GET, &format!("/api/users/{}", rex.id()), None)
        .await;
    assert_eq!(profile["display_name"], "Deleted account");
    assert_eq!(profile["avatar_url"], Value::Null);
    assert!(
        profile["username"]
            .as_str()
            .unwrap()
            .starts_with("deleted-")
    );
    let directory: Value = mel
        .ok(
            Method::GET,
            &format!("/api/users?query={}", rex.user.username),
            None,
        )
        .await;
    assert_eq!(directory["users"], json!([]), "not in the directory");
    // Nobody can write to it, and its name is free again.
    let body = json!({"client_id": uuid::Uuid::now_v7(), "body": "are you there"});
    let (status, refused) = mel
        .call(Method::POST, &message_path(direct.id), Some(body))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    let (status, body) = server
        .http()
        .call(
            Method::POST,
            "/api/auth/signup",
            Some(json!({
                "username": rex.user.username, "display_name": "New Rex", "password": PASSWORD
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_ne!(body["user"]["id"], json!(rex.id()));
}

async fn the_export_holds_what_is_mine(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (mel, rex) = (server.user("mel").await, server.user("rex").await);
    let direct = mel.direct_with(&rex).await;
    let mine = mel.send(direct.id, "mine to keep").await;
    let deleted = mel.send(direct.id, "regretted").await;
    mel.ok::<Value>(
        Method::DELETE,
        &format!("/api/conversations/{}/messages/{}", direct.id, deleted.id),
        None,
    )
    .await;
    rex.send(direct.id, "rex's words").await;
    let (status, _) = mel
        .call(Method::PUT, &format!("/api/blocks/{}", rex.id()), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let response = mel
        .http
        .client
        .get(format!("{}/api/me/export", server.url))
        .bearer_auth(&mel.token)
        .send()
        .await
        .expect("the export answers");
    assert_eq!(response.status(), StatusCode::OK);
    let disposition = response
        .headers()
        .get("content-disposition")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    let export: AccountExport = response.json().await.expect("an export");
    assert_eq!(export.format, "natter-export/1");
    assert_eq!(export.account.user.id, mel.id());
    let bodies: Vec<_> = export.messages.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(
        bodies,
        ["mine to keep"],
        "only my messages, deleted ones left out"
    );
    assert_eq!(export.messages[0].id, mine.id);
    assert_eq!(export.conversations.len(), 1);
    assert_eq!(export.blocked[0].id, rex.id());
    assert_eq!(export.sessions.len(), 1);
}
