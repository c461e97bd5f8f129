//! The error body every failed request returns, with a stable machine-readable code.

use serde::{Deserialize, Serialize};

/// Body of every 4xx and 5xx response: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    /// Stable code for programs to branch on.
    pub code: ErrorCode,
    /// Human-readable explanation, in English; may change between versions.
    pub message: String,
}

/// Stable error codes. New codes may be added; clients should treat unknown codes by status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 400: the body is not valid JSON or not of the expected shape.
    InvalidJson,
    /// 400: a path or query parameter is malformed (for example an id that is not a UUID).
    InvalidParameter,
    /// 422: a field breaks a rule (length, characters, range); the message names it.
    ValidationFailed,
    /// 401: no session token, or one that is unknown or revoked.
    Unauthorized,
    /// 401: the username and password do not match an account (the same for an unknown user).
    InvalidCredentials,
    /// 403: the password was right, and the account also needs a two-factor code
    /// (`totp_code`).
    TotpRequired,
    /// 403: the two-factor code is wrong, was already used, or is not a recovery code of the
    /// account.
    TotpInvalid,
    /// 403: the password given to confirm an action is not the account's.
    WrongPassword,
    /// 403: an admin disabled this account; it cannot sign in.
    AccountDisabled,
    /// 403: this server takes no sign-ups; ask its operator for an account.
    SignupClosed,
    /// 403: sign-up needs an invite and this one is missing, unknown, expired, revoked or used
    /// up; the message says which.
    InviteInvalid,
    /// 403: the caller is signed in but may not do this (for example editing another's message).
    Forbidden,
    /// 404: no such thing, or nothing the caller may see.
    NotFound,
    /// 405: the path exists but not with this method.
    MethodNotAllowed,
    /// 409: the username is already taken.
    UsernameTaken,
    /// 409: a `client_id` was reused for a different message.
    IdempotencyConflict,
    /// 409: the request conflicts with the current state (for example adding an existing member).
    Conflict,
    /// 413: the body is larger than this endpoint accepts.
    PayloadTooLarge,
    /// 413: a new upload would take more than the bytes of files I may keep on this server.
    QuotaExceeded,
    /// 409: an upload's piece was sent at an offset other than where the upload stands; ask
    /// for the offset (`HEAD`) and resume from there.
    OffsetMismatch,
    /// 415: the body's content type is not one this endpoint accepts.
    UnsupportedMediaType,
    /// 429: too many attempts; wait the number of seconds in `Retry-After`.
    RateLimited,
    /// 503: the server cannot reach its database right now.
    Unavailable,
    /// 500: a fault on the server; it is logged, the request can be retried.
    Internal,
}
