//! Fails fast while the database is away.
//!
//! Without it, every request during an outage would wait the whole acquire timeout for a
//! connection that cannot be made, and pile up. Once a request has answered
//! `503 database_unavailable`, requests for the next second are answered 503 at once,
//! except one at a time that goes through as a probe; the first answer that is not a 503
//! closes the breaker again. The acquire timeout can then be long enough to queue a rush
//! behind a busy pool without turning the queue into 503s.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long a 503 keeps the breaker open before the next probe is due anyway.
const OPEN_FOR: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
pub struct Breaker {
    /// Milliseconds since the epoch until which the breaker is open; 0 when closed.
    open_until_ms: AtomicU64,
    /// Whether a probe request is in flight.
    probing: AtomicBool,
}

/// What to do with a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Admission {
    /// The breaker is closed.
    Pass,
    /// The breaker is open and this request is the probe.
    Probe,
    /// The breaker is open: answer 503 now.
    Reject,
}

impl Breaker {
    pub fn admit(&self) -> Admission {
        self.admit_at(now_ms())
    }

    fn admit_at(&self, now: u64) -> Admission {
        let open_until = self.open_until_ms.load(Ordering::Acquire);
        if open_until == 0 {
            return Admission::Pass;
        }
        let due = now >= open_until;
        let won = self
            .probing
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        match (won, due) {
            (true, _) => Admission::Probe,
            // A probe hung past the window: let another through as well.
            (false, true) => Admission::Probe,
            (false, false) => Admission::Reject,
        }
    }

    /// Records how a request that reached the database ended.
    pub fn record(&self, admission: &Admission, database_unavailable: bool) {
        self.record_at(admission, database_unavailable, now_ms())
    }

    fn record_at(&self, admission: &Admission, database_unavailable: bool, now: u64) {
        if database_unavailable {
            let was = self
                .open_until_ms
                .swap(now + OPEN_FOR.as_millis() as u64, Ordering::AcqRel);
            if was == 0 {
                tracing::warn!("database unavailable; answering 503 at once for now");
            }
        } else if self.open_until_ms.swap(0, Ordering::AcqRel) != 0 {
            tracing::info!("database reachable again");
        }
        if *admission == Admission::Probe {
            self.probing.store(false, Ordering::Release);
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_until_a_503() {
        let b = Breaker::default();
        assert_eq!(b.admit_at(1_000), Admission::Pass);
        b.record_at(&Admission::Pass, false, 1_000);
        assert_eq!(b.admit_at(1_001), Admission::Pass);
    }

    #[test]
    fn open_lets_one_probe_through_and_closes_on_success() {
        let b = Breaker::default();
        b.record_at(&Admission::Pass, true, 1_000);
        let probe = b.admit_at(1_100);
        assert_eq!(probe, Admission::Probe);
        assert_eq!(b.admit_at(1_200), Admission::Reject);
        b.record_at(&probe, true, 1_300);
        // The failed probe re-opened it; the next one is allowed.
        let probe = b.admit_at(1_400);
        assert_eq!(probe, Admission::Probe);
        b.record_at(&probe, false, 1_500);
        assert_eq!(b.admit_at(1_600), Admission::Pass);
    }

    #[test]
    fn a_hung_probe_does_not_block_forever() {
        let b = Breaker::default();
        b.record_at(&Admission::Pass, true, 1_000);
        assert_eq!(b.admit_at(1_100), Admission::Probe);
        assert_eq!(b.admit_at(1_500), Admission::Reject);
        assert_eq!(b.admit_at(2_100), Admission::Probe);
    }
}
