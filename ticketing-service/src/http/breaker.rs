//! Fails fast while the database is away.
//!
//! Without it, every request during an outage would wait the whole acquire timeout for a
//! connection that cannot be made, and pile up. Once a request has answered
//! `503 database_unavailable`, the breaker opens: every request is answered 503 at once,
//! and no request is made to wait as a probe. A background task asks the database
//! `SELECT 1` a few times a second, each try bounded by a short timeout, and closes the
//! breaker at the first answer. The acquire timeout can then be long enough to queue a
//! rush behind a busy pool without turning the queue into 503s.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;

/// How often the background probe tries the database while the breaker is open.
const PROBE_EVERY: Duration = Duration::from_millis(250);
/// How long one try may take before it counts as a failure.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
pub struct Breaker {
    open: AtomicBool,
    /// Whether the background probe runs (at most one per process).
    probing: AtomicBool,
}

impl Breaker {
    /// Whether requests that need the database may go through.
    pub fn is_closed(&self) -> bool {
        !self.open.load(Ordering::Acquire)
    }

    /// Records how a request that reached the database ended; the first
    /// `database_unavailable` opens the breaker and starts the probe.
    pub fn record(self: &Arc<Self>, database_unavailable: bool, pool: &PgPool) {
        if !database_unavailable {
            return;
        }
        if !self.open.swap(true, Ordering::AcqRel) {
            tracing::warn!("database unavailable; answering 503 at once until it answers");
        }
        if !self.probing.swap(true, Ordering::AcqRel) {
            tokio::spawn(self.clone().probe(pool.clone()));
        }
    }

    async fn probe(self: Arc<Self>, pool: PgPool) {
        let started = std::time::Instant::now();
        loop {
            tokio::time::sleep(PROBE_EVERY).await;
            let attempt = sqlx::query("SELECT 1").execute(&pool);
            if let Ok(Ok(_)) = tokio::time::timeout(PROBE_TIMEOUT, attempt).await {
                break;
            }
        }
        self.open.store(false, Ordering::Release);
        self.probing.store(false, Ordering::Release);
        tracing::info!(
            outage_ms = started.elapsed().as_millis() as u64,
            "database reachable again"
        );
    }
}

#[cfg(test)]
mod tests {
    use sqlx::postgres::PgPoolOptions;

    use super::*;

    #[tokio::test]
    async fn opens_on_the_first_unavailable_and_stays_open_while_nothing_answers() {
        // Port 1 on loopback: nothing listens, every connection is refused.
        let pool = PgPoolOptions::new()
            .acquire_timeout(Duration::from_millis(100))
            .connect_lazy("postgres://shop@127.0.0.1:1/shop")
            .expect("a lazy pool");
        let breaker = Arc::new(Breaker::default());
        breaker.record(false, &pool);
        assert!(
            breaker.is_closed(),
            "an answer that is not a 503 changes nothing"
        );
        breaker.record(true, &pool);
        assert!(!breaker.is_closed());
        tokio::time::sleep(PROBE_EVERY * 3).await;
        assert!(!breaker.is_closed(), "the probe found no database");
        assert!(breaker.probing.load(Ordering::Acquire));
    }
}
