//! Background work every process runs: expired holds give their seats back, and so do
//! bank transfers past their payment deadline (voiding their invoices); held reservations
//! get their seat rows; old idempotency keys go.
//!
//! Both sweeps lock the reservations they work on with `SKIP LOCKED`, so any number of
//! processes run them against one database safely; each pass is bounded, so a backlog is
//! worked off in small transactions.

use std::future::Future;
use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::watch;

use crate::reserving::forget_old_keys;
use crate::store::checkout::expire_payments;
use crate::store::reservations::{assign_seats, expire_holds};

const EXPIRY_BATCH: i32 = 500;
const ASSIGN_BATCH: i32 = 200;
/// Most batches in one pass, so one pass never monopolises a connection.
const BATCHES_PER_PASS: usize = 20;

pub async fn run_expiry(pool: PgPool, interval: Duration, shutdown: watch::Receiver<bool>) {
    let mut passes = 0u64;
    every(interval, shutdown, || {
        passes += 1;
        let pool = pool.clone();
        let forget = passes.is_multiple_of(60);
        async move {
            for _ in 0..BATCHES_PER_PASS {
                match expire_holds(&pool, EXPIRY_BATCH).await {
                    Ok(0) => break,
                    Ok(n) => tracing::info!(expired = n, "expired holds"),
                    Err(e) => {
                        // The database is away or busy: the next pass tries again.
                        tracing::debug!(error = %e, "expiry sweep failed");
                        break;
                    }
                }
            }
            for _ in 0..BATCHES_PER_PASS {
                match expire_payments(&pool, i64::from(EXPIRY_BATCH)).await {
                    Ok(0) => break,
                    Ok(n) => tracing::info!(expired = n, "expired unpaid reservations"),
                    Err(e) => {
                        tracing::debug!(error = %e, "payment deadline sweep failed");
                        break;
                    }
                }
            }
            if forget {
                if let Err(e) = forget_old_keys(&pool).await {
                    tracing::debug!(error = %e, "could not delete old idempotency keys");
                }
            }
        }
    })
    .await
}

pub async fn run_seat_assignment(
    pool: PgPool,
    interval: Duration,
    shutdown: watch::Receiver<bool>,
) {
    every(interval, shutdown, || {
        let pool = pool.clone();
        async move {
            for _ in 0..BATCHES_PER_PASS {
                match assign_seats(&pool, ASSIGN_BATCH).await {
                    Ok(n) if n < ASSIGN_BATCH => break,
                    Ok(_) => {}
                    Err(e) if crate::db::is_unavailable(&e) => break,
                    Err(e) => {
                        tracing::error!(error = %e, "seat assignment failed");
                        break;
                    }
                }
            }
        }
    })
    .await
}

async fn every<F, Fut>(interval: Duration, mut shutdown: watch::Receiver<bool>, mut pass: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    loop {
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => return,
        }
        pass().await;
    }
}
