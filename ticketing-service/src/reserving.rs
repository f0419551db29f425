//! Creating a reservation: retries, lazy expiry, and `Idempotency-Key` replays.

use std::time::Duration;

use axum::http::StatusCode;
use sha2::{Digest, Sha256};
use sqlx::{Acquire, PgPool};
use uuid::Uuid;

use crate::db::{is_retryable, needs_rebalance};
use crate::error::ApiError;
use crate::model::reservation::{CheckedRequest, ReservationDoc, ReservationRequest};
use crate::store::reservations as store;

/// How often a deadlock or serialization failure is retried before answering 503.
const ATTEMPTS: u32 = 5;

/// How often a request may gather a category's last seats into fewer stripes and try again.
/// Each time it has to, other reservations took seats meanwhile, so this bounds a race that
/// is always making progress; after the second, the request waits for busy stripes.
const REBALANCES: u32 = 32;

/// Longest `Idempotency-Key` accepted.
pub const MAX_KEY_LEN: usize = 200;

/// An answer that can be stored and replayed as it was.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    /// The body exactly as first sent, so a replay is byte for byte the same.
    pub body: String,
    /// Whether this is the stored answer of an earlier request with the same key.
    pub replayed: bool,
}

/// Holds seats without an idempotency key: one statement, retried on contention. When too
/// few seats are left, the event's expired holds are swept first and the request tried once
/// more, so seats come back the moment anyone asks for them.
pub async fn reserve(
    pool: &PgPool,
    event: &str,
    request: &CheckedRequest,
) -> Result<ReservationDoc, ApiError> {
    let mut swept = false;
    let mut attempt = 1;
    let mut rebalances = 0;
    loop {
        let id = new_reservation_id();
        let wait = rebalances >= 2;
        match store::reserve(pool, event, id, request, wait).await {
            Ok(expires_at) => return Ok(ReservationDoc::held(id, event, request, expires_at)),
            Err(ApiError::NotEnoughSeats) if !swept => {
                swept = true;
                if store::expire_event_holds(pool, event).await? == 0 {
                    return Err(ApiError::NotEnoughSeats);
                }
            }
            Err(e) if needs_rebalance(&e) && rebalances < REBALANCES => {
                rebalances += 1;
                store::rebalance(pool, event, request).await?;
            }
            Err(e) if is_retryable(&e) && attempt < ATTEMPTS => {
                attempt += 1;
                backoff(attempt).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Holds seats under an `Idempotency-Key`, or replays the answer the key already has.
///
/// The key row is claimed inside the reservation's transaction, so a concurrent duplicate's
/// insert waits on it and then reads the committed answer. The reservation itself runs in a
/// savepoint so that a refused request (412, 422) still records its answer.
pub async fn reserve_idempotent(
    pool: &PgPool,
    event: &str,
    key: &str,
    request: &ReservationRequest,
    checked: &CheckedRequest,
) -> Result<Answer, ApiError> {
    let hash = request_hash(request);
    let mut attempt = 1;
    loop {
        match try_reserve_idempotent(pool, event, key, &hash, checked).await {
            Err(e) if is_retryable(&e) && attempt < ATTEMPTS => {
                attempt += 1;
                backoff(attempt).await;
            }
            other => return other,
        }
    }
}

async fn try_reserve_idempotent(
    pool: &PgPool,
    event: &str,
    key: &str,
    hash: &[u8],
    checked: &CheckedRequest,
) -> Result<Answer, ApiError> {
    let mut tx = pool.begin().await?;
    let event_id: i64 = sqlx::query_scalar("SELECT id FROM events WHERE slug = $1")
        .bind(event)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(ApiError::NotFound("event_not_found"))?;

    // Claim the key, or take over one older than 24 hours.
    let claimed: Option<bool> = sqlx::query_scalar(
        "INSERT INTO idempotency_keys (event_id, key, request_hash) VALUES ($1, $2, $3) \
         ON CONFLICT (event_id, key) DO UPDATE \
           SET request_hash = EXCLUDED.request_hash, status = NULL, body = NULL, \
               created_at = now() \
           WHERE idempotency_keys.created_at < now() - interval '24 hours' \
         RETURNING true",
    )
    .bind(event_id)
    .bind(key)
    .bind(hash)
    .fetch_optional(&mut *tx)
    .await?;
    if claimed.is_none() {
        let (stored_hash, status, body): (Vec<u8>, Option<i32>, Option<String>) = sqlx::query_as(
            "SELECT request_hash, status, body FROM idempotency_keys \
                 WHERE event_id = $1 AND key = $2",
        )
        .bind(event_id)
        .bind(key)
        .fetch_one(&mut *tx)
        .await?;
        if stored_hash != hash {
            return Err(ApiError::IdempotencyKeyReused);
        }
        let (Some(status), Some(body)) = (status, body) else {
            return Err(ApiError::Internal(
                "idempotency key stored without answer".into(),
            ));
        };
        let status = StatusCode::from_u16(status as u16)
            .map_err(|_| ApiError::Internal(format!("stored status {status} invalid")))?;
        return Ok(Answer {
            status,
            body,
            replayed: true,
        });
    }

    let mut swept = false;
    let mut rebalances = 0;
    let outcome = loop {
        let mut savepoint = (&mut *tx).begin().await?;
        let id = new_reservation_id();
        let wait = rebalances >= 2;
        match store::reserve(&mut *savepoint, event, id, checked, wait).await {
            Ok(expires_at) => {
                savepoint.commit().await?;
                break Ok(ReservationDoc::held(id, event, checked, expires_at));
            }
            Err(e) if e.status().is_client_error() => {
                savepoint.rollback().await?;
                if matches!(e, ApiError::NotEnoughSeats) && !swept {
                    swept = true;
                    let expired: Option<i32> = sqlx::query_scalar(
                        "SELECT expire_holds(id, 1000) FROM events WHERE slug = $1",
                    )
                    .bind(event)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if expired.unwrap_or(0) > 0 {
                        continue;
                    }
                }
                break Err(e);
            }
            // In this transaction the rebalance's locks are held until the reservation
            // commits, which serialises a few requests but never waits while holding one.
            Err(e) if needs_rebalance(&e) && rebalances < REBALANCES => {
                savepoint.rollback().await?;
                rebalances += 1;
                store::rebalance(&mut *tx, event, checked).await?;
            }
            Err(e) => return Err(e),
        }
    };
    let answer = match outcome {
        Ok(doc) => Answer {
            status: StatusCode::CREATED,
            body: serde_json::to_string(&doc).map_err(|e| ApiError::Internal(e.to_string()))?,
            replayed: false,
        },
        Err(e) => Answer {
            status: e.status(),
            body: e.body().to_string(),
            replayed: false,
        },
    };
    sqlx::query(
        "UPDATE idempotency_keys SET status = $3, body = $4 WHERE event_id = $1 AND key = $2",
    )
    .bind(event_id)
    .bind(key)
    .bind(answer.status.as_u16() as i32)
    .bind(&answer.body)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(answer)
}

/// What makes two requests "the same body": the parsed request, so whitespace and key
/// order do not matter.
pub fn request_hash(request: &ReservationRequest) -> Vec<u8> {
    // Serialising a struct of strings and integers cannot fail.
    let canonical = serde_json::to_vec(request).unwrap_or_default();
    Sha256::digest(&canonical).to_vec()
}

/// Deletes keys older than 24 hours; returns how many.
pub async fn forget_old_keys(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "DELETE FROM idempotency_keys WHERE ctid IN (SELECT ctid FROM idempotency_keys \
         WHERE created_at < now() - interval '24 hours' LIMIT 1000)",
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// Reservation ids are UUIDv7: time-ordered, so new rows land at the right end of the
/// primary key index instead of on random pages, and still carry 74 random bits, so an id
/// cannot be guessed from another.
fn new_reservation_id() -> Uuid {
    Uuid::now_v7()
}

async fn backoff(attempt: u32) {
    let jitter = rand::random::<u64>() % 5;
    tokio::time::sleep(Duration::from_millis(u64::from(attempt) * 5 + jitter)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_request_same_hash_whatever_the_spacing() {
        let a: ReservationRequest =
            serde_json::from_str(r#"{"items":[{"category":"a","quantity":2}]}"#).unwrap();
        let b: ReservationRequest = serde_json::from_str(
            r#"{ "items" : [ { "quantity" : 2, "category" : "a" } ] , "email": null }"#,
        )
        .unwrap();
        let c: ReservationRequest =
            serde_json::from_str(r#"{"items":[{"category":"a","quantity":3}]}"#).unwrap();
        assert_eq!(request_hash(&a), request_hash(&b));
        assert_ne!(request_hash(&a), request_hash(&c));
    }
}
