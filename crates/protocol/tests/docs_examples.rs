//! Checks the JSON examples in `docs/protocol.md` against the protocol types.
//!
//! Every ```json block directly preceded by a line `<!-- example: TypeName -->` must
//! deserialise into `natter_protocol::TypeName` and serialise back to the same JSON value, so
//! an example can neither miss a required field nor carry a misspelt or extra one that happens
//! to be ignored. Examples of what clients send (see [`CLIENT_SENT`]) may leave out optional
//! fields. Finally, every `ServerFrame` and `ClientFrame` variant and every `EventBody` kind
//! must have at least one example.

use std::collections::BTreeSet;

use natter_protocol::*;
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

// Update these lists (and the exhaustive matches below, which fail to compile until you do)
// when adding a variant, and add an example of it to docs/protocol.md.
const SERVER_FRAME_TYPES: &[&str] = &[
    "ready",
    "event",
    "typing",
    "presence",
    "resync",
    "error",
    "call_incoming",
    "call_ringing",
    "call_merged",
    "call_accepted",
    "call_answered_elsewhere",
    "call_signal",
    "call_media",
    "call_ended",
    "conversation_muted",
    "call_error",
];
const CLIENT_FRAME_TYPES: &[&str] = &[
    "hello",
    "typing",
    "call_invite",
    "call_accept",
    "call_decline",
    "call_hangup",
    "call_signal",
    "call_media",
    "call_failed",
];
const EVENT_KINDS: &[&str] = &[
    "conversation_created",
    "message_created",
    "message_edited",
    "message_deleted",
    "read_receipt",
    "members_added",
    "member_removed",
    "owner_changed",
    "conversation_renamed",
    "reaction_added",
    "reaction_removed",
];

/// Types a client sends: their optional fields may be left out of an example (the server
/// accepts that). Everything the server sends always has every field, `null` included.
const CLIENT_SENT: &[&str] = &[
    "SignupRequest",
    "LoginRequest",
    "UpdateProfileRequest",
    "CreateConversationRequest",
    "AddMembersRequest",
    "RenameConversationRequest",
    "SendMessageRequest",
    "EditMessageRequest",
    "MarkReadRequest",
    "ResetPasswordRequest",
    "ChangePasswordRequest",
    "TotpConfirmRequest",
    "ConfirmWithPassword",
    "CreateInviteRequest",
    "ReportRequest",
    "AdminUpdateUserRequest",
    "ClientFrame",
];

fn server_frame_type(frame: &ServerFrame) -> &'static str {
    match frame {
        ServerFrame::Ready { .. } => "ready",
        ServerFrame::Event(_) => "event",
        ServerFrame::Typing { .. } => "typing",
        ServerFrame::Presence { .. } => "presence",
        ServerFrame::Resync { .. } => "resync",
        ServerFrame::Error { .. } => "error",
        ServerFrame::CallIncoming { .. } => "call_incoming",
        ServerFrame::CallRinging { .. } => "call_ringing",
        ServerFrame::CallMerged { .. } => "call_merged",
        ServerFrame::CallAccepted { .. } => "call_accepted",
        ServerFrame::CallAnsweredElsewhere { .. } => "call_answered_elsewhere",
        ServerFrame::CallSignal { .. } => "call_signal",
        ServerFrame::CallMedia { .. } => "call_media",
        ServerFrame::CallEnded { .. } => "call_ended",
        ServerFrame::ConversationMuted { .. } => "conversation_muted",
        ServerFrame::CallError { .. } => "call_error",
    }
}

fn client_frame_type(frame: &ClientFrame) -> &'static str {
    match frame {
        ClientFrame::Hello { .. } => "hello",
        ClientFrame::Typing { .. } => "typing",
        ClientFrame::CallInvite { .. } => "call_invite",
        ClientFrame::CallAccept { .. } => "call_accept",
        ClientFrame::CallDecline { .. } => "call_decline",
        ClientFrame::CallHangup { .. } => "call_hangup",
        ClientFrame::CallSignal { .. } => "call_signal",
        ClientFrame::CallMedia { .. } => "call_media",
        ClientFrame::CallFailed { .. } => "call_failed",
    }
}

fn event_kind(body: &EventBody) -> &'static str {
    match body {
        EventBody::ConversationCreated { .. } => "conversation_created",
        EventBody::MessageCreated { .. } => "message_created",
        EventBody::MessageEdited { .. } => "message_edited",
        EventBody::MessageDeleted { .. } => "message_deleted",
        EventBody::ReadReceipt { .. } => "read_receipt",
        EventBody::MembersAdded { .. } => "members_added",
        EventBody::MemberRemoved { .. } => "member_removed",
        EventBody::OwnerChanged { .. } => "owner_changed",
        EventBody::ConversationRenamed { .. } => "conversation_renamed",
        EventBody::ReactionAdded { .. } => "reaction_added",
        EventBody::ReactionRemoved { .. } => "reaction_removed",
        EventBody::Unknown => "unknown",
    }
}

struct Example {
    type_name: String,
    line: usize,
    json: String,
}

/// Finds every `<!-- example: TypeName -->` marker and the ```json block right after it.
fn examples(markdown: &str) -> Vec<Example> {
    let lines: Vec<&str> = markdown.lines().collect();
    let mut found = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        let line = lines[index].trim();
        index += 1;
        let Some(type_name) = line
            .strip_prefix("<!-- example:")
            .and_then(|rest| rest.strip_suffix("-->"))
        else {
            assert!(
                !line.starts_with("<!-- example"),
                "docs/protocol.md:{index}: malformed example marker {line:?}"
            );
            continue;
        };
        let marker_line = index;
        assert_eq!(
            lines.get(index).map(|next| next.trim()),
            Some("```json"),
            "docs/protocol.md:{marker_line}: the example marker must be followed by a ```json line"
        );
        index += 1;
        let start = index;
        while index < lines.len() && lines[index].trim() != "```" {
            index += 1;
        }
        assert!(
            index < lines.len(),
            "docs/protocol.md:{marker_line}: unterminated ```json block"
        );
        found.push(Example {
            type_name: type_name.trim().to_owned(),
            line: marker_line,
            json: lines[start..index].join("\n"),
        });
        index += 1;
    }
    found
}

/// Removes from `round_tripped` the object fields that `original` leaves out when their value
/// is what an omitted optional field becomes (`null`, `""`, `{}` or `[]`), at any depth.
fn drop_omitted_defaults(original: &Value, round_tripped: &mut Value) {
    match (original, round_tripped) {
        (Value::Object(original), Value::Object(round_tripped)) => {
            round_tripped.retain(|key, value| {
                original.contains_key(key)
                    || !(value.is_null()
                        || value.as_str() == Some("")
                        || value.as_object().is_some_and(|map| map.is_empty())
                        || value.as_array().is_some_and(|list| list.is_empty()))
            });
            for (key, value) in round_tripped.iter_mut() {
                if let Some(original_value) = original.get(key) {
                    drop_omitted_defaults(original_value, value);
                }
            }
        }
        (Value::Array(original), Value::Array(round_tripped)) => {
            for (original_item, item) in original.iter().zip(round_tripped.iter_mut()) {
                drop_omitted_defaults(original_item, item);
            }
        }
        _ => {}
    }
}

/// Deserialises the example into `T`, serialises it back and compares.
fn check<T: Serialize + DeserializeOwned>(example: &Example, original: &Value) -> T {
    let value: T = serde_json::from_value(original.clone()).unwrap_or_else(|error| {
        panic!(
            "docs/protocol.md:{}: the example is not a valid {}: {error}",
            example.line, example.type_name
        )
    });
    let mut round_tripped = serde_json::to_value(&value).expect("protocol types serialise");
    if CLIENT_SENT.contains(&example.type_name.as_str()) {
        drop_omitted_defaults(original, &mut round_tripped);
    }
    assert_eq!(
        &round_tripped, original,
        "docs/protocol.md:{}: the {} example changes in a round trip (a misspelt, extra or \
         missing field?)",
        example.line, example.type_name
    );
    value
}

fn check_only<T: Serialize + DeserializeOwned>(example: &Example, original: &Value) {
    check::<T>(example, original);
}

#[derive(Default)]
struct Coverage {
    server_frame_types: BTreeSet<&'static str>,
    client_frame_types: BTreeSet<&'static str>,
    event_kinds: BTreeSet<&'static str>,
}

fn check_example(example: &Example, coverage: &mut Coverage) {
    let original: Value = serde_json::from_str(&example.json).unwrap_or_else(|error| {
        panic!(
            "docs/protocol.md:{}: the example is not JSON: {error}",
            example.line
        )
    });
    match example.type_name.as_str() {
        "SignupRequest" => check_only::<SignupRequest>(example, &original),
        "LoginRequest" => check_only::<LoginRequest>(example, &original),
        "AuthResponse" => check_only::<AuthResponse>(example, &original),
        "SessionInfo" => check_only::<SessionInfo>(example, &original),
        "SessionList" => check_only::<SessionList>(example, &original),
        "User" => check_only::<User>(example, &original),
        "Presence" => check_only::<Presence>(example, &original),
        "UpdateProfileRequest" => check_only::<UpdateProfileRequest>(example, &original),
        "UserPage" => check_only::<UserPage>(example, &original),
        "ServerStats" => check_only::<ServerStats>(example, &original),
        "IceServers" => check_only::<IceServers>(example, &original),
        "CallHistory" => check_only::<CallHistory>(example, &original),
        "CallRecord" => check_only::<CallRecord>(example, &original),
        "ConversationKind" => check_only::<ConversationKind>(example, &original),
        "CreateConversationRequest" => check_only::<CreateConversationRequest>(example, &original),
        "AddMembersRequest" => check_only::<AddMembersRequest>(example, &original),
        "RenameConversationRequest" => check_only::<RenameConversationRequest>(example, &original),
        "Conversation" => check_only::<Conversation>(example, &original),
        "ConversationList" => check_only::<ConversationList>(example, &original),
        "SendMessageRequest" => check_only::<SendMessageRequest>(example, &original),
        "EditMessageRequest" => check_only::<EditMessageRequest>(example, &original),
        "Message" => check_only::<Message>(example, &original),
        "Reaction" => check_only::<Reaction>(example, &original),
        "Attachment" => check_only::<Attachment>(example, &original),
        "MessagePage" => check_only::<MessagePage>(example, &original),
        "MarkReadRequest" => check_only::<MarkReadRequest>(example, &original),
        "ReadState" => check_only::<ReadState>(example, &original),
        "SearchResults" => check_only::<SearchResults>(example, &original),
        "ServerInfo" => check_only::<ServerInfo>(example, &original),
        "ResetPasswordRequest" => check_only::<ResetPasswordRequest>(example, &original),
        "AccountInfo" => check_only::<AccountInfo>(example, &original),
        "ChangePasswordRequest" => check_only::<ChangePasswordRequest>(example, &original),
        "TotpSetup" => check_only::<TotpSetup>(example, &original),
        "TotpConfirmRequest" => check_only::<TotpConfirmRequest>(example, &original),
        "RecoveryCodes" => check_only::<RecoveryCodes>(example, &original),
        "ConfirmWithPassword" => check_only::<ConfirmWithPassword>(example, &original),
        "AccountExport" => check_only::<AccountExport>(example, &original),
        "CreateInviteRequest" => check_only::<CreateInviteRequest>(example, &original),
        "CreatedInvite" => check_only::<CreatedInvite>(example, &original),
        "InviteList" => check_only::<InviteList>(example, &original),
        "BlockList" => check_only::<BlockList>(example, &original),
        "ReportRequest" => check_only::<ReportRequest>(example, &original),
        "AdminUserPage" => check_only::<AdminUserPage>(example, &original),
        "AdminUpdateUserRequest" => check_only::<AdminUpdateUserRequest>(example, &original),
        "PasswordResetCode" => check_only::<PasswordResetCode>(example, &original),
        "ReportList" => check_only::<ReportList>(example, &original),
        "AuditPage" => check_only::<AuditPage>(example, &original),
        "AdminStats" => check_only::<AdminStats>(example, &original),
        "ErrorBody" => check_only::<ErrorBody>(example, &original),
        "ErrorDetail" => check_only::<ErrorDetail>(example, &original),
        "ErrorCode" => check_only::<ErrorCode>(example, &original),
        "Event" => {
            let event = check::<Event>(example, &original);
            coverage.event_kinds.insert(event_kind(&event.body));
        }
        "EventBody" => {
            let body = check::<EventBody>(example, &original);
            coverage.event_kinds.insert(event_kind(&body));
        }
        "ServerFrame" => {
            let frame = check::<ServerFrame>(example, &original);
            let tag = server_frame_type(&frame);
            assert_eq!(
                original["type"], tag,
                "docs/protocol.md:{}: unexpected type tag",
                example.line
            );
            coverage.server_frame_types.insert(tag);
            if let ServerFrame::Event(event) = &frame {
                let kind = event_kind(&event.body);
                assert_eq!(
                    original["kind"], kind,
                    "docs/protocol.md:{}: unexpected kind tag",
                    example.line
                );
                coverage.event_kinds.insert(kind);
            }
        }
        "ClientFrame" => {
            let frame = check::<ClientFrame>(example, &original);
            let tag = client_frame_type(&frame);
            assert_eq!(
                original["type"], tag,
                "docs/protocol.md:{}: unexpected type tag",
                example.line
            );
            coverage.client_frame_types.insert(tag);
        }
        unknown => panic!(
            "docs/protocol.md:{}: `{unknown}` is not a protocol type this test knows; add it to \
             the match in crates/protocol/tests/docs_examples.rs",
            example.line
        ),
    }
}

fn missing<'a>(expected: &[&'a str], seen: &BTreeSet<&str>) -> Vec<&'a str> {
    expected
        .iter()
        .copied()
        .filter(|tag| !seen.contains(tag))
        .collect()
}

#[test]
fn protocol_doc_examples_match_the_types() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/protocol.md");
    let markdown =
        std::fs::read_to_string(path).unwrap_or_else(|error| panic!("cannot read {path}: {error}"));
    let examples = examples(&markdown);
    assert!(
        !examples.is_empty(),
        "no `<!-- example: Type -->` examples found in {path}"
    );

    let mut coverage = Coverage::default();
    for example in &examples {
        check_example(example, &mut coverage);
    }

    let missing_server = missing(SERVER_FRAME_TYPES, &coverage.server_frame_types);
    let missing_client = missing(CLIENT_FRAME_TYPES, &coverage.client_frame_types);
    let missing_kinds = missing(EVENT_KINDS, &coverage.event_kinds);
    assert!(
        missing_server.is_empty() && missing_client.is_empty() && missing_kinds.is_empty(),
        "docs/protocol.md lacks examples of: ServerFrame {missing_server:?}, ClientFrame \
         {missing_client:?}, EventBody kinds {missing_kinds:?}"
    );
}

#[test]
fn the_checker_refuses_bad_examples() {
    let doc = "<!-- example: Message -->\n```json\n{\"id\": 1}\n```\n";
    let found = examples(doc);
    assert_eq!(found.len(), 1);
    let result = std::panic::catch_unwind(|| check_example(&found[0], &mut Coverage::default()));
    assert!(result.is_err(), "an invalid Message was accepted");

    // An extra field that serde would silently ignore must still be caught.
    let doc = "<!-- example: ReadState -->\n```json\n{\"conversation_id\": \
               \"0190a8f3-0a1b-7c2d-8e3f-4a5b6c7d8e01\", \"read_seq\": 3, \"unread_count\": 0, \
               \"unread\": 0}\n```\n";
    let found = examples(doc);
    let result = std::panic::catch_unwind(|| check_example(&found[0], &mut Coverage::default()));
    assert!(result.is_err(), "an extra field was accepted");

    // A server-sent type must show its null fields.
    let doc = "<!-- example: SearchResults -->\n```json\n{\"messages\": []}\n```\n";
    let found = examples(doc);
    let result = std::panic::catch_unwind(|| check_example(&found[0], &mut Coverage::default()));
    assert!(result.is_err(), "a missing null field was accepted");

    let doc = "<!-- example: NoSuchType -->\n```json\n{}\n```\n";
    let found = examples(doc);
    let result = std::panic::catch_unwind(|| check_example(&found[0], &mut Coverage::default()));
    assert!(result.is_err(), "an unknown type name was accepted");
}

/// A newer server may send event kinds this crate does not know: such an event still parses
/// (its `seq` counts for the cursor) and its body is `Unknown`, with every other field kept.
#[test]
fn an_unknown_event_kind_parses_as_unknown() {
    let frame: ServerFrame = serde_json::from_value(serde_json::json!({
        "type": "event",
        "conversation_id": "0190a8f3-0a1b-7c2d-8e3f-4a5b6c7d8e01",
        "seq": 7,
        "at": 1720000200000_i64,
        "kind": "poll_created",
        "question": "Lunch?",
        "options": ["yes", "no"]
    }))
    .expect("an unknown kind is not an error");
    let ServerFrame::Event(event) = frame else {
        panic!("not an event: {frame:?}");
    };
    assert_eq!((event.seq, event.body), (7, EventBody::Unknown));
}
