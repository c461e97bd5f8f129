//! The REST half of the protocol: one typed method per route of docs/protocol.md section 3.
//!
//! Errors keep the server's stable error code, so callers can tell a message the server refused
//! for good (a validation failure) from one worth retrying (the server was unreachable).

mod account;
mod admin;
mod files;

pub use files::UploadTarget;

use std::time::Duration;

use natter_protocol::{
    AuthResponse, CallHistory, Conversation, ConversationId, ConversationList,
    CreateConversationRequest, EditMessageRequest, ErrorBody, ErrorCode, IceServers, LoginRequest,
    MarkReadRequest, Message, MessageId, MessagePage, ReadState, SearchResults, SendMessageRequest,
    SignupRequest, UpdateProfileRequest, User, UserId, UserPage,
};
use reqwest::{Method, RequestBuilder, StatusCode, header};
use serde::{Serialize, de::DeserializeOwned};
use url::Url;

/// How long one REST call may take, end to end.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Below the server's default client timeout (`--client-timeout-seconds`, 15 s).
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The server answered with an error body.
    #[error("{message} ({status}, {code:?})")]
    Server {
        status: StatusCode,
        code: ErrorCode,
        message: String,
        /// How long the server asked to wait (`Retry-After`, with `rate_limited`).
        retry_after: Option<Duration>,
    },
    /// No answer: the server is down or unreachable, or the connection broke.
    #[error("cannot reach the server: {0}")]
    Unreachable(#[source] reqwest::Error),
    /// An answer that is not what the protocol says.
    #[error("unexpected answer from the server: {0}")]
    Malformed(String),
}

impl ApiError {
    /// Whether trying the same request again later can succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            ApiError::Unreachable(_) => true,
            ApiError::Server { status, .. } => {
                status.is_server_error()
                    || *status == StatusCode::TOO_MANY_REQUESTS
                    || *status == StatusCode::REQUEST_TIMEOUT
            }
            ApiError::Malformed(_) => false,
        }
    }

    /// The request conflicts with the server's state (409).
    pub fn is_conflict(&self) -> bool {
        matches!(self, ApiError::Server { status, .. } if *status == StatusCode::CONFLICT)
    }

    /// The server knows no such thing (or nothing I may see).
    pub fn is_not_found(&self) -> bool {
        matches!(self, ApiError::Server { status, .. } if *status == StatusCode::NOT_FOUND)
    }

    /// The session token is no longer valid: the user must sign in again.
    pub fn is_unauthorized(&self) -> bool {
        matches!(self, ApiError::Server { status, .. } if *status == StatusCode::UNAUTHORIZED)
    }

    /// How long the server asked the client to wait before trying again.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ApiError::Server { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The server's error code, when it answered.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            ApiError::Server { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// The refusal of one field of the request, so that a form can show it next to that
    /// field: a taken username, or a validation failure, whose message starts with the field's
    /// name ("display_name must be 1 to 64 characters", docs/protocol.md).
    pub fn field_error(&self) -> Option<FieldError> {
        let ApiError::Server { code, message, .. } = self else {
            return None;
        };
        match code {
            ErrorCode::UsernameTaken => Some(FieldError {
                field: "username".to_owned(),
                message: sentence(message),
            }),
            ErrorCode::InviteInvalid => Some(FieldError {
                field: "invite_code".to_owned(),
                message: sentence(message),
            }),
            ErrorCode::TotpRequired | ErrorCode::TotpInvalid => Some(FieldError {
                field: "totp_code".to_owned(),
                message: sentence(message),
            }),
            ErrorCode::ValidationFailed => {
                let (field, rule) = message.split_once(' ')?;
                let named = !field.is_empty()
                    && field
                        .chars()
                        .all(|character| character.is_ascii_lowercase() || character == '_');
                let rule_follows = rule.starts_with("must ") || rule.starts_with("may ");
                (named && rule_follows).then(|| FieldError {
                    field: field.to_owned(),
                    message: sentence(&format!("{} {rule}", field.replace('_', " "))),
                })
            }
            _ => None,
        }
    }
}

/// A request field the server refused, and why, as a sentence for people ("Display name must
/// be 1 to 64 characters.").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field's name in the request body (`username`, `display_name`, `password`, …).
    pub field: String,
    pub message: String,
}

/// Capitalised, with a full stop.
fn sentence(text: &str) -> String {
    let mut characters = text.trim().chars();
    let mut sentence: String = characters
        .next()
        .map(|first| first.to_uppercase().chain(characters).collect())
        .unwrap_or_default();
    if !sentence.is_empty() && !sentence.ends_with('.') {
        sentence.push('.');
    }
    sentence
}

/// The display name to sign up with: a blank one is the username, as the server requires one
/// and people are shown by it.
/// `path` (from its `/`) on the server at `base`, which may itself sit under a path prefix
/// (`https://example.org/natter`).
pub fn server_url(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let prefix = url.path().trim_end_matches('/').to_owned();
    url.set_path(&format!("{prefix}{path}"));
    url
}

pub fn signup_display_name(username: &str, display_name: Option<&str>) -> String {
    match display_name.map(str::trim) {
        Some(display_name) if !display_name.is_empty() => display_name.to_owned(),
        _ => username.trim().to_owned(),
    }
}

/// A REST client for one server, optionally signed in. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Api {
    http: reqwest::Client,
    base: Url,
    token: Option<String>,
}

impl Api {
    pub fn new(base: Url) -> Result<Api, ApiError> {
        crate::tls::install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            // Let go of an idle connection before the server closes it (after 15 s by
            // default), so a request never goes out on a connection being closed under it.
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .user_agent(concat!("natter-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(ApiError::Unreachable)?;
        Ok(Api {
            http,
            base,
            token: None,
        })
    }

    /// The same client, authenticated with this session token.
    pub fn with_token(&self, token: impl Into<String>) -> Api {
        Api {
            token: Some(token.into()),
            ..self.clone()
        }
    }

    pub fn base(&self) -> &Url {
        &self.base
    }

    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// The realtime endpoint: `ws(s)://host/api/ws`.
    pub fn websocket_url(&self) -> Url {
        let mut url = self.url("/api/ws");
        let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
        // Both schemes are special with the same rules, so the change cannot fail.
        let _ = url.set_scheme(scheme);
        url
    }

    fn url(&self, path: &str) -> Url {
        server_url(&self.base, path)
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let builder = self.http.request(method, self.url(path));
        match &self.token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    async fn send<T: DeserializeOwned>(&self, builder: RequestBuilder) -> Result<T, ApiError> {
        let (status, bytes) = self.exchange(builder).await?;
        serde_json::from_slice(&bytes).map_err(|error| {
            ApiError::Malformed(format!("{status} with a body that does not parse: {error}"))
        })
    }

    /// For routes that answer 204 No Content.
    async fn send_empty(&self, builder: RequestBuilder) -> Result<(), ApiError> {
        self.exchange(builder).await.map(|_| ())
    }

    /// Sends the request; a non-2xx answer becomes an [`ApiError::Server`].
    async fn exchange(
        &self,
        builder: RequestBuilder,
    ) -> Result<(StatusCode, bytes::Bytes), ApiError> {
        let response = self.respond(builder).await?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(ApiError::Unreachable)?;
        Ok((status, bytes))
    }

    /// Sends the request; answers the response of a 2xx (its body not read yet), else the
    /// server's error.
    async fn respond(&self, builder: RequestBuilder) -> Result<reqwest::Response, ApiError> {
        let response = builder.send().await.map_err(ApiError::Unreachable)?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|seconds| seconds.trim().parse::<u64>().ok())
            .map(|seconds| Duration::from_secs(seconds.min(3600)));
        if status.is_success() {
            return Ok(response);
        }
        let bytes = response.bytes().await.map_err(ApiError::Unreachable)?;
        Err(match serde_json::from_slice::<ErrorBody>(&bytes) {
            Ok(body) => ApiError::Server {
                status,
                code: body.error.code,
                message: body.error.message,
                retry_after,
            },
            // A proxy in front of the server may answer 502/503 with HTML.
            Err(_) => ApiError::Server {
                status,
                code: if status.is_server_error() {
                    ErrorCode::Unavailable
                } else {
                    ErrorCode::Internal
                },
                message: format!("the server answered {status}"),
                retry_after,
            },
        })
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ApiError> {
        self.send(self.request(Method::GET, path)).await
    }

    async fn with_body<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T, ApiError> {
        self.send(self.request(method, path).json(body)).await
    }

    /// Whether a Natter server answers at this address.
    pub async fn check(&self) -> Result<(), ApiError> {
        let stats: serde_json::Value = self.get("/api/stats").await?;
        if stats.get("version").is_some() {
            Ok(())
        } else {
            Err(ApiError::Malformed("this is not a Natter server".into()))
        }
    }

    pub async fn signup(&self, request: &SignupRequest) -> Result<AuthResponse, ApiError> {
        self.with_body(Method::POST, "/api/auth/signup", request)
            .await
    }

    pub async fn login(&self, request: &LoginRequest) -> Result<AuthResponse, ApiError> {
        self.with_body(Method::POST, "/api/auth/login", request)
            .await
    }

    /// Revokes this session on the server.
    pub async fn logout(&self) -> Result<(), ApiError> {
        self.send_empty(self.request(Method::POST, "/api/auth/logout"))
            .await
    }

    pub async fn me(&self) -> Result<User, ApiError> {
        self.get("/api/me").await
    }

    pub async fn update_me(&self, request: &UpdateProfileRequest) -> Result<User, ApiError> {
        self.with_body(Method::PATCH, "/api/me", request).await
    }

    /// Uploads a new avatar: the picture's bytes and their MIME type.
    pub async fn upload_avatar(
        &self,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<User, ApiError> {
        let builder = self
            .request(Method::PUT, "/api/me/avatar")
            .header(header::CONTENT_TYPE, content_type)
            .body(bytes);
        self.send(builder).await
    }

    /// Fetches an avatar by the `avatar_url` the server gave (a path on this server).
    pub async fn avatar(&self, avatar_url: &str) -> Result<Vec<u8>, ApiError> {
        if !avatar_url.starts_with("/api/users/") {
            return Err(ApiError::Malformed(format!(
                "{avatar_url:?} is not an avatar path of this server"
            )));
        }
        let (path, query) = avatar_url.split_once('?').unwrap_or((avatar_url, ""));
        let mut url = self.url(path);
        url.set_query((!query.is_empty()).then_some(query));
        let mut builder = self.http.get(url);
        if let Some(token) = &self.token {
            builder = builder.bearer_auth(token);
        }
        let (_, bytes) = self.exchange(builder).await?;
        Ok(bytes.to_vec())
    }

    pub async fn user(&self, user_id: UserId) -> Result<User, ApiError> {
        self.get(&format!("/api/users/{user_id}")).await
    }

    pub async fn search_users(&self, query: &str, limit: u32) -> Result<UserPage, ApiError> {
        let builder = self
            .request(Method::GET, "/api/users")
            .query(&[("query", query), ("limit", &limit.to_string())]);
        self.send(builder).await
    }

    /// The ICE servers (and short-lived TURN credentials) for a call starting now.
    pub async fn ice_servers(&self) -> Result<IceServers, ApiError> {
        self.get("/api/calls/ice-servers").await
    }

    /// My calls, newest first; `before` is the last page's oldest `started_at`.
    pub async fn call_history(&self, before: Option<i64>) -> Result<CallHistory, ApiError> {
        let mut builder = self.request(Method::GET, "/api/calls");
        if let Some(before) = before {
            builder = builder.query(&[("before", before)]);
        }
        self.send(builder).await
    }

    pub async fn conversations(&self) -> Result<Vec<Conversation>, ApiError> {
        let list: ConversationList = self.get("/api/conversations").await?;
        Ok(list.conversations)
    }

    pub async fn conversation(&self, id: ConversationId) -> Result<Conversation, ApiError> {
        self.get(&format!("/api/conversations/{id}")).await
    }

    pub async fn create_conversation(
        &self,
        request: &CreateConversationRequest,
    ) -> Result<Conversation, ApiError> {
        self.with_body(Method::POST, "/api/conversations", request)
            .await
    }

    /// A page of history: `before` a seq (older), `after` a seq (newer), or the newest page.
    pub async fn messages(
        &self,
        conversation_id: ConversationId,
        page: HistoryPage,
        limit: u32,
    ) -> Result<MessagePage, ApiError> {
        let mut query = vec![("limit", limit.to_string())];
        match page {
            HistoryPage::Newest => {}
            HistoryPage::Before(seq) => query.push(("before", seq.to_string())),
            HistoryPage::After(seq) => query.push(("after", seq.to_string())),
        }
        let builder = self
            .request(
                Method::GET,
                &format!("/api/conversations/{conversation_id}/messages"),
            )
            .query(&query);
        self.send(builder).await
    }

    pub async fn send_message(
        &self,
        conversation_id: ConversationId,
        request: &SendMessageRequest,
    ) -> Result<Message, ApiError> {
        self.with_body(
            Method::POST,
            &format!("/api/conversations/{conversation_id}/messages"),
            request,
        )
        .await
    }

    pub async fn edit_message(
        &self,
        conversation_id: ConversationId,
        message_id: MessageId,
        body: &str,
    ) -> Result<Message, ApiError> {
        let request = EditMessageRequest {
            body: body.to_owned(),
        };
        self.with_body(
            Method::PATCH,
            &format!("/api/conversations/{conversation_id}/messages/{message_id}"),
            &request,
        )
        .await
    }

    pub async fn delete_message(
        &self,
        conversation_id: ConversationId,
        message_id: MessageId,
    ) -> Result<Message, ApiError> {
        self.send(self.request(
            Method::DELETE,
            &format!("/api/conversations/{conversation_id}/messages/{message_id}"),
        ))
        .await
    }

    /// One message I can see (the original of a reply), a tombstone if it was deleted.
    pub async fn message(
        &self,
        conversation_id: ConversationId,
        message_id: MessageId,
    ) -> Result<Message, ApiError> {
        self.get(&format!(
            "/api/conversations/{conversation_id}/messages/{message_id}"
        ))
        .await
    }

    /// Adds (`add`) or takes back my `emoji` reaction; answers with the message afterwards.
    pub async fn set_reaction(
        &self,
        conversation_id: ConversationId,
        message_id: MessageId,
        emoji: &str,
        add: bool,
    ) -> Result<Message, ApiError> {
        let emoji =
            percent_encoding::utf8_percent_encode(emoji, percent_encoding::NON_ALPHANUMERIC);
        let path =
            format!("/api/conversations/{conversation_id}/messages/{message_id}/reactions/{emoji}");
        let method = if add { Method::PUT } else { Method::DELETE };
        self.send(self.request(method, &path)).await
    }

    /// Mutes or unmutes a conversation for me.
    pub async fn set_muted(
        &self,
        conversation_id: ConversationId,
        muted: bool,
    ) -> Result<(), ApiError> {
        let method = if muted { Method::PUT } else { Method::DELETE };
        self.send_empty(self.request(
            method,
            &format!("/api/conversations/{conversation_id}/mute"),
        ))
        .await
    }

    pub async fn mark_read(
        &self,
        conversation_id: ConversationId,
        message_id: MessageId,
    ) -> Result<ReadState, ApiError> {
        self.with_body(
            Method::POST,
            &format!("/api/conversations/{conversation_id}/read"),
            &MarkReadRequest { message_id },
        )
        .await
    }

    pub async fn typing(&self, conversation_id: ConversationId) -> Result<(), ApiError> {
        self.send_empty(self.request(
            Method::POST,
            &format!("/api/conversations/{conversation_id}/typing"),
        ))
        .await
    }

    pub async fn search_messages(
        &self,
        query: &str,
        limit: u32,
    ) -> Result<SearchResults, ApiError> {
        let builder = self
            .request(Method::GET, "/api/search/messages")
            .query(&[("query", query), ("limit", &limit.to_string())]);
        self.send(builder).await
    }
}

/// Which page of a conversation's history to fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryPage {
    Newest,
    Before(natter_protocol::Seq),
    After(natter_protocol::Seq),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server_error(code: ErrorCode, message: &str) -> ApiError {
        ApiError::Server {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code,
            message: message.to_owned(),
            retry_after: None,
        }
    }

    #[test]
    fn a_blank_display_name_is_the_username() {
        assert_eq!(signup_display_name("alice", None), "alice");
        assert_eq!(signup_display_name("alice", Some("")), "alice");
        assert_eq!(signup_display_name("alice", Some("  ")), "alice");
        assert_eq!(
            signup_display_name("alice", Some(" Alice Liddell ")),
            "Alice Liddell"
        );
    }

    #[test]
    fn refusals_name_the_field_they_are_about() {
        let error = server_error(
            ErrorCode::ValidationFailed,
            "display_name must be 1 to 64 characters",
        );
        assert_eq!(
            error.field_error(),
            Some(FieldError {
                field: "display_name".into(),
                message: "Display name must be 1 to 64 characters.".into(),
            })
        );
        let error = server_error(
            ErrorCode::ValidationFailed,
            "username may contain only a-z, 0-9, '_', '.', '-' and must start with a letter",
        );
        assert_eq!(
            error.field_error().map(|refused| refused.field),
            Some("username".into())
        );
        let error = server_error(ErrorCode::UsernameTaken, "that username is taken");
        assert_eq!(
            error.field_error(),
            Some(FieldError {
                field: "username".into(),
                message: "That username is taken.".into(),
            })
        );
        // Not about one field: shown for the whole form.
        for error in [
            server_error(
                ErrorCode::ValidationFailed,
                "a direct conversation needs another user",
            ),
            server_error(ErrorCode::RateLimited, "too many attempts; retry in 3 s"),
            ApiError::Malformed("password must be text".into()),
        ] {
            assert_eq!(error.field_error(), None, "{error}");
        }
    }
}
