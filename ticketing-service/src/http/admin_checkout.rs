//! Admin checkout endpoints: settings, payments, cancellation, invoices.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::checkout::{parse_id, render_document, reservation_doc};
use super::{json, parse_body, AppState};
use crate::error::ApiError;
use crate::store::events::find_event;
use crate::store::settings::SettingsInput;
use crate::store::{checkout, invoices, settings};

pub async fn get_settings(State(state): State<AppState>) -> Result<Response, ApiError> {
    let s = settings::get(&mut *state.pool.acquire().await?).await?;
    Ok(json(StatusCode::OK, s))
}

pub async fn put_settings(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let input: SettingsInput = parse_body(&body)?;
    let s = settings::update(&state.pool, input).await?;
    tracing::info!("settings updated");
    Ok(json(StatusCode::OK, s))
}

pub async fn mark_paid(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    checkout::mark_paid(&state.pool, id).await?;
    tracing::info!(reservation = %id, "reservation marked paid");
    Ok(json(StatusCode::OK, reservation_doc(&state, id).await?))
}

pub async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    checkout::cancel(&state.pool, id).await?;
    tracing::info!(reservation = %id, "reservation cancelled by an admin");
    Ok(json(StatusCode::OK, reservation_doc(&state, id).await?))
}

pub async fn list_invoices(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    let event = find_event(&mut *state.pool.acquire().await?, &slug).await?;
    let list = invoices::list(&state.pool, event.id).await?;
    Ok(json(
        StatusCode::OK,
        serde_json::json!({ "invoices": list }),
    ))
}

/// `/admin/v1/invoices/{id}.html` or `.pdf`: any document, voided ones included.
pub async fn document(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::NotFound("invoice_not_found");
    let (id, format) = file.rsplit_once('.').ok_or_else(not_found)?;
    let id: i64 = id.parse().map_err(|_| not_found())?;
    if !matches!(format, "html" | "pdf") {
        return Err(not_found());
    }
    let doc = invoices::by_id(&state.pool, id).await?;
    render_document(&doc, format)
}
