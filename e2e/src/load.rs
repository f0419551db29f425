//! A ticket rush: attendees sending reservation requests to one or more shops.
//!
//! Two ways to load a shop. A closed loop keeps N attendees busy, each sending its next
//! request when the last one is answered: throughput under a fixed concurrency. An open
//! model sends requests at a fixed rate whatever the shop does, as a real rush does, so a
//! slow shop sees requests pile up instead of the load politely backing off.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

/// What to send, to whom, and for how long.
#[derive(Debug, Clone)]
pub struct RushPlan {
    /// Shop base URLs, used round robin as a load balancer would.
    pub shops: Vec<String>,
    pub event: String,
    pub categories: Vec<String>,
    pub min_quantity: u32,
    pub max_quantity: u32,
    pub model: LoadModel,
    /// Stop after this many requests...
    pub max_requests: u64,
    /// ...or after this long, whichever comes first.
    pub max_duration: Duration,
    pub seed: u64,
    pub progress: bool,
}

#[derive(Debug, Clone, Copy)]
pub enum LoadModel {
    /// `clients` attendees, each waiting for its answer before the next request.
    Closed { clients: usize },
    /// `rate` requests per second, however long answers take.
    Open { rate: f64 },
}

/// One answer: when it came (from the start), what it was, how long it took.
#[derive(Debug, Clone)]
struct Sample {
    at: Duration,
    outcome: String,
    latency: Duration,
    seats: u32,
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
    pub latency_ms: Latency,
    pub server_errors: u64,
    pub transport_errors: u64,
    /// Per second of the rush: answers by outcome class (`created`, `refused`,
    /// `serverError`, `transport`).
    pub timeline: Vec<BTreeMap<String, u64>>,
    /// Latency histogram: upper bound in ms → count.
    pub latency_histogram: Vec<(f64, u64)>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Latency {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
}

impl RushReport {
    pub fn count(&self, prefix: &str) -> u64 {
        self.outcomes
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(_, v)| v)
            .sum()
    }
}

/// Runs the rush to its end and reports.
pub async fn run(plan: RushPlan) -> anyhow::Result<RushReport> {
    anyhow::ensure!(!plan.shops.is_empty(), "at least one shop URL");
    anyhow::ensure!(!plan.categories.is_empty(), "at least one category");
    anyhow::ensure!(plan.min_quantity >= 1 && plan.min_quantity <= plan.max_quantity);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(4096)
        .timeout(Duration::from_secs(30))
        .build()?;
    let shared = Arc::new(Shared {
        plan: plan.clone(),
        client,
        sent: AtomicU64::new(0),
        next_shop: AtomicU64::new(0),
        samples: Mutex::new(Vec::with_capacity(plan.max_requests.min(2_000_000) as usize)),
        stop: AtomicBool::new(false),
        start: Instant::now(),
    });

    let progress = plan
        .progress
        .then(|| tokio::spawn(show_progress(shared.clone())));
    match plan.model {
        LoadModel::Closed { clients } => {
            let mut tasks = Vec::new();
            for i in 0..clients {
                let shared = shared.clone();
                let rng = StdRng::seed_from_u64(plan.seed.wrapping_add(i as u64));
                tasks.push(tokio::spawn(closed_attendee(shared, rng)));
            }
            for t in tasks {
                t.await?;
            }
        }
        LoadModel::Open { rate } => open_arrivals(shared.clone(), rate).await,
    }
    shared.stop.store(true, Ordering::Relaxed);
    if let Some(p) = progress {
        let _ = p.await;
    }
    let elapsed = shared.start.elapsed();
    let samples = std::mem::take(&mut *shared.samples.lock().expect("samples lock"));
    Ok(summarise(&samples, elapsed))
}

struct Shared {
    plan: RushPlan,
    client: reqwest::Client,
    sent: AtomicU64,
    next_shop: AtomicU64,
    samples: Mutex<Vec<Sample>>,
    stop: AtomicBool,
    start: Instant,
}

impl Shared {
    /// Takes a request slot, or `None` once the rush is over.
    fn take_slot(&self) -> Option<u64> {
        if self.stop.load(Ordering::Relaxed) || self.start.elapsed() >= self.plan.max_duration {
            return None;
        }
        let n = self.sent.fetch_add(1, Ordering::Relaxed);
        (n < self.plan.max_requests).then_some(n)
    }

    async fn send_one(&self, category: String, quantity: u32) {
        let shops = &self.plan.shops;
        let shop = &shops[self.next_shop.fetch_add(1, Ordering::Relaxed) as usize % shops.len()];
        let url = format!("{shop}/api/v1/events/{}/reservations", self.plan.event);
        let body = serde_json::json!({"items": [{"category": category, "quantity": quantity}]});
        let began = Instant::now();
        let outcome = match self.client.post(&url).json(&body).send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                if status == 201 {
                    let _ = resp.bytes().await;
                    "201".to_string()
                } else {
                    let code = resp
                        .json::<serde_json::Value>()
                        .await
                        .ok()
                        .and_then(|b| b["code"].as_str().map(str::to_string))
                        .unwrap_or_default();
                    format!("{status} {code}").trim().to_string()
                }
            }
            Err(_) => "transport".to_string(),
        };
        let seats = if outcome == "201" { quantity } else { 0 };
        let sample = Sample {
            at: self.start.elapsed(),
            outcome,
            latency: began.elapsed(),
            seats,
        };
        self.samples.lock().expect("samples lock").push(sample);
    }

    fn pick(&self, rng: &mut StdRng) -> (String, u32) {
        let p = &self.plan;
        let category = p.categories[rng.random_range(0..p.categories.len())].clone();
        (category, rng.random_range(p.min_quantity..=p.max_quantity))
    }
}

async fn closed_attendee(shared: Arc<Shared>, mut rng: StdRng) {
    while shared.take_slot().is_some() {
        let (category, quantity) = shared.pick(&mut rng);
        shared.send_one(category, quantity).await;
    }
}

async fn open_arrivals(shared: Arc<Shared>, rate: f64) {
    let mut rng = StdRng::seed_from_u64(shared.plan.seed);
    let interval = Duration::from_secs_f64(1.0 / rate.max(0.001));
    let mut in_flight = tokio::task::JoinSet::new();
    let mut due = Instant::now();
    while shared.take_slot().is_some() {
        // Fixed schedule: a late tick sends at once and does not push later ones back.
        tokio::time::sleep_until(due.into()).await;
        due += interval;
        let (category, quantity) = shared.pick(&mut rng);
        let s = shared.clone();
        in_flight.spawn(async move { s.send_one(category, quantity).await });
        while in_flight.try_join_next().is_some() {}
    }
    while in_flight.join_next().await.is_some() {}
}

async fn show_progress(shared: Arc<Shared>) {
    let total = shared.plan.max_requests;
    let limit = shared.plan.max_duration.as_secs_f64();
    loop {
        let done = shared.samples.lock().map(|s| s.len() as u64).unwrap_or(0);
        let elapsed = shared.start.elapsed().as_secs_f64();
        let fraction = (done as f64 / total.max(1) as f64)
            .max(elapsed / limit)
            .min(1.0);
        let width = 30;
        let filled = (fraction * width as f64) as usize;
        eprint!(
            "\r[{}{}] {done}/{total} requests  {:.0} req/s  {:.1}s ",
            "#".repeat(filled),
            " ".repeat(width - filled),
            done as f64 / elapsed.max(0.001),
            elapsed
        );
        let _ = std::io::stderr().flush();
        if shared.stop.load(Ordering::Relaxed) {
            eprintln!();
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn summarise(samples: &[Sample], elapsed: Duration) -> RushReport {
    let mut outcomes = BTreeMap::new();
    let mut timeline: Vec<BTreeMap<String, u64>> = Vec::new();
    for s in samples {
        *outcomes.entry(s.outcome.clone()).or_insert(0) += 1;
        let second = s.at.as_secs() as usize;
        if timeline.len() <= second {
            timeline.resize(second + 1, BTreeMap::new());
        }
        *timeline[second]
            .entry(outcome_class(&s.outcome).to_string())
            .or_insert(0) += 1;
    }
    let mut latencies: Vec<f64> = samples
        .iter()
        .map(|s| s.latency.as_secs_f64() * 1e3)
        .collect();
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let i = ((p / 100.0) * latencies.len() as f64).ceil() as usize;
        latencies[i.clamp(1, latencies.len()) - 1]
    };
    let latency = Latency {
        p50: pct(50.0),
        p95: pct(95.0),
        p99: pct(99.0),
        max: latencies.last().copied().unwrap_or(0.0),
        mean: latencies.iter().sum::<f64>() / latencies.len().max(1) as f64,
    };
    let bounds = [
        0.5,
        1.0,
        2.0,
        5.0,
        10.0,
        20.0,
        50.0,
        100.0,
        200.0,
        500.0,
        1000.0,
        f64::INFINITY,
    ];
    let latency_histogram = bounds
        .iter()
        .enumerate()
        .map(|(i, &upper)| {
            let lower = if i == 0 {
                f64::NEG_INFINITY
            } else {
                bounds[i - 1]
            };
            (
                upper,
                latencies
                    .iter()
                    .filter(|&&l| l > lower && l <= upper)
                    .count() as u64,
            )
        })
        .collect();
    let seconds = elapsed.as_secs_f64();
    let created = outcomes.get("201").copied().unwrap_or(0);
    let server_errors = outcomes
        .iter()
        .filter(|(k, _)| k.starts_with('5'))
        .map(|(_, v)| v)
        .sum();
    RushReport {
        requests: samples.len() as u64,
        transport_errors: outcomes.get("transport").copied().unwrap_or(0),
        reserved_reservations: created,
        seats_reserved: samples.iter().map(|s| u64::from(s.seats)).sum(),
        duration_seconds: seconds,
        requests_per_second: samples.len() as f64 / seconds.max(1e-9),
        reservations_per_second: created as f64 / seconds.max(1e-9),
        latency_ms: latency,
        server_errors,
        outcomes,
        timeline,
        latency_histogram,
    }
}

fn outcome_class(outcome: &str) -> &'static str {
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
            seats,
        }
    }

    #[test]
    fn summary_counts_outcomes_seats_and_percentiles() {
        let mut samples: Vec<Sample> = (1..=100).map(|i| sample(i * 10, "201", i, 2)).collect();
        samples.push(sample(1500, "412 not_enough_seats", 1, 0));
        samples.push(sample(1600, "503 database_unavailable", 1, 0));
        samples.push(sample(1700, "transport", 1, 0));
        let r = summarise(&samples, Duration::from_secs(2));
        assert_eq!(r.requests, 103);
        assert_eq!(r.reserved_reservations, 100);
        assert_eq!(r.seats_reserved, 200);
        assert_eq!(r.server_errors, 1);
        assert_eq!(r.transport_errors, 1);
        assert_eq!(r.count("412"), 1);
        assert_eq!(r.timeline.len(), 2);
        assert_eq!(r.timeline[0]["created"], 99);
        assert_eq!(r.timeline[1]["refused"], 1);
        assert_eq!(r.latency_ms.max, 100.0);
        assert_eq!(r.latency_ms.p99, 99.0);
        assert_eq!(r.latency_histogram.iter().map(|(_, n)| n).sum::<u64>(), 103);
    }
}
