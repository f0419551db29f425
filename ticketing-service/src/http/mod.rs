//! The HTTP layer: routes, shared state, authentication, metrics and request logging.

mod admin;
mod admin_checkout;
mod breaker;
mod checkout;
mod ops;
mod public;
mod tickets;

pub use tickets::SigningMaster;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sqlx::PgPool;

use crate::checkout::payment::Payments;
use crate::error::{ApiError, DatabaseDown};
use crate::metrics::{Metrics, RequestLabels, RouteLabels};

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub admin_token: Arc<str>,
    pub metrics: Arc<Metrics>,
    /// Set once the schema is known to be migrated.
    pub ready: Arc<AtomicBool>,
    pub breaker: Arc<breaker::Breaker>,
    /// The ways to pay a confirmation.
    pub payments: Arc<Payments>,
    /// Where ticket signing keys come from.
    pub signing: Arc<SigningMaster>,
}

pub fn router(state: AppState) -> Router {
    let admin = Router::new()
        .route("/events", post(admin::create_event))
        .route("/events/{event}", axum::routing::patch(admin::patch_event))
        .route(
            "/events/{event}/categories/{category}/seats",
            post(admin::add_seats),
        )
        .route("/events/{event}/stats", get(admin::stats))
        .route(
            "/events/{event}/invoices",
            get(admin_checkout::list_invoices),
        )
        .route("/events/{event}/check-ins", post(tickets::check_in))
        .route("/events/{event}/attendees.csv", get(tickets::attendees_csv))
        .route(
            "/settings",
            get(admin_checkout::get_settings).put(admin_checkout::put_settings),
        )
        .route(
            "/reservations/{id}/mark-paid",
            post(admin_checkout::mark_paid),
        )
        .route("/reservations/{id}/cancel", post(admin_checkout::cancel))
        .route("/invoices/{file}", get(admin_checkout::document))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_admin))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            guard_database,
        ));
    let public = Router::new()
        .route("/events/{event}", get(public::get_event))
        .route(
            "/events/{event}/reservations",
            post(public::create_reservation),
        )
        .route(
            "/reservations/{id}",
            get(public::get_reservation).delete(public::cancel_reservation),
        )
        .route("/reservations/{id}/contact", put(checkout::put_contact))
        .route("/reservations/{id}/confirm", post(checkout::confirm))
        .route("/reservations/{id}/{file}", get(checkout::document))
        .route("/events/{event}/checkin-key", get(tickets::checkin_key))
        .route("/tickets/{code}", get(tickets::get_ticket))
        .route("/tickets/{code}/qr.svg", get(tickets::ticket_qr))
        .route("/tickets/{code}/ticket.pdf", get(tickets::ticket_pdf))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            guard_database,
        ));
    Router::new()
        .nest("/admin/v1", admin)
        .nest("/api/v1", public)
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .fallback(not_found)
        .layer(middleware::from_fn(framework_errors_as_problems))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

/// Largest request body: a contact for the largest reservation, one attendee a seat.
const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

async fn not_found() -> ApiError {
    ApiError::NotFound("not_found")
}

/// The router's own refusals (a wrong method, a body over the limit) answer in the API's
/// problem format like every other error.
async fn framework_errors_as_problems(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let is_problem = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"application/problem+json"));
    let mut response = match response.status() {
        _ if is_problem => response,
        axum::http::StatusCode::METHOD_NOT_ALLOWED => {
            let mut problem = ApiError::MethodNotAllowed.into_response();
            if let Some(allow) = response.headers().get(axum::http::header::ALLOW) {
                problem
                    .headers_mut()
                    .insert(axum::http::header::ALLOW, allow.clone());
            }
            problem
        }
        axum::http::StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge.into_response(),
        _ => response,
    };
    if response.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        // The rest of the body was never read, so the connection cannot carry another
        // request: say so, or a client reusing it loses its next request.
        response.headers_mut().insert(
            axum::http::header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
    }
    response
}

/// Counts and times every request by its route template, and logs server errors.
async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = request.method().to_string();
    let start = Instant::now();
    let response = next.run(request).await;
    let elapsed = start.elapsed();
    let status = response.status().as_u16();
    state
        .metrics
        .requests
        .get_or_create(&RequestLabels {
            route: route.clone(),
            method: method.clone(),
            status,
        })
        .inc();
    state
        .metrics
        .latency
        .get_or_create(&RouteLabels {
            route: route.clone(),
        })
        .observe(elapsed.as_secs_f64());
    if status >= 500 {
        tracing::warn!(%method, %route, status, elapsed_ms = elapsed.as_millis() as u64, "request failed");
    } else {
        tracing::debug!(%method, %route, status, elapsed_ms = elapsed.as_millis() as u64, "request");
    }
    response
}

/// Routes that use the database go through the breaker (see [`breaker`]).
async fn guard_database(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if !state.breaker.is_closed() {
        return ApiError::DatabaseUnavailable("the database was unreachable a moment ago".into())
            .into_response();
    }
    let response = next.run(request).await;
    let unavailable = response.extensions().get::<DatabaseDown>().is_some();
    state.breaker.record(unavailable, &state.pool);
    response
}

/// Admin routes need `Authorization: Bearer <ADMIN_TOKEN>`.
async fn require_admin(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: Request,
    next: Next,
) -> Response {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if constant_time_eq(given.as_bytes(), state.admin_token.as_bytes()) {
        next.run(request).await
    } else {
        ApiError::Unauthorized.into_response()
    }
}

/// Compares without stopping at the first difference, so timing does not leak the token.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() || b.is_empty() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Parses a JSON body whatever its content type; anything unreadable is `malformed_body`.
pub fn parse_body<T: DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::MalformedBody(e.to_string()))
}

/// A JSON answer with a status.
pub fn json<T: Serialize>(status: StatusCode, value: T) -> Response {
    (status, Json(value)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_comparison() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secreT", b"secret"));
        assert!(!constant_time_eq(b"secret1", b"secret"));
        assert!(!constant_time_eq(b"", b""));
    }
}
