//! A flash sale against two shop processes on one database: no seat is ever sold twice.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use boxoffice_e2e::pg::PgOptions;
use common::api::reservations_path;
use common::{category, event, items, Shop, ShopOptions};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use serde_json::json;

const CATEGORIES: [(&str, i64); 2] = [("combi", 1_600), ("conference", 400)];
const SEATS: i64 = 2_000;
const CLIENTS: usize = 200;
const REQUESTS: usize = 5_000;
const SEED: u64 = 0x5eed_2026;
/// Bounds the whole load, whatever the service does.
const LOAD_DEADLINE: Duration = Duration::from_secs(300);

/// One request of the load: what it asked for and what it got.
#[derive(Debug)]
struct Outcome {
    wanted: Vec<(&'static str, i64)>,
    status: Option<u16>,
    code: Option<String>,
    id: Option<String>,
    error: Option<String>,
}

/// 1–10 seats a request: most in one category, some split over both.
fn plan() -> Vec<Vec<(&'static str, i64)>> {
    let mut rng = StdRng::seed_from_u64(SEED);
    (0..REQUESTS)
        .map(|_| {
            let total = rng.random_range(1..=10);
            if total >= 2 && rng.random_bool(0.3) {
                let combi = rng.random_range(1..total);
                vec![("combi", combi), ("conference", total - combi)]
            } else if rng.random_bool(0.8) {
                vec![("combi", total)]
            } else {
                vec![("conference", total)]
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_never_give_a_seat_twice() {
    let options = ShopOptions {
        processes: 2,
        pool_size: 20,
        pg: PgOptions {
            max_connections: 300,
            ..PgOptions::default()
        },
        ..ShopOptions::default()
    }
    // 200 clients share 40 connections on two cores: waiting for one is expected here.
    .env("DB_ACQUIRE_TIMEOUT_MS", "30000");
    let shop = Shop::start_with(options).await;
    let mut body = event("flash", 0);
    body["categories"] = json!(CATEGORIES.map(|(slug, seats)| category(slug, seats)));
    shop.api.create_event(&body).await;

    let plan = Arc::new(plan());
    let next = Arc::new(AtomicUsize::new(0));
    let outcomes = Arc::new(Mutex::new(Vec::with_capacity(REQUESTS)));
    let started = Instant::now();
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let (api, plan, next, outcomes) = (
            shop.api.clone(),
            plan.clone(),
            next.clone(),
            outcomes.clone(),
        );
        clients.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= REQUESTS || started.elapsed() > LOAD_DEADLINE {
                    break;
                }
                let body = items(&plan[i]);
                let request = api
                    .request(Method::POST, &reservations_path("flash"))
                    .json(&body);
                let outcome = match api.try_send(request).await {
                    Ok(answer) => Outcome {
                        wanted: plan[i].clone(),
                        status: Some(answer.status),
                        code: answer.body["code"].as_str().map(str::to_string),
                        id: answer.body["id"].as_str().map(str::to_string),
                        error: (answer.status != 201 && answer.status != 412)
                            .then(|| answer.to_string()),
                    },
                    Err(error) => Outcome {
                        wanted: plan[i].clone(),
                        status: None,
                        code: None,
                        id: None,
                        error: Some(error.to_string()),
                    },
                };
                outcomes.lock().expect("outcomes lock").push(outcome);
            }
        }));
    }
    for client in clients {
        client.await.expect("client task");
    }
    let wall = started.elapsed();
    let outcomes = std::mem::take(&mut *outcomes.lock().expect("outcomes lock"));

    // What the clients saw.
    let mut by_status: BTreeMap<String, usize> = BTreeMap::new();
    for outcome in &outcomes {
        let key = outcome
            .status
            .map_or("transport error".to_string(), |s| s.to_string());
        *by_status.entry(key).or_default() += 1;
    }
    let created: Vec<&Outcome> = outcomes.iter().filter(|o| o.status == Some(201)).collect();
    let mut held: HashMap<&str, i64> = HashMap::new();
    for outcome in &created {
        for (slug, quantity) in &outcome.wanted {
            *held.entry(slug).or_default() += quantity;
        }
    }
    println!(
        "flash sale: {} requests by {CLIENTS} clients to 2 processes in {wall:?} ({:.0} req/s); \
         answers {by_status:?}; seats held {held:?}",
        outcomes.len(),
        outcomes.len() as f64 / wall.as_secs_f64()
    );
    let odd: Vec<&String> = outcomes
        .iter()
        .filter_map(|o| o.error.as_ref())
        .take(5)
        .collect();
    assert!(
        odd.is_empty(),
        "answers other than 201 and 412: {by_status:?}, e.g. {odd:#?}"
    );
    assert_eq!(
        outcomes.len(),
        REQUESTS,
        "the load ran out of time after {wall:?}"
    );
    for outcome in outcomes.iter().filter(|o| o.status == Some(412)) {
        assert_eq!(
            outcome.code.as_deref(),
            Some("not_enough_seats"),
            "{outcome:?}"
        );
    }
    let ids: HashSet<&str> = created.iter().filter_map(|o| o.id.as_deref()).collect();
    assert_eq!(
        ids.len(),
        created.len(),
        "201 answers without an id or with the same id"
    );

    // What the stats say.
    let mut stats_free = 0;
    for (slug, seats) in CATEGORIES {
        let stats = shop.api.stats("flash", slug).await;
        let held = held.get(slug).copied().unwrap_or_default();
        println!("{slug}: {stats:?}");
        assert_eq!(stats.seats, seats, "{slug}: {stats:?}");
        assert_eq!(
            stats.held, held,
            "{slug}: held differs from the 201 answers"
        );
        assert_eq!(stats.free + stats.held, seats, "{slug}: {stats:?}");
        assert_eq!(
            (stats.awaiting_payment, stats.sold),
            (0, 0),
            "{slug}: {stats:?}"
        );
        assert_eq!(
            shop.api.available("flash", slug).await,
            stats.free,
            "{slug}"
        );
        stats_free += stats.free;
    }
    assert!(
        stats_free < 10,
        "{stats_free} seats left free after a sale asking for far more"
    );

    // What the tables say, once the background pass has given out the seat rows.
    let assigning = Instant::now();
    common::sql::wait_for_seat_rows(&shop.db).await;
    println!(
        "every reservation had its seat rows {:?} after the load",
        assigning.elapsed()
    );
    let totals = common::sql::assert_seats_consistent(&shop.db).await;
    println!("tables: {totals:?}");
    assert_eq!(totals.seats, SEATS);
    assert_eq!(totals.taken + totals.free, SEATS);
    assert_eq!(
        totals.free, stats_free,
        "free seat rows differ from the stats"
    );
    assert_eq!(
        totals.taken,
        held.values().sum::<i64>(),
        "taken seat rows differ from 201s"
    );
    let stored: Vec<uuid::Uuid> = sqlx::query_scalar("SELECT id FROM reservations")
        .fetch_all(&shop.db)
        .await
        .expect("read reservation ids");
    let stored: HashSet<String> = stored.iter().map(|id| id.to_string()).collect();
    let answered: HashSet<String> = ids.iter().map(|id| id.to_string()).collect();
    assert_eq!(
        stored, answered,
        "stored reservations differ from the 201 answers"
    );
    let seat_counts: Vec<(String, i64)> = sqlx::query_as(
        "SELECT reservation_id::text, count(*) FROM seats
         WHERE reservation_id IS NOT NULL GROUP BY reservation_id",
    )
    .fetch_all(&shop.db)
    .await
    .expect("count seats per reservation");
    let seat_counts: HashMap<String, i64> = seat_counts.into_iter().collect();
    for outcome in &created {
        let id = outcome.id.as_deref().unwrap_or_default();
        let wanted: i64 = outcome.wanted.iter().map(|(_, quantity)| quantity).sum();
        let seats = seat_counts.get(id).copied().unwrap_or_default();
        assert_eq!(
            seats, wanted,
            "reservation {id} asked for {:?}",
            outcome.wanted
        );
    }
}
