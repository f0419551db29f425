//! Light, steady traffic on a shop whose processes come and go, the way a Service's
//! endpoints follow a rolling update: a process leaves the rotation first, its requests in
//! flight finish, and only then is it stopped.
//!
//! The rush itself is `boxoffice_e2e::load`; this is the background load that watches
//! what attendees see while the platform changes around the shop.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use super::poll;

/// The shop processes currently in rotation, picked round robin.
pub struct Endpoints {
    live: Mutex<Vec<Endpoint>>,
    next: AtomicUsize,
}

struct Endpoint {
    url: String,
    in_flight: Arc<AtomicUsize>,
}

/// One request counted as in flight to its endpoint until dropped.
struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Endpoints {
    pub fn new(urls: Vec<String>) -> Arc<Endpoints> {
        let endpoints = Endpoints {
            live: Mutex::new(Vec::new()),
            next: AtomicUsize::new(0),
        };
        urls.into_iter().for_each(|u| endpoints.add(u));
        Arc::new(endpoints)
    }

    pub fn add(&self, url: String) {
        let in_flight = Arc::new(AtomicUsize::new(0));
        self.lock().push(Endpoint { url, in_flight });
    }

    /// Takes `url` out of rotation and waits until no request to it is in flight.
    pub async fn drain(&self, url: &str) {
        let in_flight = {
            let mut live = self.lock();
            let i = live
                .iter()
                .position(|e| e.url == url)
                .unwrap_or_else(|| panic!("{url} is not in rotation"));
            live.remove(i).in_flight
        };
        poll::until(
            &format!("requests to {url} finished"),
            poll::secs(60),
            || {
                let n = in_flight.load(Ordering::SeqCst);
                async move {
                    if n == 0 {
                        Ok(())
                    } else {
                        Err(n)
                    }
                }
            },
        )
        .await;
    }

    /// The next endpoint, counted as in flight. The count is taken under the lock, so
    /// once [`Endpoints::drain`] removed an endpoint nothing new is sent to it.
    fn pick(&self) -> Option<(String, InFlight)> {
        let live = self.lock();
        if live.is_empty() {
            return None;
        }
        let e = &live[self.next.fetch_add(1, Ordering::Relaxed) % live.len()];
        e.in_flight.fetch_add(1, Ordering::SeqCst);
        Some((e.url.clone(), InFlight(e.in_flight.clone())))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Endpoint>> {
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// One answer of the background load.
struct Answer {
    at: Instant,
    /// `201`, `412 not_enough_seats`, `503 database_unavailable`, ..., or `transport`.
    outcome: String,
    /// The body or the error, for anything but 201 and 412.
    detail: Option<String>,
}

/// A few attendees reserving one seat at a time with a pause between requests, bounded in
/// requests and time whatever the shop does.
pub struct Trickle {
    answers: Arc<Mutex<Vec<Answer>>>,
    stop: Arc<AtomicBool>,
    tasks: Vec<JoinHandle<()>>,
}

/// How hard a trickle pushes and for how long at most.
pub struct TricklePlan {
    pub clients: usize,
    pub pause: Duration,
    pub max_requests: u64,
    pub max_duration: Duration,
}

impl TricklePlan {
    /// 4 attendees, a request each every 50 ms at most, for at most 6,000 requests or 5 min.
    pub fn light() -> TricklePlan {
        TricklePlan {
            clients: 4,
            pause: Duration::from_millis(50),
            max_requests: 6_000,
            max_duration: poll::secs(300),
        }
    }
}

impl Trickle {
    pub fn start(endpoints: Arc<Endpoints>, event: &str, plan: TricklePlan) -> Trickle {
        let client = reqwest::Client::builder()
            .timeout(poll::secs(30))
            .build()
            .expect("HTTP client");
        let answers = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let path = format!("/api/v1/events/{event}/reservations");
        let tasks = (0..plan.clients)
            .map(|_| {
                let (client, answers, stop, sent) =
                    (client.clone(), answers.clone(), stop.clone(), sent.clone());
                let (endpoints, path) = (endpoints.clone(), path.clone());
                let (pause, max_requests, max_duration) =
                    (plan.pause, plan.max_requests, plan.max_duration);
                tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed)
                        && started.elapsed() < max_duration
                        && sent.fetch_add(1, Ordering::Relaxed) < max_requests
                    {
                        if let Some((url, in_flight)) = endpoints.pick() {
                            let answer = reserve_one(&client, &format!("{url}{path}")).await;
                            drop(in_flight);
                            answers.lock().expect("answers lock").push(answer);
                        }
                        tokio::time::sleep(pause).await;
                    }
                })
            })
            .collect();
        Trickle {
            answers,
            stop,
            tasks,
        }
    }

    /// Answers by outcome, of the requests answered at or after `since`.
    pub fn outcomes_since(&self, since: Instant) -> BTreeMap<String, u64> {
        tally(
            self.answers
                .lock()
                .expect("answers lock")
                .iter()
                .filter(|a| a.at >= since),
        )
    }

    /// The first few answers since `since` whose outcome is not in `allowed`, with their
    /// bodies or errors.
    pub fn unexpected_since(&self, since: Instant, allowed: &[&str]) -> Vec<String> {
        let answers = self.answers.lock().expect("answers lock");
        answers
            .iter()
            .filter(|a| a.at >= since && !allowed.contains(&a.outcome.as_str()))
            .take(5)
            .map(|a| format!("{}: {}", a.outcome, a.detail.as_deref().unwrap_or_default()))
            .collect()
    }

    /// Waits until at least `n` answers with `outcome` came at or after `since`.
    pub async fn wait_for(&self, outcome: &str, n: u64, since: Instant, limit: Duration) {
        poll::until(&format!("{n} answers {outcome}"), limit, || {
            let seen = self.outcomes_since(since);
            async move {
                if seen.get(outcome).copied().unwrap_or(0) >= n {
                    Ok(())
                } else {
                    Err(seen)
                }
            }
        })
        .await;
    }

    /// Waits until at least `n` answers, whatever they are, came at or after `since`.
    pub async fn wait_for_answers(&self, n: u64, since: Instant, limit: Duration) {
        poll::until(&format!("{n} answers"), limit, || {
            let seen = self.outcomes_since(since);
            async move {
                if seen.values().sum::<u64>() >= n {
                    Ok(())
                } else {
                    Err(seen)
                }
            }
        })
        .await;
    }

    /// Stops every attendee, waits for their last answers and returns every outcome.
    pub async fn stop(self) -> BTreeMap<String, u64> {
        self.stop.store(true, Ordering::Relaxed);
        for task in self.tasks {
            task.await.expect("an attendee of the trickle panicked");
        }
        tally(self.answers.lock().expect("answers lock").iter())
    }
}

async fn reserve_one(client: &reqwest::Client, url: &str) -> Answer {
    let body = serde_json::json!({"items": [{"category": "combi", "quantity": 1}]});
    let (outcome, detail) = match client.post(url).json(&body).send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap_or_default();
            let code = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|b| b["code"].as_str().map(str::to_string))
                .filter(|_| status != 201)
                .unwrap_or_default();
            let outcome = format!("{status} {code}").trim().to_string();
            let detail = (status != 201 && status != 412).then_some(text);
            (outcome, detail)
        }
        Err(e) => ("transport".to_string(), Some(format!("{url}: {e:#}"))),
    };
    Answer {
        at: Instant::now(),
        outcome,
        detail,
    }
}

fn tally<'a>(answers: impl Iterator<Item = &'a Answer>) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for a in answers {
        *out.entry(a.outcome.clone()).or_insert(0) += 1;
    }
    out
}
