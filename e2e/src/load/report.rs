//! What a rush did: outcomes, latency percentiles, the rush's shape over time.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use super::checkout::CheckoutReport;

/// One answer: when it came (from the start), what it was, how long it took.
#[derive(Debug, Clone)]
pub(crate) struct Sample {
    pub at: Duration,
    pub outcome: String,
    pub latency: Duration,
    /// The reservation a `201` created.
    pub reserved: Option<Reserved>,
}

/// A reservation the shop said it created, as the attendee saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reserved {
    pub id: String,
    pub category: String,
    pub quantity: u32,
}

/// What a rush did, in the JSON form the benchmarks store.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RushReport {
    pub requests: u64,
    /// By outcome: `201`, `412 not_enough_seats`, `503 database_unavailable`, `transport`...
    pub outcomes: BTreeMap<String, u64>,
    pub reserved_reservations: u64,
    pub seats_reserved: u64,
    pub duration_seconds: f64,
    pub requests_per_second: f64,
    pub reservations_per_second: f64,
    /// When the last `201` came, from the start: how long the seats lasted.
    pub last_reservation_seconds: Option<f64>,
    pub latency_ms: Latency,
    pub server_errors: u64,
    pub transport_errors: u64,
    /// Width of one [`Self::timeline`] bucket.
    pub timeline_bucket_seconds: f64,
    /// Per bucket of the rush: answers by outcome class (`created`, `refused`,
    /// `serverError`, `transport`).
    pub timeline: Vec<BTreeMap<String, u64>>,
    /// Latency histogram: upper bound in ms → count.
    pub latency_histogram: Vec<(f64, u64)>,
    /// The checkouts a share of the attendees went on to, when the plan asked for them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkout: Option<CheckoutReport>,
    /// Every reservation a `201` announced; the correctness check looks each one up.
    #[serde(skip)]
    pub reserved: Vec<Reserved>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Latency {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
}

/// Outcome classes of the timeline, in the order charts stack them.
pub const OUTCOME_CLASSES: [&str; 4] = ["created", "refused", "serverError", "transport"];

/// Upper bounds (ms) of the latency histogram's buckets; the last one takes the rest.
const LATENCY_BOUNDS: [f64; 18] = [
    0.5,
    1.0,
    2.0,
    3.0,
    5.0,
    7.5,
    10.0,
    15.0,
    20.0,
    30.0,
    50.0,
    75.0,
    100.0,
    200.0,
    500.0,
    1000.0,
    2000.0,
    f64::INFINITY,
];

impl RushReport {
    pub fn count(&self, prefix: &str) -> u64 {
        self.outcomes
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(_, v)| v)
            .sum()
    }
}

/// Percentiles, maximum and mean of `latencies`, in ms.
pub(crate) fn latency_of(latencies: &[Duration]) -> Latency {
    let mut ms: Vec<f64> = latencies.iter().map(|l| l.as_secs_f64() * 1e3).collect();
    ms.sort_by(f64::total_cmp);
    let pct = |p: f64| -> f64 {
        if ms.is_empty() {
            return 0.0;
        }
        let i = ((p / 100.0) * ms.len() as f64).ceil() as usize;
        ms[i.clamp(1, ms.len()) - 1]
    };
    Latency {
        p50: pct(50.0),
        p95: pct(95.0),
        p99: pct(99.0),
        max: ms.last().copied().unwrap_or(0.0),
        mean: ms.iter().sum::<f64>() / ms.len().max(1) as f64,
    }
}

pub(crate) fn summarise(
    samples: &[Sample],
    checkout: Option<CheckoutReport>,
    elapsed: Duration,
) -> RushReport {
    let bucket = bucket_width(elapsed);
    let mut outcomes = BTreeMap::new();
    let mut timeline: Vec<BTreeMap<String, u64>> = Vec::new();
    for s in samples {
        *outcomes.entry(s.outcome.clone()).or_insert(0) += 1;
        let slot = (s.at.as_secs_f64() / bucket) as usize;
        if timeline.len() <= slot {
            timeline.resize(slot + 1, BTreeMap::new());
        }
        *timeline[slot]
            .entry(outcome_class(&s.outcome).to_string())
            .or_insert(0) += 1;
    }

    let latency = latency_of(&samples.iter().map(|s| s.latency).collect::<Vec<_>>());
    let mut latency_histogram: Vec<(f64, u64)> = LATENCY_BOUNDS.iter().map(|&b| (b, 0)).collect();
    for s in samples {
        let l = s.latency.as_secs_f64() * 1e3;
        let i = LATENCY_BOUNDS.partition_point(|&upper| upper < l);
        latency_histogram[i.min(LATENCY_BOUNDS.len() - 1)].1 += 1;
    }

    let reserved: Vec<Reserved> = samples.iter().filter_map(|s| s.reserved.clone()).collect();
    let seconds = elapsed.as_secs_f64();
    let created = outcomes.get("201").copied().unwrap_or(0);
    let server_errors = outcomes
        .iter()
        .filter(|(k, _)| k.starts_with('5'))
        .map(|(_, v)| v)
        .sum::<u64>()
        + checkout.as_ref().map_or(0, |c| c.server_errors);
    RushReport {
        requests: samples.len() as u64,
        transport_errors: outcomes.get("transport").copied().unwrap_or(0),
        reserved_reservations: created,
        seats_reserved: reserved.iter().map(|r| u64::from(r.quantity)).sum(),
        duration_seconds: seconds,
        requests_per_second: samples.len() as f64 / seconds.max(1e-9),
        reservations_per_second: created as f64 / seconds.max(1e-9),
        last_reservation_seconds: samples
            .iter()
            .filter(|s| s.reserved.is_some())
            .map(|s| s.at.as_secs_f64())
            .reduce(f64::max),
        latency_ms: latency,
        server_errors,
        outcomes,
        timeline_bucket_seconds: bucket,
        timeline,
        latency_histogram,
        checkout,
        reserved,
    }
}

/// The narrowest round bucket width that draws the rush in at most 120 buckets, so a
/// three-second rush shows its shape as well as a minute-long one.
fn bucket_width(elapsed: Duration) -> f64 {
    const WIDTHS: [f64; 10] = [0.05, 0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0];
    let seconds = elapsed.as_secs_f64();
    WIDTHS
        .into_iter()
        .find(|w| seconds / w <= 120.0)
        .unwrap_or(60.0)
}

/// An answer as the report counts it: the status, and the problem's code for an error
/// (`201`, `412 not_enough_seats`).
pub(crate) fn outcome_of(status: u16, body: &serde_json::Value) -> String {
    match body["code"].as_str() {
        Some(code) if status >= 300 => format!("{status} {code}"),
        _ => status.to_string(),
    }
}

pub(crate) fn outcome_class(outcome: &str) -> &'static str {
    match outcome.as_bytes().first() {
        Some(b'2') => "created",
        Some(b'4') => "refused",
        Some(b'5') => "serverError",
        _ => "transport",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(at_ms: u64, outcome: &str, latency_ms: u64, seats: u32) -> Sample {
        Sample {
            at: Duration::from_millis(at_ms),
            outcome: outcome.into(),
            latency: Duration::from_millis(latency_ms),
            reserved: (seats > 0).then(|| Reserved {
                id: format!("r{at_ms}"),
                category: "combi".into(),
                quantity: seats,
            }),
        }
    }

    #[test]
    fn summary_counts_outcomes_seats_and_percentiles() {
        let mut samples: Vec<Sample> = (1..=100).map(|i| sample(i * 10, "201", i, 2)).collect();
        samples.push(sample(1500, "412 not_enough_seats", 1, 0));
        samples.push(sample(1600, "503 database_unavailable", 1, 0));
        samples.push(sample(1700, "transport", 1, 0));
        let r = summarise(&samples, None, Duration::from_secs(2));
        assert_eq!(r.requests, 103);
        assert_eq!(r.reserved_reservations, 100);
        assert_eq!(r.seats_reserved, 200);
        assert_eq!(r.reserved.len(), 100);
        assert_eq!(r.server_errors, 1);
        assert_eq!(r.transport_errors, 1);
        assert_eq!(r.count("412"), 1);
        assert_eq!(r.last_reservation_seconds, Some(1.0));
        assert_eq!(r.latency_ms.max, 100.0);
        assert_eq!(r.latency_ms.p99, 99.0);
        assert_eq!(r.latency_histogram.iter().map(|(_, n)| n).sum::<u64>(), 103);
    }

    #[test]
    fn timeline_buckets_fit_the_rush() {
        // Two seconds: 50 ms buckets, 40 of them; the answer at 1.7 s lands in bucket 34.
        let samples = vec![sample(0, "201", 1, 1), sample(1700, "transport", 1, 0)];
        let r = summarise(&samples, None, Duration::from_secs(2));
        assert_eq!(r.timeline_bucket_seconds, 0.05);
        assert_eq!(r.timeline.len(), 35);
        assert_eq!(r.timeline[0]["created"], 1);
        assert_eq!(r.timeline[34]["transport"], 1);
        assert_eq!(bucket_width(Duration::from_secs(60)), 0.5);
        assert_eq!(bucket_width(Duration::from_secs(600)), 5.0);
    }

    #[test]
    fn histogram_buckets_are_inclusive_upper_bounds() {
        let samples = vec![
            sample(0, "201", 1, 1),
            sample(1, "201", 2, 1),
            sample(2, "201", 3, 1),
        ];
        let r = summarise(&samples, None, Duration::from_secs(1));
        let of = |bound: f64| {
            r.latency_histogram
                .iter()
                .find(|(b, _)| *b == bound)
                .unwrap()
                .1
        };
        assert_eq!((of(1.0), of(2.0), of(3.0)), (1, 1, 1));
    }

    #[test]
    fn outcomes_name_the_problem_of_an_error() {
        let problem = serde_json::json!({"code": "not_enough_seats"});
        assert_eq!(outcome_of(412, &problem), "412 not_enough_seats");
        assert_eq!(outcome_of(201, &serde_json::json!({"id": "r1"})), "201");
        assert_eq!(outcome_of(502, &serde_json::Value::Null), "502");
    }
}
