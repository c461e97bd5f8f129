//! Health, readiness, metrics, stats, the OpenAPI document.

use std::collections::BTreeSet;

use natter_protocol::limits::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Backend, TestServer, WAIT};

crate::on_both_backends!(operators_can_watch_the_server);

async fn operators_can_watch_the_server(backend: Backend) {
    let server = TestServer::start(backend).await;
    let get = |path: &str| reqwest::get(format!("{}{path}", server.url));
    assert_eq!(get("/healthz").await.unwrap().status(), StatusCode::OK);
    assert_eq!(get("/readyz").await.unwrap().text().await.unwrap(), "ready");

    let (alice, bob) = (server.user("alice").await, server.user("bob").await);
    let conversation = alice.direct_with(&bob).await;
    let _socket = bob.connect(&[]).await;
    alice.send(conversation.id, "counted").await;
    let stats: Value = get("/api/stats").await.unwrap().json().await.unwrap();
    assert_eq!(stats["users_online"], 1);
    assert_eq!(stats["connections"], 1);

    let metrics = get("/metrics").await.unwrap().text().await.unwrap();
    for expected in [
        "natter_websocket_connections 1",
        "natter_users_online 1",
        "natter_messages_sent_total 1",
        "natter_http_request_duration_seconds_bucket",
        r#"route="/api/conversations/{conversation_id}/messages""#,
    ] {
        assert!(
            metrics.contains(expected),
            "metrics lack {expected}:\n{metrics}"
        );
    }
    assert!(!metrics.contains(&alice.token), "no token in metrics");

    let document: Value = get("/api/openapi.json")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    let paths = document["paths"].as_object().unwrap();
    for path in [
        "/api/auth/signup",
        "/api/conversations/{conversation_id}/messages",
        "/api/search/messages",
        "/api/ws",
    ] {
        assert!(paths.contains_key(path), "OpenAPI lacks {path}");
    }
    assert!(document["components"]["schemas"]["Message"].is_object());
    let (status, _) = alice.call(Method::GET, "/api/me", None).await;
    assert_eq!(status, StatusCode::OK);
}

/// One operation of the OpenAPI document.
struct Operation<'a> {
    method: Method,
    path: &'a str,
    spec: &'a Value,
}

impl Operation<'_> {
    fn name(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// The statuses the document lists for it.
    fn listed(&self) -> BTreeSet<&str> {
        self.spec["responses"]
            .as_object()
            .expect("responses")
            .keys()
            .map(String::as_str)
            .collect()
    }

    fn admin_only(&self) -> bool {
        self.path.starts_with("/api/admin/")
    }

    fn authenticated(&self) -> bool {
        self.spec["security"]
            .as_array()
            .is_some_and(|requirements| !requirements.is_empty())
    }

    fn has_body(&self) -> bool {
        self.spec["requestBody"].is_object()
    }

    fn json_body(&self) -> bool {
        self.spec["requestBody"]["content"]["application/json"].is_object()
    }

    fn parameter(&self, name: &str) -> Option<&Value> {
        self.spec["parameters"]
            .as_array()?
            .iter()
            .find(|parameter| parameter["name"] == name)
    }

    fn has_path_or_query_parameters(&self) -> bool {
        self.spec["parameters"]
            .as_array()
            .is_some_and(|parameters| {
                parameters
                    .iter()
                    .any(|parameter| parameter["in"] == "path" || parameter["in"] == "query")
            })
    }

    /// The path with each `{name}` replaced by `ids(name)`.
    fn url(&self, ids: impl Fn(&str) -> String) -> String {
        self.path
            .split('/')
            .map(|segment| match segment.strip_prefix('{') {
                Some(name) => ids(name.trim_end_matches('}')),
                None => segment.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("/")
    }
}

fn operations(document: &Value) -> Vec<Operation<'_>> {
    let mut operations = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, spec) in item.as_object().expect("a path item") {
            if let Ok(method) = method.to_uppercase().parse::<Method>() {
                operations.push(Operation { method, path, spec });
            }
        }
    }
    operations
}

/// Follows a `$ref` to `#/components/schemas/...`.
fn resolve<'a>(document: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference
                .strip_prefix("#/components/schemas/")
                .expect("a component reference");
            &document["components"]["schemas"][name]
        }
        None => schema,
    }
}

/// The schema of a request body refuses unknown fields, as the server does.
fn closed(document: &Value, schema: &Value) -> bool {
    let schema = resolve(document, schema);
    match schema["oneOf"].as_array() {
        Some(alternatives) => alternatives
            .iter()
            .all(|alternative| closed(document, alternative)),
        None => schema["additionalProperties"] == false,
    }
}

/// A request the server should accept as well-formed for `operation`, if it takes a JSON body.
fn sample_body(operation: &Operation, ids: &impl Fn(&str) -> String) -> Option<Value> {
    if !operation.json_body() {
        return None;
    }
    let unique = uuid::Uuid::now_v7().simple().to_string();
    Some(match (operation.method.as_str(), operation.path) {
        ("POST", "/api/auth/signup") => json!({
            "username": format!("u{}", &unique[unique.len() - 12..]),
            "display_name": "Dora",
            "password": "correct horse battery"
        }),
        ("POST", "/api/auth/login") => json!({"username": "nobody", "password": "not this one"}),
        ("PATCH", "/api/me") => json!({"status_text": "testing"}),
        ("POST", "/api/conversations") => json!({"kind": "direct", "user_id": ids("user_id")}),
        ("PATCH", "/api/conversations/{conversation_id}") => json!({"name": "Renamed"}),
        ("POST", "/api/conversations/{conversation_id}/members") => {
            json!({"user_ids": [ids("user_id")]})
        }
        ("POST", "/api/conversations/{conversation_id}/messages") => {
            json!({"client_id": uuid::Uuid::now_v7(), "body": "hello"})
        }
        ("PATCH", "/api/conversations/{conversation_id}/messages/{message_id}") => {
            json!({"body": "edited"})
        }
        ("POST", "/api/conversations/{conversation_id}/read") => {
            json!({"message_id": ids("message_id")})
        }
        ("POST", "/api/conversations/{conversation_id}/messages/{message_id}/report") => {
            json!({"reason": "spam"})
        }
        ("POST", "/api/auth/reset-password") => {
            json!({"code": "AAAA-BBBB-CCCC-DDDD", "new_password": "correct horse battery"})
        }
        ("POST", "/api/me/password") => json!({
            "current_password": "not this one", "new_password": "correct horse battery"
        }),
        ("POST", "/api/me/totp/confirm") => json!({"code": "123456"}),
        ("POST", "/api/me/totp/disable" | "/api/me/delete") => json!({"password": "not it"}),
        ("POST", "/api/invites") => json!({"max_uses": 2}),
        ("PATCH", "/api/admin/users/{user_id}") => json!({"disabled": false}),
        _ => panic!("{}: add a sample body to this test", operation.name()),
    })
}

/// The OpenAPI document says what the server does, so that a client generated from it is
/// right. A small fuzz calls every operation without a token, with ids that do or do not
/// exist or are malformed, with bodies that are not JSON, not declared as JSON, too large, or
/// with an unknown field, and with values just past the protocol's limits: every answer must
/// be one the document lists for that operation. The document's own rules are checked too: the
/// errors every route of a shape can give (docs/protocol.md §1.4), request bodies closed to
/// unknown fields, the limits of §1.5 equal to the protocol's constants, and each operator
/// endpoint documented with the content type it is served with.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_lists_what_the_server_answers() {
    let server = TestServer::start(Backend::Sqlite).await;
    let http = reqwest::Client::new();
    let document: Value = http
        .get(format!("{}/api/openapi.json", server.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let operations = operations(&document);
    assert!(operations.len() >= 30, "{} operations", operations.len());
    let mut wrong = Vec::new();
    // Every route is described in docs/protocol.md, under a heading that names it.
    let protocol = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/protocol.md"),
    )
    .expect("docs/protocol.md is readable");
    let headings: Vec<&str> = protocol
        .lines()
        .filter(|line| line.starts_with("#### "))
        .collect();
    for operation in &operations {
        let named = format!("`{} {}`", operation.method, operation.path);
        if !headings.iter().any(|heading| heading.contains(&named)) {
            wrong.push(format!("docs/protocol.md has no heading for {named}"));
        }
    }

    for operation in &operations {
        let listed = operation.listed();
        let mut required = BTreeSet::from(["500"]);
        if operation.admin_only() {
            // Admin routes answer everyone else as if they did not exist.
            required.insert("404");
        } else if operation.authenticated() {
            required.insert("401");
        }
        if operation.has_path_or_query_parameters() {
            required.insert("400");
        }
        if operation.has_body() {
            required.extend(["400", "413", "415"]);
        }
        for status in required {
            if !listed.contains(status) {
                wrong.push(format!("{} does not list {status}", operation.name()));
            }
        }
        if operation.json_body() {
            let schema = &operation.spec["requestBody"]["content"]["application/json"]["schema"];
            if !closed(&document, schema) {
                wrong.push(format!(
                    "{}: its body's schema allows unknown fields",
                    operation.name()
                ));
            }
        }
    }

    let schemas = &document["components"]["schemas"];
    let group = schemas["CreateConversationRequest"]["oneOf"]
        .as_array()
        .expect("CreateConversationRequest is one of its kinds")
        .iter()
        .map(|alternative| resolve(&document, alternative))
        .find(|alternative| alternative["properties"]["kind"]["enum"] == json!(["group"]))
        .expect("the group kind");
    // Each limit of §1.5 in the schema of each request body that carries the field.
    let limits = [
        ("SignupRequest.username", "minLength", USERNAME_MIN_CHARS),
        ("SignupRequest.username", "maxLength", USERNAME_MAX_CHARS),
        ("SignupRequest.display_name", "minLength", 1),
        (
            "SignupRequest.display_name",
            "maxLength",
            DISPLAY_NAME_MAX_CHARS,
        ),
        ("SignupRequest.password", "minLength", PASSWORD_MIN_BYTES),
        ("SignupRequest.password", "maxLength", PASSWORD_MAX_BYTES),
        (
            "SignupRequest.device_name",
            "maxLength",
            DEVICE_NAME_MAX_CHARS,
        ),
        (
            "LoginRequest.device_name",
            "maxLength",
            DEVICE_NAME_MAX_CHARS,
        ),
        ("UpdateProfileRequest.display_name", "minLength", 1),
        (
            "UpdateProfileRequest.display_name",
            "maxLength",
            DISPLAY_NAME_MAX_CHARS,
        ),
        (
            "UpdateProfileRequest.status_text",
            "maxLength",
            STATUS_TEXT_MAX_CHARS,
        ),
        ("CreateConversationRequest.group.name", "minLength", 1),
        (
            "CreateConversationRequest.group.name",
            "maxLength",
            GROUP_NAME_MAX_CHARS,
        ),
        (
            "CreateConversationRequest.group.member_ids",
            "maxItems",
            GROUP_MAX_MEMBERS,
        ),
        ("RenameConversationRequest.name", "minLength", 1),
        (
            "RenameConversationRequest.name",
            "maxLength",
            GROUP_NAME_MAX_CHARS,
        ),
        ("AddMembersRequest.user_ids", "minItems", 1),
        ("AddMembersRequest.user_ids", "maxItems", GROUP_MAX_MEMBERS),
        // No minimum: a message of files alone has no text (non-blank otherwise, checked by
        // the messages tests).
        ("SendMessageRequest.body", "maxLength", MESSAGE_MAX_CHARS),
        ("EditMessageRequest.body", "minLength", 1),
        ("EditMessageRequest.body", "maxLength", MESSAGE_MAX_CHARS),
    ];
    for (field, keyword, expected) in limits {
        let (schema, property) = field.rsplit_once('.').unwrap();
        let schema = match schema {
            "CreateConversationRequest.group" => group,
            name => &schemas[name],
        };
        let found = &schema["properties"][property][keyword];
        if *found != expected {
            wrong.push(format!("{field} has {keyword} {found}, not {expected}"));
        }
    }
    let find = |method: Method, path: &str| {
        operations
            .iter()
            .find(|operation| operation.method == method && operation.path == path)
            .unwrap_or_else(|| panic!("the document has {method} {path}"))
    };
    let mut parameter_limits = vec![
        ("/api/users", "query", "maxLength", SEARCH_QUERY_MAX_CHARS),
        (
            "/api/search/messages",
            "query",
            "maxLength",
            SEARCH_QUERY_MAX_CHARS,
        ),
    ];
    for paginated in [
        "/api/users",
        "/api/search/messages",
        "/api/calls",
        "/api/conversations/{conversation_id}/messages",
    ] {
        parameter_limits.push((paginated, "limit", "minimum", 1));
        parameter_limits.push((paginated, "limit", "maximum", PAGE_MAX as usize));
    }
    for (path, name, keyword, expected) in parameter_limits {
        let parameter = find(Method::GET, path)
            .parameter(name)
            .expect("the parameter");
        let found = &parameter["schema"][keyword];
        if *found != expected {
            wrong.push(format!(
                "GET {path} {name} has {keyword} {found}, not {expected}"
            ));
        }
    }

    // Operator endpoints: the type documented is the type served.
    for path in ["/healthz", "/readyz", "/metrics", "/api/stats"] {
        let response = http
            .get(format!("{}{path}", server.url))
            .send()
            .await
            .unwrap();
        let served = response.headers()[reqwest::header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_owned();
        let documented: Vec<&String> = find(Method::GET, path).spec["responses"]["200"]["content"]
            .as_object()
            .expect("a documented content type")
            .keys()
            .collect();
        if documented != [&served] {
            wrong.push(format!(
                "GET {path} is served as {served}, documented as {documented:?}"
            ));
        }
    }

    // The fuzz. Alice owns a group with Bob, who wrote a message there.
    let (alice, bob) = (server.user("alice").await, server.user("bob").await);
    let group = alice.group("Book club", &[&bob]).await;
    let message = bob.send(group.id, "hello").await;
    let real_for_everyone = |name: &str| match name {
        "conversation_id" => group.id.to_string(),
        "message_id" => message.id.to_string(),
        "user_id" => bob.id().to_string(),
        _ => uuid::Uuid::now_v7().to_string(),
    };
    // Admin routes are tried by an admin, on a user of their own: deleting Bob would change
    // what the other routes answer.
    let admin = server.admin("root").await;
    let victim = server.user("victim").await;
    let unknown = |_: &str| uuid::Uuid::now_v7().to_string();
    let malformed = |name: &str| match name {
        // The updates folder's files are named, not numbered.
        "name" => ".not-a-file-name".to_owned(),
        // Invite codes are letters, digits and dashes.
        "code" => "%3Cscript%3E".to_owned(),
        _ => "not-a-uuid".to_owned(),
    };
    let send = |method: Method, url: &str, token: Option<&str>, body: Body| {
        let mut request = http.request(method, format!("{}{url}", server.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(content_type) = body.content_type {
            request = request.header(reqwest::header::CONTENT_TYPE, content_type);
        }
        async move {
            tokio::time::timeout(WAIT, request.body(body.bytes).send())
                .await
                .expect("the server answers in time")
                .expect("the request reaches the server")
                .status()
        }
    };

    for operation in &operations {
        // Signing out would end Alice's session for the operations after it.
        let signs_out = operation.path == "/api/auth/logout"
            || (operation.method == Method::DELETE && operation.path == "/api/sessions");
        let token = if signs_out {
            server.user("carol").await.token
        } else if operation.admin_only() {
            admin.token.clone()
        } else {
            alice.token.clone()
        };
        let real = |name: &str| match name {
            "user_id" if operation.admin_only() => victim.id().to_string(),
            _ => real_for_everyone(name),
        };
        let token = Some(token.as_str());
        let valid = |ids: &dyn Fn(&str) -> String| match sample_body(operation, &ids) {
            Some(body) => Body::json(serde_json::to_vec(&body).unwrap()),
            None if operation.has_body() => Body {
                content_type: Some("image/png"),
                bytes: b"not a picture".to_vec(),
            },
            None => Body::none(),
        };
        let unauthorized = if operation.admin_only() {
            Some(StatusCode::NOT_FOUND)
        } else {
            operation
                .authenticated()
                .then_some(StatusCode::UNAUTHORIZED)
        };
        let bad_request = Some(StatusCode::BAD_REQUEST);
        // What is tried, with which ids, token and body, and the status it must get if the
        // protocol says which.
        let mut attempts = vec![
            (
                "no token",
                operation.url(unknown),
                None,
                valid(&unknown),
                unauthorized,
            ),
            (
                "unknown ids",
                operation.url(unknown),
                token,
                valid(&unknown),
                None,
            ),
            ("real ids", operation.url(real), token, valid(&real), None),
        ];
        if operation.path.contains('{') {
            let url = operation.url(malformed);
            attempts.push(("malformed ids", url, token, valid(&real), bad_request));
        }
        if operation.has_body() {
            let mut undeclared = valid(&real);
            undeclared.content_type = None;
            let unsupported = Some(StatusCode::UNSUPPORTED_MEDIA_TYPE);
            attempts.push((
                "no content type",
                operation.url(real),
                token,
                undeclared,
                unsupported,
            ));
            // An upload's piece is limited by the upload's own length (tested in files.rs),
            // not by a route-wide size.
            let tus_piece = operation.path == "/api/uploads/{id}";
            let mut too_large = valid(&real);
            let limit = if operation.json_body() {
                JSON_BODY_MAX_BYTES
            } else {
                AVATAR_UPLOAD_MAX_BYTES
            };
            too_large.bytes = vec![b' '; limit + 1];
            let payload_too_large = Some(StatusCode::PAYLOAD_TOO_LARGE);
            if !tus_piece {
                attempts.push((
                    "a body too large",
                    operation.url(real),
                    token,
                    too_large,
                    payload_too_large,
                ));
            }
        }
        if let Some(body) = sample_body(operation, &real) {
            let url = operation.url(real);
            let not_json = Body::json(b"{".to_vec());
            attempts.push(("no JSON", url.clone(), token, not_json, bad_request));
            let array = Body::json(serde_json::to_vec(&json!([body])).unwrap());
            attempts.push(("a JSON array", url.clone(), token, array, bad_request));
            let mut unknown_field = body;
            unknown_field["unknown_field"] = json!(1);
            let unknown_field = Body::json(serde_json::to_vec(&unknown_field).unwrap());
            attempts.push(("an unknown field", url, token, unknown_field, bad_request));
        }
        for (what, url, token, body, expected) in attempts {
            let status = send(operation.method.clone(), &url, token, body).await;
            if expected.is_some_and(|expected| status != expected) {
                wrong.push(format!(
                    "{} answered {status} to {what}, not {}",
                    operation.name(),
                    expected.unwrap()
                ));
            }
            if !operation.listed().contains(status.as_str()) {
                wrong.push(format!(
                    "{} answered {status} to {what}, which it does not list",
                    operation.name()
                ));
            }
        }
    }

    // Values just past the limits (§1.5): each is refused, with a status the document lists.
    let over = |limit: usize| "x".repeat(limit + 1);
    let history = "/api/conversations/{conversation_id}/messages";
    let messages = format!("/api/conversations/{}/messages", group.id);
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let past_limits = [
        (
            Method::POST,
            "/api/auth/signup",
            "/api/auth/signup".to_owned(),
            json!({
                "username": over(USERNAME_MAX_CHARS),
                "display_name": "X",
                "password": "correct horse"
            }),
            unprocessable,
        ),
        (
            Method::POST,
            "/api/auth/signup",
            "/api/auth/signup".to_owned(),
            json!({
                "username": "xavier",
                "display_name": "X",
                "password": over(PASSWORD_MAX_BYTES)
            }),
            unprocessable,
        ),
        (
            Method::PATCH,
            "/api/me",
            "/api/me".to_owned(),
            json!({"status_text": over(STATUS_TEXT_MAX_CHARS)}),
            unprocessable,
        ),
        (
            Method::POST,
            "/api/conversations",
            "/api/conversations".to_owned(),
            json!({"kind": "group", "name": over(GROUP_NAME_MAX_CHARS), "member_ids": []}),
            unprocessable,
        ),
        (
            Method::POST,
            history,
            messages.clone(),
            json!({"client_id": uuid::Uuid::now_v7(), "body": over(MESSAGE_MAX_CHARS)}),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            Method::GET,
            history,
            format!("{messages}?limit=0"),
            Value::Null,
            unprocessable,
        ),
        (
            Method::GET,
            history,
            format!("{messages}?limit={}", PAGE_MAX + 1),
            Value::Null,
            unprocessable,
        ),
        (
            Method::GET,
            "/api/users",
            format!("/api/users?query={}", over(SEARCH_QUERY_MAX_CHARS)),
            Value::Null,
            unprocessable,
        ),
        (
            Method::GET,
            "/api/search/messages",
            format!(
                "/api/search/messages?query={}",
                over(SEARCH_QUERY_MAX_CHARS)
            ),
            Value::Null,
            unprocessable,
        ),
        (
            Method::GET,
            "/api/search/messages",
            "/api/search/messages?query=x&limit=0".to_owned(),
            Value::Null,
            unprocessable,
        ),
        (
            Method::GET,
            "/api/calls",
            format!("/api/calls?limit={}", PAGE_MAX + 1),
            Value::Null,
            unprocessable,
        ),
    ];
    for (method, path, url, body, expected) in past_limits {
        let operation = find(method.clone(), path);
        let body = match body {
            Value::Null => Body::none(),
            body => Body::json(serde_json::to_vec(&body).unwrap()),
        };
        let status = send(method, &url, Some(&alice.token), body).await;
        if status != expected {
            wrong.push(format!(
                "{} answered {status} to {url}, not {expected}",
                operation.name()
            ));
        }
        if !operation.listed().contains(status.as_str()) {
            wrong.push(format!(
                "{} answered {status} past a limit, which it does not list",
                operation.name()
            ));
        }
    }

    assert!(
        wrong.is_empty(),
        "the document is wrong:\n{}",
        wrong.join("\n")
    );
}

/// A request body and its declared type.
struct Body {
    content_type: Option<&'static str>,
    bytes: Vec<u8>,
}

impl Body {
    fn none() -> Body {
        Body {
            content_type: None,
            bytes: Vec::new(),
        }
    }

    fn json(bytes: Vec<u8>) -> Body {
        Body {
            content_type: Some("application/json"),
            bytes,
        }
    }
}
