//! Public endpoints: events and reservations.

use super::checkout::parse_id;
use super::{json, parse_body, AppState};
use crate::error::{ApiError, FieldError};
use crate::model::reservation::{check_request, ReservationRequest};
use crate::reserving::{self, MAX_KEY_LEN};
use crate::store::{events, reservations};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

pub async fn get_event(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    Ok(json(
        StatusCode::OK,
        events::event_doc(&state.pool, &slug).await?,
    ))
}

pub async fn create_reservation(
    State(state): State<AppState>,
    Path(event): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match reserve(&state, &event, &headers, &body).await {
        Ok((outcome, response)) => {
            state.metrics.reservation(&outcome);
            response
        }
        Err(e) => {
            state.metrics.reservation(e.code());
            e.into_response()
        }
    }
}

/// Returns the outcome to count (`created`, `replayed` or an error code) and the answer.
async fn reserve(
    state: &AppState,
    event: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(String, Response), ApiError> {
    let request: ReservationRequest = parse_body(body)?;
    let checked = check_request(&request)?;
    let key = match headers.get("idempotency-key").map(|v| v.to_str()) {
        None => None,
        Some(Ok(k)) if !k.is_empty() && k.len() <= MAX_KEY_LEN => Some(k.to_string()),
        Some(_) => {
            let error = FieldError::new("Idempotency-Key", "invalid");
            return Err(ApiError::Validation(vec![error]));
        }
    };
    let Some(key) = key else {
        let doc = reserving::reserve(&state.pool, event, &checked).await?;
        return Ok(("created".into(), json(StatusCode::CREATED, doc)));
    };
    let answer =
        reserving::reserve_idempotent(&state.pool, event, &key, &request, &checked).await?;
    let outcome = if answer.replayed {
        "replayed".to_string()
    } else if answer.status.is_success() {
        "created".to_string()
    } else {
        let body: serde_json::Value = serde_json::from_str(&answer.body).unwrap_or_default();
        body["code"].as_str().unwrap_or("error").to_string()
    };
    let content_type = if answer.status.is_success() {
        "application/json"
    } else {
        "application/problem+json"
    };
    let response = (
        answer.status,
        [(header::CONTENT_TYPE, content_type)],
        answer.body,
    )
        .into_response();
    Ok((outcome, response))
}

pub async fn get_reservation(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    Ok(json(
        StatusCode::OK,
        super::checkout::reservation_doc(&state, id).await?,
    ))
}

pub async fn cancel_reservation(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    match reservations::cancel(&state.pool, id).await?.as_str() {
        "cancelled" => {
            tracing::info!(reservation = %id, "reservation cancelled");
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        // Its time was already up: it is expired now, and was not cancellable.
        _ => Err(ApiError::Conflict("conflict")),
    }
}
