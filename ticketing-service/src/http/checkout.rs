//! Public checkout endpoints: buyer details, confirmation, the reservation's invoice and
//! credit note.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::{json, parse_body, AppState};
use crate::checkout::contact::{check_contact, Contact};
use crate::error::ApiError;
use crate::model::reservation::ReservationDoc;
use crate::render;
use crate::store::{checkout, confirm, invoices, reservations, tickets};

/// Reservation ids are UUIDs; anything else cannot name one.
pub fn parse_id(id: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id).map_err(|_| ApiError::NotFound("reservation_not_found"))
}

/// The reservation document with its payment and tickets.
pub async fn reservation_doc(state: &AppState, id: Uuid) -> Result<ReservationDoc, ApiError> {
    let mut doc = reservations::find(&state.pool, id).await?;
    doc.payment = checkout::payment_doc(&state.pool, id).await?;
    doc.tickets = tickets::of_reservation(&state.pool, id)
        .await?
        .into_iter()
        .filter(|t| t.status != "cancelled")
        .map(|t| {
            serde_json::json!({"code": t.code, "category": t.category, "seat": t.seat,
                               "attendee": t.attendee, "status": t.status})
        })
        .collect();
    Ok(doc)
}

pub async fn put_contact(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let contact: Contact = parse_body(&body)?;
    let contact = check_contact(contact).map_err(ApiError::Validation)?;
    checkout::save_contact(&state.pool, id, &contact).await?;
    tracing::info!(reservation = %id, invoice = contact.invoice.is_some(), "contact saved");
    Ok(json(StatusCode::OK, reservation_doc(&state, id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Confirmation {
    payment: String,
}

pub async fn confirm(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let Confirmation { payment } = parse_body(&body)?;
    confirm::confirm_reservation(&state.pool, &state.payments, id, &payment).await?;
    let doc = reservation_doc(&state, id).await?;
    tracing::info!(reservation = %id, %payment, status = %doc.status, "reservation confirmed");
    Ok(json(StatusCode::OK, doc))
}

/// `invoice.html`, `invoice.pdf`, `credit-note.html`, `credit-note.pdf`.
pub async fn document(
    State(state): State<AppState>,
    Path((id, file)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let (kind, format) = match file.as_str() {
        "invoice.html" => (invoices::INVOICE, "html"),
        "invoice.pdf" => (invoices::INVOICE, "pdf"),
        "credit-note.html" => (invoices::CREDIT_NOTE, "html"),
        "credit-note.pdf" => (invoices::CREDIT_NOTE, "pdf"),
        _ => return Err(ApiError::NotFound("not_found")),
    };
    let doc = invoices::of_reservation(&state.pool, id, kind).await?;
    render_document(&doc, format)
}

/// An invoice or credit note as HTML or PDF.
pub fn render_document(doc: &invoices::Document, format: &str) -> Result<Response, ApiError> {
    if format == "html" {
        return Ok((
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            render::html::document(doc),
        )
            .into_response());
    }
    let pdf = render::pdf::document(doc).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, "application/pdf")], pdf).into_response())
}
