//! API errors and their `application/problem+json` form.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A field that failed validation, as listed in a `validation_failed` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub code: &'static str,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: &'static str) -> Self {
        FieldError {
            field: field.into(),
            code,
        }
    }
}

/// Every way a request can fail, each with the code of the API contract.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("not enough seats")]
    NotEnoughSeats,
    #[error("rule broken: {0}")]
    Rule(&'static str),
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("idempotency key reused with another body")]
    IdempotencyKeyReused,
    #[error("malformed body: {0}")]
    MalformedBody(String),
    #[error("not found: {0}")]
    NotFound(&'static str),
    #[error("unauthorized")]
    Unauthorized,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// A second scan of a ticket; carries when the first one checked it in.
    #[error("already checked in at {0}")]
    AlreadyCheckedIn(String),
    /// A ticket that may not enter, with the reason (`cancelled`, `payment_due`,
    /// `other_event`, `outside_window`).
    #[error("not valid for entry: {0}")]
    NotValidForEntry(&'static str),
    #[error("database unavailable: {0}")]
    DatabaseUnavailable(String),
    /// A deadlock or serialization failure: worth running again; answered like an outage
    /// (503 with `Retry-After`) if retries run out.
    #[error("transaction conflict: {0}")]
    Contention(String),
    #[error("internal error: {0}")]
    Internal(String),
}

/// Seconds a client should wait before retrying while the database is away.
const RETRY_AFTER_SECONDS: &str = "1";

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::NotEnoughSeats => StatusCode::PRECONDITION_FAILED,
            ApiError::Rule(_)
            | ApiError::Validation(_)
            | ApiError::IdempotencyKeyReused
            | ApiError::NotValidForEntry(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::MalformedBody(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Conflict(_) | ApiError::AlreadyCheckedIn(_) => StatusCode::CONFLICT,
            ApiError::DatabaseUnavailable(_) | ApiError::Contention(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::NotEnoughSeats => "not_enough_seats",
            ApiError::Rule(code) | ApiError::NotFound(code) => code,
            ApiError::Validation(_) => "validation_failed",
            ApiError::IdempotencyKeyReused => "idempotency_key_reused",
            ApiError::MalformedBody(_) => "malformed_body",
            ApiError::Unauthorized => "unauthorized",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::Conflict(_) => "conflict",
            ApiError::AlreadyCheckedIn(_) => "already_checked_in",
            ApiError::NotValidForEntry(_) => "not_valid_for_entry",
            ApiError::DatabaseUnavailable(_) | ApiError::Contention(_) => "database_unavailable",
            ApiError::Internal(_) => "internal_error",
        }
    }

    fn title(&self) -> &'static str {
        match self.code() {
            "not_enough_seats" => "Not enough seats",
            "over_maximum" => "Too many tickets in one reservation",
            "unknown_category" => "Unknown category",
            "invalid_quantity" => "Invalid quantity",
            "sale_not_open" => "The sale has not opened yet",
            "sale_closed" => "The sale is closed",
            "validation_failed" => "Validation failed",
            "idempotency_key_reused" => "Idempotency key reused with another request",
            "malformed_body" => "Malformed request body",
            "event_not_found" => "Event not found",
            "reservation_not_found" => "Reservation not found",
            "ticket_not_found" => "Ticket not found",
            "not_found" => "Not found",
            "invoice_not_found" => "Invoice not found",
            "already_checked_in" => "Already checked in",
            "not_valid_for_entry" => "Not valid for entry",
            "unauthorized" => "Unauthorized",
            "method_not_allowed" => "Method not allowed",
            "payload_too_large" => "Request body too large",
            "conflict" => "Conflict",
            "database_unavailable" => "Database unavailable",
            _ => "Internal error",
        }
    }

    /// The problem document, also what an idempotent replay stores.
    pub fn body(&self) -> serde_json::Value {
        let code = self.code();
        let mut body = serde_json::json!({
            "type": format!("https://boxoffice.dev/problems/{code}"),
            "title": self.title(),
            "status": self.status().as_u16(),
            "code": code,
        });
        match self {
            ApiError::Validation(errors) => body["errors"] = serde_json::json!(errors),
            ApiError::MalformedBody(detail) => body["detail"] = serde_json::json!(detail),
            ApiError::AlreadyCheckedIn(at) => body["checkedInAt"] = serde_json::json!(at),
            ApiError::NotValidForEntry(reason) => body["reason"] = serde_json::json!(reason),
            _ => {}
        }
        body
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            ApiError::Internal(detail) => tracing::error!(error = %detail, "request failed"),
            ApiError::DatabaseUnavailable(detail) | ApiError::Contention(detail) => {
                tracing::warn!(error = %detail, "database unavailable")
            }
            _ => {}
        }
        let mut response = problem_response(self.status(), &self.body());
        if matches!(self, ApiError::DatabaseUnavailable(_)) {
            // Tells the breaker this 503 is the database being away, not contention.
            response.extensions_mut().insert(DatabaseDown);
        }
        if self.status() == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_static(RETRY_AFTER_SECONDS),
            );
        }
        response
    }
}

/// Marks a response answered because the database could not be reached.
#[derive(Debug, Clone, Copy)]
pub struct DatabaseDown;

/// A response carrying a problem document (or a stored one, on replay).
pub fn problem_response(status: StatusCode, body: &serde_json::Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        crate::db::classify(error)
    }
}
