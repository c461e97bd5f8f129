//! The one error type of the server's domain layer. `api::error` maps it to HTTP responses.

use natter_protocol::ErrorCode;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Validation(String),
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("session token missing, unknown or revoked")]
    Unauthorized,
    #[error("wrong username or password")]
    InvalidCredentials,
    #[error("that username is taken")]
    UsernameTaken,
    #[error("this account uses two-factor sign-in: give the code from the authenticator app")]
    TotpRequired,
    #[error("that two-factor code is wrong or was already used")]
    TotpInvalid,
    #[error("that is not the account's password")]
    WrongPassword,
    #[error("this account is disabled; ask the server's admins")]
    AccountDisabled,
    #[error("this server takes no sign-ups; ask its operator for an account")]
    SignupClosed,
    #[error("{0}")]
    InviteInvalid(&'static str),
    #[error("this client_id was already used for a different message")]
    IdempotencyConflict,
    #[error("{0}")]
    Conflict(&'static str),
    #[error("too many requests; retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    QuotaExceeded(String),
    #[error("the upload stands at byte {expected}; resume from there")]
    OffsetMismatch { expected: u64 },
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl Error {
    pub fn validation(message: impl Into<String>) -> Self {
        Error::Validation(message.into())
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Validation(_) => ErrorCode::ValidationFailed,
            Error::NotFound => ErrorCode::NotFound,
            Error::Forbidden(_) => ErrorCode::Forbidden,
            Error::Unauthorized => ErrorCode::Unauthorized,
            Error::InvalidCredentials => ErrorCode::InvalidCredentials,
            Error::UsernameTaken => ErrorCode::UsernameTaken,
            Error::TotpRequired => ErrorCode::TotpRequired,
            Error::TotpInvalid => ErrorCode::TotpInvalid,
            Error::WrongPassword => ErrorCode::WrongPassword,
            Error::AccountDisabled => ErrorCode::AccountDisabled,
            Error::SignupClosed => ErrorCode::SignupClosed,
            Error::InviteInvalid(_) => ErrorCode::InviteInvalid,
            Error::IdempotencyConflict => ErrorCode::IdempotencyConflict,
            Error::Conflict(_) => ErrorCode::Conflict,
            Error::RateLimited { .. } => ErrorCode::RateLimited,
            Error::PayloadTooLarge(_) => ErrorCode::PayloadTooLarge,
            Error::QuotaExceeded(_) => ErrorCode::QuotaExceeded,
            Error::OffsetMismatch { .. } => ErrorCode::OffsetMismatch,
            Error::UnsupportedMediaType(_) => ErrorCode::UnsupportedMediaType,
            Error::Database(error) if is_unavailable(error) => ErrorCode::Unavailable,
            Error::Database(_) | Error::Internal(_) => ErrorCode::Internal,
        }
    }
}

fn is_unavailable(error: &sqlx::Error) -> bool {
    matches!(
        error,
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_)
    )
}

/// True when the database refused a row because of a UNIQUE constraint.
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db_error) => db_error.is_unique_violation(),
        _ => false,
    }
}
