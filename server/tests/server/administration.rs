//! Operators (issue 20): who may sign up, invites, the first admin from the console, the admin
//! API hidden from everyone else, disabling, password resets, reports, the audit log and the
//! per-user limits.

use natter_protocol::{
    AdminUserPage, AuditPage, ClientFrame, CreatedInvite, PasswordResetCode, ReportList,
    ServerFrame, SignupMode,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Backend, Client, Http, TestServer, WAIT};

fn unix_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

crate::on_both_backends!(
    sign_up_follows_the_servers_mode,
    invites_count_their_uses_and_say_why_they_are_refused,
    the_last_use_of_an_invite_goes_to_one_of_two_racing_sign_ups,
    the_first_admin_is_made_by_the_console,
    admin_routes_do_not_exist_for_anyone_else,
    admins_list_promote_and_cannot_demote_themselves,
    a_disabled_users_sessions_and_sockets_end_at_once,
    the_console_disabling_a_user_closes_their_socket_on_the_running_server,
    a_reset_code_works_once,
    reports_reach_the_admins,
    every_admin_action_is_audited,
    sends_and_calls_are_limited_per_user,
    an_admin_turns_off_a_lost_second_factor,
    a_disabled_admins_invites_stop_working,
    the_console_deleting_a_user_takes_them_out_of_their_groups_live,
);

fn signup_body(username: &str, invite: Option<&str>) -> Value {
    let mut body = json!({
        "username": username,
        "display_name": username,
        "password": "correct horse battery",
    });
    if let Some(code) = invite {
        body["invite_code"] = json!(code);
    }
    body
}

async fn sign_up(http: &Http, username: &str, invite: Option<&str>) -> (StatusCode, Value) {
    http.call(
        Method::POST,
        "/api/auth/signup",
        Some(signup_body(username, invite)),
    )
    .await
}

fn error_code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_default()
}

async fn invite(admin: &Client, body: Value) -> CreatedInvite {
    admin.ok(Method::POST, "/api/invites", Some(body)).await
}

async fn sign_up_follows_the_servers_mode(backend: Backend) {
    let closed = TestServer::start_with(backend, |config| config.signup = SignupMode::Closed).await;
    let (status, body) = sign_up(&closed.http(), "dora", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(error_code(&body), "signup_closed");
    let info: Value = closed.http().call(Method::GET, "/api/server", None).await.1;
    assert_eq!(info["signup"], "closed");

    // A new server is invite-only unless told otherwise.
    let default = TestServer::start_with(backend, |config| {
        config.signup = natter_server::Config::for_data_dir("unused").signup;
    })
    .await;
    let info: Value = default
        .http()
        .call(Method::GET, "/api/server", None)
        .await
        .1;
    assert_eq!(info["signup"], "invite", "{info}");
    assert_eq!(info["users_can_invite"], false);
    let (status, body) = sign_up(&default.http(), "dora", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(error_code(&body), "invite_invalid");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("needs an invite"),
        "{body}"
    );
}

async fn invites_count_their_uses_and_say_why_they_are_refused(backend: Backend) {
    let server = TestServer::start_with(backend, |config| {
        config.signup = SignupMode::Invite;
        config.users_can_invite = false;
    })
    .await;
    let admin = server.admin("ada").await;
    let member = server.console_user("mel", false).await;

    // Only admins invite, unless the operator lets everyone.
    let (status, body) = member
        .call(Method::POST, "/api/invites", Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    let created = invite(&admin, json!({"max_uses": 2, "note": "the club"})).await;
    assert_eq!(created.invite.max_uses, 2);
    assert_eq!(created.invite.uses, 0);
    assert_eq!(created.code.len(), 19, "{}", created.code);
    let http = server.http();
    // Typed in lower case with spaces instead of dashes, it still works.
    let typed = created.code.to_lowercase().replace('-', " ");
    let (status, body) = sign_up(&http, "first", Some(&typed)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = sign_up(&http, "second", Some(&created.code)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = sign_up(&http, "third", Some(&created.code)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(error_code(&body), "invite_invalid");
    assert!(body.to_string().contains("used up"), "{body}");

    // A refused sign-up gives its use back: the username was taken.
    let single = invite(&admin, json!({})).await;
    let (status, _) = sign_up(&http, "first", Some(&single.code)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, body) = sign_up(&http, "fourth", Some(&single.code)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let (status, body) = sign_up(&http, "fifth", Some("AAAA-BBBB-CCCC-DDDD")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body.to_string().contains("no invite has this code"),
        "{body}"
    );

    let revoked = invite(&admin, json!({})).await;
    let (status, _) = admin
        .call(
            Method::DELETE,
            &format!("/api/invites/{}", revoked.invite.id),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = sign_up(&http, "sixth", Some(&revoked.code)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.to_string().contains("revoked"), "{body}");

    // The admin sees every invite with its uses.
    let all: Value = admin.ok(Method::GET, "/api/admin/invites", None).await;
    let first = all["invites"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["id"] == json!(created.invite.id))
        .expect("the invite is listed")
        .clone();
    assert_eq!(first["uses"], 2);
    assert_eq!(first["note"], "the club");
    assert!(first.get("code").is_none(), "the code is shown only once");

    for bad in [
        json!({"max_uses": 0}),
        json!({"max_uses": 1001}),
        json!({"expires_in_hours": 0}),
        json!({"expires_in_hours": 721}),
    ] {
        let (status, body) = admin.call(Method::POST, "/api/invites", Some(bad)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
}

/// Two sign-ups race for an invite's last use: exactly one gets it, every time.
async fn the_last_use_of_an_invite_goes_to_one_of_two_racing_sign_ups(backend: Backend) {
    let server = TestServer::start_with(backend, |config| config.signup = SignupMode::Invite).await;
    let admin = server.admin("ada").await;
    for round in 0..8 {
        let created = invite(&admin, json!({"max_uses": 1})).await;
        let (left, right) = (server.http(), server.http());
        let (left_name, right_name) = (format!("left{round}"), format!("right{round}"));
        let (a, b) = tokio::join!(
            sign_up(&left, &left_name, Some(&created.code)),
            sign_up(&right, &right_name, Some(&created.code)),
        );
        let won = [&a, &b]
            .iter()
            .filter(|(status, _)| *status == StatusCode::CREATED)
            .count();
        assert_eq!(won, 1, "round {round}: {a:?} / {b:?}");
        let lost = if a.0 == StatusCode::CREATED { &b } else { &a };
        assert_eq!(error_code(&lost.1), "invite_invalid", "{lost:?}");
    }
    let all: Value = admin.ok(Method::GET, "/api/admin/invites", None).await;
    for entry in all["invites"].as_array().unwrap() {
        assert_eq!(entry["uses"], 1, "{entry}");
    }
}

/// The operator's first steps on a new invite-only server: the console makes an admin and
/// prints a one-time code, which sets the password; the admin then invites someone.
async fn the_first_admin_is_made_by_the_console(backend: Backend) {
    let server = TestServer::start_with(backend, |config| config.signup = SignupMode::Invite).await;
    let printed = server.console(&["create-user", "Root", "--admin"]);
    let code = printed
        .split_whitespace()
        .find(|word| word.len() == 19 && word.matches('-').count() == 3)
        .unwrap_or_else(|| panic!("no code in {printed:?}"))
        .to_owned();
    let http = server.http();
    let (status, body) = http
        .call(
            Method::POST,
            "/api/auth/reset-password",
            Some(json!({"code": code, "new_password": "a brand new password"})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, auth) = http
        .call(
            Method::POST,
            "/api/auth/login",
            Some(json!({"username": "root", "password": "a brand new password"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{auth}");
    let mut root = server.http();
    root.token = auth["token"].as_str().map(str::to_owned);
    let (status, account) = root.call(Method::GET, "/api/me/account", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(account["is_admin"], true, "{account}");
    assert_eq!(account["can_invite"], true);

    // The console's invite lets someone in, with the links it prints.
    let printed = server.console(&[
        "create-invite",
        "--uses",
        "1",
        "--server-url",
        "https://chat.example.org/",
    ]);
    assert!(
        printed.contains("https://chat.example.org/invite/"),
        "{printed}"
    );
    assert!(
        printed.contains("natter://invite?server=https%3A%2F%2Fchat%2Eexample%2Eorg&code="),
        "{printed}"
    );
    let code = printed
        .split_whitespace()
        .find(|word| word.len() == 19 && word.matches('-').count() == 3)
        .expect("an invite code")
        .to_owned();
    let (status, body) = sign_up(&http, "guest", Some(&code)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // A name that is taken, or a wrong one, fails with a message and a failure status.
    let output = server.console_output(&["create-user", "root"]);
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("taken"),
        "{output:?}"
    );
    let output = server.console_output(&["promote", "nobody-here"]);
    assert!(!output.status.success());
}

/// Every admin route, to a user who is not an admin or to no one at all, answers exactly
/// what a path that does not exist answers.
async fn admin_routes_do_not_exist_for_anyone_else(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin("ada").await;
    let member = server.user("mel").await;
    let anonymous = server.http();
    let missing = member.call(Method::GET, "/api/no-such-route", None).await;
    assert_eq!(missing.0, StatusCode::NOT_FOUND);
    let target = member.id();
    let routes = [
        (Method::GET, "/api/admin/users".to_owned()),
        (Method::GET, format!("/api/admin/users/{target}")),
        (Method::PATCH, format!("/api/admin/users/{target}")),
        (Method::DELETE, format!("/api/admin/users/{target}")),
        (
            Method::POST,
            format!("/api/admin/users/{target}/password-reset"),
        ),
        (Method::GET, "/api/admin/invites".to_owned()),
        (Method::GET, "/api/admin/stats".to_owned()),
        (Method::GET, "/api/admin/audit".to_owned()),
        (Method::GET, "/api/admin/reports".to_owned()),
        (Method::POST, format!("/api/admin/reports/{target}/resolve")),
        // A method the route does not take, and a path that is not there.
        (Method::PUT, "/api/admin/users".to_owned()),
        (Method::GET, "/api/admin/nothing".to_owned()),
    ];
    for (method, path) in &routes {
        for (who, http) in [("a member", &member.http), ("no one", &anonymous)] {
            let body = (*method == Method::PATCH).then(|| json!({"disabled": true}));
            let answer = http.call(method.clone(), path, body).await;
            assert_eq!(answer, missing, "{method} {path} to {who}");
        }
    }
    // The admin reaches them; the member was not touched.
    let stats: Value = admin.ok(Method::GET, "/api/admin/stats", None).await;
    assert_eq!(stats["admins"], 1, "{stats}");
    assert_eq!(stats["users"], 2);
    let (status, _) = member.call(Method::GET, "/api/me", None).await;
    assert_eq!(status, StatusCode::OK);
}

async fn admins_list_promote_and_cannot_demote_themselves(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin("ada").await;
    for index in 0..5 {
        server.user(&format!("zed{index}")).await;
    }
    let first: AdminUserPage = admin
        .ok(Method::GET, "/api/admin/users?query=zed&limit=3", None)
        .await;
    assert_eq!(first.users.len(), 3);
    let cursor = first.next_cursor.clone().expect("a next page");
    let second: AdminUserPage = admin
        .ok(
            Method::GET,
            &format!("/api/admin/users?query=zed&limit=3&cursor={cursor}"),
            None,
        )
        .await;
    assert_eq!(second.users.len(), 2);
    assert!(second.next_cursor.is_none());
    let names: Vec<_> = first
        .users
        .iter()
        .chain(&second.users)
        .map(|user| user.username.clone())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert!(names.iter().all(|name| name.starts_with("zed")));

    let target = &second.users[0];
    let promoted: Value = admin
        .ok(
            Method::PATCH,
            &format!("/api/admin/users/{}", target.id),
            Some(json!({"is_admin": true})),
        )
        .await;
    assert_eq!(promoted["is_admin"], true);

    let (status, body) = admin
        .call(
            Method::PATCH,
            &format!("/api/admin/users/{}", admin.id()),
            Some(json!({"is_admin": false})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _) = admin
        .call(
            Method::PATCH,
            &format!("/api/admin/users/{}", admin.id()),
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

async fn a_disabled_users_sessions_and_sockets_end_at_once(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin("ada").await;
    let mel = server.user("mel").await;
    let mut socket = mel.connect(&[]).await;
    let disabled: Value = admin
        .ok(
            Method::PATCH,
            &format!("/api/admin/users/{}", mel.id()),
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(disabled["disabled"], true);
    assert_eq!(disabled["sessions"], 0);
    assert_eq!(socket.closed().await, 4001, "the socket closes as revoked");
    let (status, _) = mel.call(Method::GET, "/api/me", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let login = json!({"username": mel.user.username, "password": "correct horse battery"});
    let (status, body) = server
        .http()
        .call(Method::POST, "/api/auth/login", Some(login.clone()))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(error_code(&body), "account_disabled");
    // A wrong password does not learn that the account is disabled.
    let (status, body) = server
        .http()
        .call(
            Method::POST,
            "/api/auth/login",
            Some(json!({"username": mel.user.username, "password": "not the password"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");

    admin
        .ok::<Value>(
            Method::PATCH,
            &format!("/api/admin/users/{}", mel.id()),
            Some(json!({"disabled": false})),
        )
        .await;
    let (status, _) = server
        .http()
        .call(Method::POST, "/api/auth/login", Some(login))
        .await;
    assert_eq!(status, StatusCode::OK);
}

async fn the_console_disabling_a_user_closes_their_socket_on_the_running_server(backend: Backend) {
    let server = TestServer::start(backend).await;
    let mel = server.user("mel").await;
    let mut socket = mel.connect(&[]).await;
    server.console(&["disable", &mel.user.username]);
    assert_eq!(socket.closed().await, 4001);
    let (status, _) = mel.call(Method::GET, "/api/me", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let listed = server.console(&["list-users", "--query", &mel.user.username]);
    assert!(listed.contains(&mel.user.username), "{listed}");
}

async fn a_reset_code_works_once(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin("ada").await;
    let mel = server.user("mel").await;
    let mut socket = mel.connect(&[]).await;
    let path = format!("/api/admin/users/{}/password-reset", mel.id());
    let superseded: PasswordResetCode = admin.ok(Method::POST, &path, None).await;
    let reset: PasswordResetCode = admin.ok(Method::POST, &path, None).await;
    let use_code = |code: String, password: &'static str| {
        let http = server.http();
        async move {
            http.call(
                Method::POST,
                "/api/auth/reset-password",
                Some(json!({"code": code, "new_password": password})),
            )
            .await
        }
    };
    let (status, body) = use_code(superseded.code, "first new password").await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "an older code stops working: {body}"
    );
    let (status, body) = use_code(reset.code.clone(), "second new password").await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    // Whoever had the old password is signed out, sockets included.
    assert_eq!(socket.closed().await, 4001);
    let (status, _) = mel.call(Method::GET, "/api/me", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = use_code(reset.code, "third new password").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a code works once: {body}");
    let login = |password: &str| json!({"username": mel.user.username, "password": password});
    let http = server.http();
    let (status, _) = http
        .call(
            Method::POST,
            "/api/auth/login",
            Some(login("second new password")),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = http
        .call(
            Method::POST,
            "/api/auth/login",
            Some(login("correct horse battery")),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

async fn reports_reach_the_admins(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin("ada").await;
    let (mel, rex, outsider) = (
        server.user("mel").await,
        server.user("rex").await,
        server.user("out").await,
    );
    let direct = mel.direct_with(&rex).await;
    let message = rex.send(direct.id, "buy cheap watches").await;
    let path = format!(
        "/api/conversations/{}/messages/{}/report",
        direct.id, message.id
    );
    let reason = json!({"reason": "spam"});
    let (status, body) = outsider
        .call(Method::POST, &path, Some(reason.clone()))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _) = rex.call(Method::POST, &path, Some(reason.clone())).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "not my own message");
    let (status, body) = mel
        .call(Method::POST, &path, Some(json!({"reason": " "})))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = mel.call(Method::POST, &path, Some(reason.clone())).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, _) = mel.call(Method::POST, &path, Some(reason)).await;
    assert_eq!(status, StatusCode::CONFLICT, "once per reporter");

    // The report keeps what the message said, even after it is edited.
    rex.ok::<Value>(
        Method::PATCH,
        &format!("/api/conversations/{}/messages/{}", direct.id, message.id),
        Some(json!({"body": "nothing to see"})),
    )
    .await;
    let open: ReportList = admin.ok(Method::GET, "/api/admin/reports", None).await;
    assert_eq!(open.reports.len(), 1);
    let report = &open.reports[0];
    assert_eq!(report.message_body, "buy cheap watches");
    assert_eq!(report.reason, "spam");
    assert_eq!(report.sender_id, rex.id());
    assert_eq!(report.reporter_username, mel.user.username);
    let (status, _) = admin
        .call(
            Method::POST,
            &format!("/api/admin/reports/{}/resolve", report.id),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let open: ReportList = admin.ok(Method::GET, "/api/admin/reports", None).await;
    assert!(open.reports.is_empty());
    let all: ReportList = admin
        .ok(Method::GET, "/api/admin/reports?state=all", None)
        .await;
    assert!(all.reports[0].resolved_at.is_some());
}

async fn every_admin_action_is_audited(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin("ada").await;
    let mel = server.user("mel").await;
    let user_path = format!("/api/admin/users/{}", mel.id());
    admin
        .ok::<Value>(Method::PATCH, &user_path, Some(json!({"is_admin": true})))
        .await;
    admin
        .ok::<Value>(Method::PATCH, &user_path, Some(json!({"is_admin": false})))
        .await;
    admin
        .ok::<Value>(Method::PATCH, &user_path, Some(json!({"disabled": true})))
        .await;
    admin
        .ok::<Value>(Method::PATCH, &user_path, Some(json!({"disabled": false})))
        .await;
    let reset: PasswordResetCode = admin
        .ok(Method::POST, &format!("{user_path}/password-reset"), None)
        .await;
    let created = invite(&admin, json!({})).await;
    let (status, _) = admin.call(Method::DELETE, &user_path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let page: AuditPage = admin
        .ok(Method::GET, "/api/admin/audit?limit=200", None)
        .await;
    let actions: Vec<(&str, &str)> = page
        .entries
        .iter()
        .map(|entry| (entry.actor_name.as_str(), entry.action.as_str()))
        .collect();
    let ada = admin.user.username.as_str();
    assert_eq!(
        actions,
        [
            (ada, "user.delete"),
            (ada, "invite.create"),
            (ada, "user.password_reset"),
            (ada, "user.enable"),
            (ada, "user.disable"),
            (ada, "user.demote"),
            (ada, "user.promote"),
            ("console", "user.create"),
        ],
        "newest first"
    );
    assert!(
        page.entries[..7]
            .iter()
            .all(|entry| entry.actor_id == Some(admin.id()))
    );
    assert_eq!(page.entries[0].target_user_id, Some(mel.id()));
    for entry in &page.entries {
        let detail = entry.detail.to_string();
        assert!(
            !detail.contains(&reset.code) && !detail.contains(&created.code),
            "no code is ever logged: {detail}"
        );
    }
    // Paging: two at a time walks the same list.
    let mut walked = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/api/admin/audit?limit=2&cursor={cursor}"),
            None => "/api/admin/audit?limit=2".to_owned(),
        };
        let page: AuditPage = admin.ok(Method::GET, &path, None).await;
        walked.extend(page.entries.into_iter().map(|entry| entry.id));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(walked.len(), 8);
}

async fn sends_and_calls_are_limited_per_user(backend: Backend) {
    let server = TestServer::start_with(backend, |config| {
        config.user_messages_per_minute = 3;
        config.user_calls_per_minute = 1;
    })
    .await;
    let (mel, rex) = (server.user("mel").await, server.user("rex").await);
    let direct = mel.direct_with(&rex).await;
    for index in 0..3 {
        mel.send(direct.id, &format!("message {index}")).await;
    }
    let (status, body) = mel
        .call(
            Method::POST,
            &format!("/api/conversations/{}/messages", direct.id),
            Some(json!({"client_id": uuid::Uuid::now_v7(), "body": "one too many"})),
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(error_code(&body), "rate_limited");
    // Another user is not affected.
    rex.send(direct.id, "still fine").await;

    let mut socket = mel.connect(&[]).await;
    let call = |call_id| ClientFrame::CallInvite {
        call_id,
        callee_id: rex.id(),
        kind: natter_protocol::CallKind::Voice,
    };
    let first = uuid::Uuid::now_v7();
    socket.send_frame(&call(first)).await;
    let ringing = socket.next_live().await;
    assert!(
        matches!(ringing, ServerFrame::CallRinging { .. }),
        "{ringing:?}"
    );
    socket
        .send_frame(&ClientFrame::CallHangup { call_id: first })
        .await;
    let ended = socket.next_live().await;
    assert!(matches!(ended, ServerFrame::CallEnded { .. }), "{ended:?}");
    let second = uuid::Uuid::now_v7();
    socket.send_frame(&call(second)).await;
    match tokio::time::timeout(WAIT, socket.next_live()).await {
        Ok(ServerFrame::CallError { call_id, code, .. }) => {
            assert_eq!(call_id, second);
            assert_eq!(code, natter_protocol::ErrorCode::RateLimited);
        }
        other => panic!("expected a rate-limited call_error, got {other:?}"),
    }
}

async fn an_admin_turns_off_a_lost_second_factor(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin("ada").await;
    let mel = server.user("mel").await;
    let setup: natter_protocol::TotpSetup = mel.ok(Method::POST, "/api/me/totp/setup", None).await;
    let secret = totp_rs::Secret::Encoded(setup.secret)
        .to_bytes()
        .expect("a base32 secret");
    let app = totp_rs::TOTP::new(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        30,
        secret,
        None,
        String::new(),
    )
    .expect("a TOTP");
    let code = app.generate(unix_seconds());
    let _: Value = mel
        .ok(
            Method::POST,
            "/api/me/totp/confirm",
            Some(json!({"code": code})),
        )
        .await;
    let login = json!({"username": mel.user.username, "password": "correct horse battery"});
    let (status, body) = server
        .http()
        .call(Method::POST, "/api/auth/login", Some(login.clone()))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(error_code(&body), "totp_required");

    // Mel lost the phone and the recovery codes; an admin turns it off.
    let path = format!("/api/admin/users/{}/reset-two-factor", mel.id());
    let user: Value = admin.ok(Method::POST, &path, None).await;
    assert_eq!(user["totp_enabled"], false);
    let (status, _) = server
        .http()
        .call(Method::POST, "/api/auth/login", Some(login))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = admin.call(Method::POST, &path, None).await;
    assert_eq!(status, StatusCode::CONFLICT, "it is off already");
    let audit: AuditPage = admin.ok(Method::GET, "/api/admin/audit", None).await;
    assert_eq!(audit.entries[0].action, "user.reset_two_factor");
    assert_eq!(audit.entries[0].target_user_id, Some(mel.id()));
    // Not for other users.
    let (status, _) = mel.call(Method::POST, &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn a_disabled_admins_invites_stop_working(backend: Backend) {
    let server = TestServer::start_with(backend, |config| config.signup = SignupMode::Invite).await;
    let ada = server.admin("ada").await;
    let bea = server.admin("bea").await;
    let from_bea = invite(&bea, json!({"max_uses": 5})).await;
    let (status, body) = sign_up(&server.http(), "first", Some(&from_bea.code)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    ada.ok::<Value>(
        Method::PATCH,
        &format!("/api/admin/users/{}", bea.id()),
        Some(json!({"disabled": true})),
    )
    .await;
    let (status, body) = sign_up(&server.http(), "second", Some(&from_bea.code)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.to_string().contains("revoked"), "{body}");
}

async fn the_console_deleting_a_user_takes_them_out_of_their_groups_live(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (tom, sue) = (server.user("tom").await, server.user("sue").await);
    let group = tom.group("club", &[&sue]).await;
    let mut socket = sue.connect(&[(group.id, group.last_seq)]).await;
    server.console(&["delete-user", &tom.user.username, "--yes"]);
    // The running server sees the deletion and takes Tom out, with the owner's role passing
    // to Sue, while her app is connected.
    let left = socket.next_durable().await;
    assert!(
        matches!(left.body, natter_protocol::EventBody::MemberRemoved { user_id, .. } if user_id == tom.id()),
        "{left:?}"
    );
    let owner = socket.next_durable().await;
    assert!(
        matches!(owner.body, natter_protocol::EventBody::OwnerChanged { owner_id } if owner_id == sue.id()),
        "{owner:?}"
    );
}
