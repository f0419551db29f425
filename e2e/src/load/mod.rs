//! A ticket rush: attendees sending reservation requests to one or more shops.
//!
//! Two ways to load a shop. A closed loop keeps N attendees busy, each sending its next
//! request when the last one is answered: throughput under a fixed concurrency. An open
//! model sends requests at a fixed rate whatever the shop does, as a real rush does, so a
//! slow shop sees requests pile up instead of the load politely backing off.

mod chart;
mod check;
mod checkout;
mod report;

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub use chart::{bar_chart, latency_chart, rush_chart, Bars};
pub use check::{check, CheckReport, CheckTarget};
pub use checkout::CheckoutReport;
use checkout::StepSample;
use report::{summarise, Sample};
pub use report::{Latency, Reserved, RushReport, OUTCOME_CLASSES};

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
    /// Share (0–1) of the reservations taken on to contact details and confirmation.
    pub checkout_share: f64,
    /// How those confirmations pay: `offline`, `onsite` or `free`.
    pub checkout_payment: String,
}

#[derive(Debug, Clone, Copy)]
pub enum LoadModel {
    /// `clients` attendees, each waiting for its answer before the next request.
    Closed { clients: usize },
    /// `rate` requests per second, however long answers take.
    Open { rate: f64 },
}

/// Runs the rush to its end and reports.
pub async fn run(plan: RushPlan) -> anyhow::Result<RushReport> {
    anyhow::ensure!(!plan.shops.is_empty(), "at least one shop URL");
    anyhow::ensure!(!plan.categories.is_empty(), "at least one category");
    anyhow::ensure!(plan.min_quantity >= 1 && plan.min_quantity <= plan.max_quantity);
    anyhow::ensure!(
        (0.0..=1.0).contains(&plan.checkout_share),
        "the checkout share is a fraction between 0 and 1"
    );
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
        checkouts: AtomicU64::new(0),
        checkout_samples: Mutex::new(Vec::new()),
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
    let checkout = (plan.checkout_share > 0.0).then(|| {
        let steps = shared.checkout_samples.lock().expect("checkout lock");
        checkout::summarise(shared.checkouts.load(Ordering::Relaxed), &steps)
    });
    Ok(summarise(&samples, checkout, elapsed))
}

struct Shared {
    plan: RushPlan,
    client: reqwest::Client,
    sent: AtomicU64,
    next_shop: AtomicU64,
    samples: Mutex<Vec<Sample>>,
    checkouts: AtomicU64,
    checkout_samples: Mutex<Vec<StepSample>>,
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

    /// The next shop, round robin.
    fn shop(&self) -> &str {
        let shops = &self.plan.shops;
        &shops[self.next_shop.fetch_add(1, Ordering::Relaxed) as usize % shops.len()]
    }

    /// One reservation request; returns the reservation a `201` created.
    async fn send_one(&self, category: String, quantity: u32) -> Option<Reserved> {
        let shop = self.shop();
        let url = format!("{shop}/api/v1/events/{}/reservations", self.plan.event);
        let body = serde_json::json!({"items": [{"category": category, "quantity": quantity}]});
        let began = Instant::now();
        let (outcome, reserved) = match self.client.post(&url).json(&body).send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let body = resp.json::<serde_json::Value>().await.unwrap_or_default();
                let reserved = (status == 201)
                    .then(|| body["id"].as_str())
                    .flatten()
                    .map(|id| Reserved {
                        id: id.to_string(),
                        category,
                        quantity,
                    });
                (report::outcome_of(status, &body), reserved)
            }
            Err(_) => ("transport".to_string(), None),
        };
        let sample = Sample {
            at: self.start.elapsed(),
            outcome,
            latency: began.elapsed(),
            reserved: reserved.clone(),
        };
        self.samples.lock().expect("samples lock").push(sample);
        reserved
    }

    /// Takes `reservation` on to checkout when the attendee's draw says so.
    async fn maybe_check_out(&self, reservation: Option<Reserved>, draw: f64) {
        let Some(reservation) = reservation else {
            return;
        };
        if draw >= self.plan.checkout_share {
            return;
        }
        let n = self.checkouts.fetch_add(1, Ordering::Relaxed);
        let payment = &self.plan.checkout_payment;
        let steps = checkout::check_out(&self.client, self.shop(), &reservation, n, payment).await;
        self.checkout_samples
            .lock()
            .expect("checkout lock")
            .extend(steps);
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
        let reserved = shared.send_one(category, quantity).await;
        shared.maybe_check_out(reserved, rng.random()).await;
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
        let draw: f64 = rng.random();
        let s = shared.clone();
        in_flight.spawn(async move {
            let reserved = s.send_one(category, quantity).await;
            s.maybe_check_out(reserved, draw).await;
        });
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
