//! Bounded waits, and the timings the suite prints as it goes.

use std::fmt::Debug;
use std::future::Future;
use std::time::{Duration, Instant};

/// How often a wait looks again.
pub const POLL: Duration = Duration::from_millis(250);

/// Calls `probe` every [`POLL`] until it answers `Ok`, and returns that value with the time
/// it took. `Err` carries what was seen; after `limit` (or as many polls as fit in it) the
/// wait panics with the last of it.
pub async fn until<T, S, F, Fut>(what: &str, limit: Duration, mut probe: F) -> (T, Duration)
where
    S: Debug,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, S>>,
{
    let started = Instant::now();
    let max_polls = limit.as_millis() / POLL.as_millis() + 10;
    let mut polls = 0;
    loop {
        let seen = match probe().await {
            Ok(value) => return (value, started.elapsed()),
            Err(seen) => seen,
        };
        polls += 1;
        if started.elapsed() > limit || polls > max_polls {
            panic!("{what}: not within {limit:?} ({polls} polls); last seen: {seen:#?}");
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Prints one measured time.
pub fn report(what: &str, took: Duration) {
    println!("[platform]   {what} ({:.1} s)", took.as_secs_f64());
}

/// Runs one step of the suite, printing when it starts and how long it took.
pub async fn step<T>(name: &str, work: impl Future<Output = T>) -> T {
    let started = Instant::now();
    println!("[platform] step {name} ...");
    let out = work.await;
    println!(
        "[platform] step {name}: passed ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
    out
}

pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}
