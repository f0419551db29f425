//! Admin endpoints (behind the bearer token): events, seats, statistics.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::{json, parse_body, AppState};
use crate::error::{ApiError, FieldError};
use crate::model::event::{
    validate_new_event, validate_patch, CreateEvent, PatchEvent, MAX_SEATS_PER_REQUEST,
};
use crate::store::events as store;

pub async fn create_event(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let input: CreateEvent = parse_body(&body)?;
    let event = validate_new_event(input).map_err(ApiError::Validation)?;
    store::create_event(&state.pool, &event).await?;
    tracing::info!(event = %event.slug, categories = event.categories.len(), "event created");
    Ok(json(
        StatusCode::CREATED,
        store::event_doc(&state.pool, &event.slug).await?,
    ))
}

pub async fn patch_event(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let patch: PatchEvent = parse_body(&body)?;
    let current = store::find_event(&mut *state.pool.acquire().await?, &slug).await?;
    let settings = validate_patch(current.settings, patch).map_err(ApiError::Validation)?;
    store::update_settings(&state.pool, current.id, &settings).await?;
    tracing::info!(event = %slug, "event updated");
    Ok(json(
        StatusCode::OK,
        store::event_doc(&state.pool, &slug).await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddSeats {
    add: i64,
}

pub async fn add_seats(
    State(state): State<AppState>,
    Path((event, category)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let AddSeats { add } = parse_body(&body)?;
    if !(1..=MAX_SEATS_PER_REQUEST).contains(&add) {
        return Err(ApiError::Validation(vec![FieldError::new(
            "add",
            "out_of_range",
        )]));
    }
    // In range: checked above.
    let doc = store::add_seats(&state.pool, &event, &category, add as i32).await?;
    tracing::info!(%event, %category, added = add, "seats added");
    Ok(json(StatusCode::OK, doc))
}

pub async fn stats(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    let event = store::find_event(&mut *state.pool.acquire().await?, &slug).await?;
    let categories = store::stats(&state.pool, event.id).await?;
    Ok(json(
        StatusCode::OK,
        serde_json::json!({ "categories": categories }),
    ))
}
