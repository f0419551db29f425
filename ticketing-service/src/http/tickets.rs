//! Tickets: reading them, their QR code and PDF, the key scanners verify them with,
//! check-in and the attendee list.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use ed25519_dalek::SigningKey;
use serde::Deserialize;
use tokio::sync::OnceCell;

use super::{json, parse_body, AppState};
use crate::checkout::{csv, signing};
use crate::error::ApiError;
use crate::render;
use crate::store::events::{find_event, StoredEvent};
use crate::store::{settings, tickets};
use crate::time::format_time;

/// The master secret event keys are derived from: the configured `TICKET_SIGNING_KEY`, or
/// the one stored in the database, read once.
#[derive(Default)]
pub struct SigningMaster {
    configured: Option<Vec<u8>>,
    stored: OnceCell<Vec<u8>>,
}

impl SigningMaster {
    pub fn new(configured: Option<&str>) -> Self {
        SigningMaster {
            configured: configured
                .filter(|k| !k.is_empty())
                .map(|k| k.as_bytes().to_vec()),
            stored: OnceCell::new(),
        }
    }

    async fn event_key(&self, state: &AppState, event_id: i64) -> Result<SigningKey, ApiError> {
        let master = match &self.configured {
            Some(m) => m,
            None => {
                self.stored
                    .get_or_try_init(|| settings::signing_master(&state.pool))
                    .await?
            }
        };
        Ok(signing::event_key(master, event_id))
    }
}

async fn event(state: &AppState, slug: &str) -> Result<StoredEvent, ApiError> {
    find_event(&mut *state.pool.acquire().await?, slug).await
}

async fn payload(state: &AppState, ticket: &tickets::TicketDoc) -> Result<String, ApiError> {
    let key = state.signing.event_key(state, ticket.event_id).await?;
    Ok(signing::payload(&key, &ticket.event, &ticket.code))
}

pub async fn get_ticket(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    let ticket = tickets::find(&state.pool, &code).await?;
    let mut doc = serde_json::to_value(&ticket).map_err(|e| ApiError::Internal(e.to_string()))?;
    doc["qr"] = serde_json::json!(payload(&state, &ticket).await?);
    Ok(json(StatusCode::OK, doc))
}

pub async fn ticket_qr(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    let ticket = tickets::find(&state.pool, &code).await?;
    let svg = render::qr::svg(&payload(&state, &ticket).await?)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response())
}

pub async fn ticket_pdf(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    let ticket = tickets::find(&state.pool, &code).await?;
    let event = event(&state, &ticket.event).await?;
    let payload = payload(&state, &ticket).await?;
    let zone = event.settings.timezone;
    let starts = event.settings.times.starts_at.map(|t| {
        t.with_timezone(&zone)
            .format("%A %e %B %Y, %H:%M (%Z)")
            .to_string()
    });
    let sheet = render::pdf::TicketSheet {
        event_name: &event.settings.name,
        starts,
        venue: event.settings.venue.as_deref(),
        category: &ticket.category,
        seat: ticket.seat,
        attendee: format!(
            "{} {}",
            ticket.attendee.first_name, ticket.attendee.last_name
        ),
        code: &ticket.code,
        payload: &payload,
    };
    let pdf = render::pdf::ticket(&sheet).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, "application/pdf")], pdf).into_response())
}

pub async fn checkin_key(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    let event = event(&state, &slug).await?;
    let key = state.signing.event_key(&state, event.id).await?;
    Ok(json(
        StatusCode::OK,
        serde_json::json!({
            "event": event.slug,
            "algorithm": "Ed25519",
            "publicKey": signing::public_key_text(&key),
            "encoding": "base64url",
            "payload": "<code>.<base64url signature>",
            "signedMessage": format!("boxoffice-ticket:v1:{}:<code>", event.slug),
        }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scan {
    code: String,
}

/// Checks a ticket in: the bare code or the QR payload (whose signature must hold).
pub async fn check_in(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Scan { code } = parse_body(&body)?;
    let event = event(&state, &slug).await?;
    let scan = signing::read_scan(&code);
    let ticket = tickets::find(&state.pool, scan.code).await?;
    if let Some(signature) = scan.signature {
        let key = state.signing.event_key(&state, ticket.event_id).await?;
        let genuine = signing::verify(&key.verifying_key(), &ticket.event, &ticket.code, signature);
        if !genuine {
            return Err(ApiError::NotFound("ticket_not_found"));
        }
    }
    refuse(&event, &ticket)?;

    let Some(at) = tickets::check_in(&state.pool, &ticket.code).await? else {
        // Someone else's scan won, or the ticket changed meanwhile: say which.
        let now = tickets::find(&state.pool, &ticket.code).await?;
        refuse(&event, &now)?;
        return Err(ApiError::Internal(
            "check-in refused without a reason".into(),
        ));
    };
    tracing::info!(event = %slug, ticket = %ticket.code, "checked in");
    let mut doc = serde_json::to_value(&ticket).map_err(|e| ApiError::Internal(e.to_string()))?;
    doc["checkedInAt"] = serde_json::json!(format_time(at));
    Ok(json(StatusCode::OK, doc))
}

/// Why a ticket may not enter now, if it may not.
fn refuse(event: &StoredEvent, ticket: &tickets::TicketDoc) -> Result<(), ApiError> {
    if ticket.event_id != event.id {
        return Err(ApiError::NotValidForEntry("other_event"));
    }
    match ticket.status.as_str() {
        "cancelled" => return Err(ApiError::NotValidForEntry("cancelled")),
        "paymentDue" => return Err(ApiError::NotValidForEntry("payment_due")),
        _ => {}
    }
    let now = chrono::Utc::now();
    let times = &event.settings.times;
    let early = times.check_in_opens_at.is_some_and(|t| now < t);
    let late = times.check_in_closes_at.is_some_and(|t| now >= t);
    if early || late {
        return Err(ApiError::NotValidForEntry("outside_window"));
    }
    if let Some(at) = ticket.checked_in {
        return Err(ApiError::AlreadyCheckedIn(format_time(at)));
    }
    Ok(())
}

/// Every ticket of the event as CSV, cancelled ones included, for the door and the
/// organizer.
pub async fn attendees_csv(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    let event = event(&state, &slug).await?;
    let mut out = csv::line(&[
        "code",
        "category",
        "seat",
        "firstName",
        "lastName",
        "email",
        "status",
        "checkedInAt",
        "reservation",
    ]);
    for t in tickets::of_event(&state.pool, event.id).await? {
        out.push_str(&csv::line(&[
            t.code.as_str(),
            &t.category,
            &t.seat.to_string(),
            &t.attendee.first_name,
            &t.attendee.last_name,
            t.attendee.email.as_deref().unwrap_or_default(),
            &t.status,
            t.checked_in_at.as_deref().unwrap_or_default(),
            &t.reservation.to_string(),
        ]));
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"attendees.csv\"",
            ),
        ],
        out,
    )
        .into_response())
}
