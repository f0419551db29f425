//! Bounded waits: every loop of the test polls through one.

use std::fmt::Debug;
use std::time::{Duration, Instant};

use crate::{secs, POLL};

/// A bounded wait: [`Wait::tick`] sleeps one poll, and panics with what was last seen once
/// the time or the number of polls is used up.
pub(crate) struct Wait {
    what: String,
    started: Instant,
    limit: Duration,
    polls: u64,
}

impl Wait {
    pub(crate) fn new(what: impl Into<String>, limit_secs: u64) -> Wait {
        Wait {
            what: what.into(),
            started: Instant::now(),
            limit: secs(limit_secs),
            polls: 0,
        }
    }

    pub(crate) async fn tick(&mut self, last_seen: &impl Debug) {
        self.polls += 1;
        let max_polls = self.limit.as_millis() as u64 / POLL.as_millis() as u64 + 10;
        if self.started.elapsed() > self.limit || self.polls > max_polls {
            panic!(
                "{}: not within {:?} ({} polls); last seen: {last_seen:#?}",
                self.what, self.limit, self.polls
            );
        }
        tokio::time::sleep(POLL).await;
    }

    pub(crate) fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}
