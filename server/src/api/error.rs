//! Turns every failure, from the domain or from axum's extractors, into a JSON error body with
//! a stable code and the right status. Internal details are logged, never returned.

use axum::{
    extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use natter_protocol::{ErrorBody, ErrorCode, ErrorDetail};

use crate::error::Error;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub message: String,
    pub retry_after_secs: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after_secs: None,
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        let code = error.code();
        let status = match code {
            ErrorCode::InvalidJson | ErrorCode::InvalidParameter => StatusCode::BAD_REQUEST,
            ErrorCode::ValidationFailed => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::Unauthorized | ErrorCode::InvalidCredentials => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden
            | ErrorCode::TotpRequired
            | ErrorCode::TotpInvalid
            | ErrorCode::WrongPassword
            | ErrorCode::AccountDisabled
            | ErrorCode::SignupClosed
            | ErrorCode::InviteInvalid => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::UsernameTaken
            | ErrorCode::IdempotencyConflict
            | ErrorCode::Conflict
            | ErrorCode::OffsetMismatch => StatusCode::CONFLICT,
            ErrorCode::PayloadTooLarge | ErrorCode::QuotaExceeded => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let message = match &error {
            Error::Database(inner) => {
                tracing::error!(error = %inner, "database error");
                "the server could not complete the request; try again".to_owned()
            }
            Error::Internal(inner) => {
                tracing::error!(error = format!("{inner:#}"), "internal error");
                "the server could not complete the request; try again".to_owned()
            }
            other => other.to_string(),
        };
        ApiError {
            status,
            code,
            message,
            retry_after_secs: match error {
                Error::RateLimited { retry_after_secs } => Some(retry_after_secs),
                _ => None,
            },
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::UnsupportedMediaType,
                "expected Content-Type: application/json",
            ),
            JsonRejection::BytesRejection(bytes) => ApiError::from(bytes),
            other => ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidJson,
                other.body_text(),
            ),
        }
    }
}

impl From<BytesRejection> for ApiError {
    fn from(rejection: BytesRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::PayloadTooLarge,
                "the request body is too large",
            )
        } else {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidJson,
                rejection.body_text(),
            )
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidParameter,
            rejection.body_text(),
        )
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidParameter,
            rejection.body_text(),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
            },
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(seconds) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.status == StatusCode::PAYLOAD_TOO_LARGE {
            // The rest of the body was never read, so the connection cannot carry another
            // request; say so, or a keep-alive client would send its next request into it.
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"natter\""),
            );
        }
        response
    }
}
