//! A database outage under load: the shop answers `503 database_unavailable` while
//! PostgreSQL is down, stays up and ready, and serves again once the database is back.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::api::reservations_path;
use common::{event, items, Shop};
use reqwest::Method;

const CLIENTS: usize = 4;
/// Bounds of the background load, whatever happens.
const REQUESTS_PER_CLIENT: usize = 2_000;
const LOAD_DEADLINE: Duration = Duration::from_secs(120);
const OUTAGE: Duration = Duration::from_secs(5);
/// Full service must be back within this after the restart; generous on purpose.
const RECOVERY_DEADLINE: Duration = Duration::from_secs(30);

/// One request of the background load.
#[derive(Debug, Clone)]
struct Sample {
    sent: Instant,
    done: Instant,
    status: Option<u16>,
    text: String,
    code: Option<String>,
    retry_after: Option<String>,
    problem_json: bool,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_database_outage_answers_503_and_service_comes_back() {
    let mut shop = Shop::start().await;
    shop.api.create_event(&event("outage", 20_000)).await;
    let api = shop.api.clone();

    // A few clients reserving one seat at a time, bounded in requests and time.
    let stop = Arc::new(AtomicBool::new(false));
    let samples = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let (api, stop, samples) = (api.clone(), stop.clone(), samples.clone());
        clients.push(tokio::spawn(async move {
            for _ in 0..REQUESTS_PER_CLIENT {
                if stop.load(Ordering::Relaxed) || started.elapsed() > LOAD_DEADLINE {
                    break;
                }
                let sent = Instant::now();
                let request = api.request(Method::POST, &reservations_path("outage"));
                let result = api.try_send(request.json(&items(&[("combi", 1)]))).await;
                let sample = match result {
                    Ok(answer) => Sample {
                        sent,
                        done: Instant::now(),
                        status: Some(answer.status),
                        code: answer.body["code"].as_str().map(str::to_string),
                        retry_after: answer.header("retry-after").map(str::to_string),
                        problem_json: answer
                            .header("content-type")
                            .is_some_and(|t| t.starts_with("application/problem+json")),
                        text: answer.text,
                    },
                    Err(error) => Sample {
                        sent,
                        done: Instant::now(),
                        status: None,
                        text: error.to_string(),
                        code: None,
                        retry_after: None,
                        problem_json: false,
                    },
                };
                samples.lock().expect("samples lock").push(sample);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }));
    }
    let warm = common::poll(
        Duration::from_secs(20),
        Duration::from_millis(50),
        || async {
            let samples = samples.lock().expect("samples lock");
            (samples.iter().filter(|s| s.status == Some(201)).count() >= 10).then_some(())
        },
    )
    .await;
    assert!(
        warm.is_some(),
        "no steady load before the outage: {:?}",
        samples.lock()
    );

    // The outage; what a client sees during it is checked while it lasts.
    tokio::task::block_in_place(|| shop.pg.stop()).expect("stop PostgreSQL");
    let down_at = Instant::now();
    println!("PostgreSQL stopped {:?} into the load", started.elapsed());
    let (healthz, readyz) = (api.get("/healthz").await, api.get("/readyz").await);
    assert_eq!(healthz.status, 200, "/healthz during the outage: {healthz}");
    assert_eq!(readyz.status, 200, "/readyz during the outage: {readyz}");
    let asked = Instant::now();
    let (reserve, stats, read) = tokio::join!(
        api.reserve("outage", &[("combi", 1)]),
        api.admin_get("/admin/v1/events/outage/stats"),
        api.get("/api/v1/events/outage"),
    );
    println!("503s answered within {:?}", asked.elapsed());
    for answer in [&reserve, &stats] {
        answer.expect_problem(503, "database_unavailable");
        let retry_after = answer.header("retry-after").unwrap_or_default();
        let seconds = retry_after.parse::<u64>();
        assert!(seconds.is_ok(), "Retry-After `{retry_after}` of {answer}");
    }
    let retry_after = reserve.header("retry-after");
    println!(
        "Retry-After: {retry_after:?}; event read answered {}",
        read.status
    );
    match read.status {
        503 => _ = read.expect_problem(503, "database_unavailable"),
        status => assert_eq!(status, 200, "event read during the outage: {read}"),
    }
    // A wave after the breaker's first second: one request may go through as the probe
    // and wait for the pool; every other one is answered at once, not after the pool's
    // acquire timeout.
    tokio::time::sleep(Duration::from_millis(1500).saturating_sub(down_at.elapsed())).await;
    let mut wave = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let api = api.clone();
        wave.spawn(async move {
            let asked = Instant::now();
            let answer = api.admin_get("/admin/v1/events/outage/stats").await;
            (answer, asked.elapsed())
        });
    }
    let mut slow = 0;
    let mut fastest = Duration::MAX;
    while let Some(done) = wave.join_next().await {
        let (answer, took) = done.expect("wave request");
        answer.expect_problem(503, "database_unavailable");
        fastest = fastest.min(took);
        slow += usize::from(took > Duration::from_millis(500));
    }
    println!("wave of 20 during the outage: {slow} waited > 500 ms, fastest {fastest:?}");
    assert!(
        slow <= 2,
        "{slow} of 20 waited for the pool while the breaker was open"
    );

    tokio::time::sleep(OUTAGE.saturating_sub(down_at.elapsed())).await;
    let restart_at = Instant::now();
    tokio::task::block_in_place(|| shop.pg.restart()).expect("restart PostgreSQL");
    let up_at = Instant::now();
    println!(
        "PostgreSQL down for {:?}, restart took {:?}",
        up_at - down_at,
        up_at - restart_at
    );

    // Recovery: a reservation succeeds again.
    let recovered = common::poll(RECOVERY_DEADLINE, Duration::from_millis(100), || async {
        let answer = api.reserve("outage", &[("combi", 1)]).await;
        (answer.status == 201).then_some(Instant::now())
    })
    .await;
    let recovered_at = recovered.unwrap_or_else(|| {
        panic!(
            "no 201 within {RECOVERY_DEADLINE:?} of the restart:\n{}",
            shop.logs()
        )
    });
    println!(
        "full service {:?} after PostgreSQL was back",
        recovered_at - up_at
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.await.expect("client task");
    }
    let samples = samples.lock().expect("samples lock").clone();

    // Every answer the load got.
    let count = |f: &dyn Fn(&Sample) -> bool| samples.iter().filter(|s| f(s)).count();
    println!(
        "load: {} requests, {} × 201, {} × 503, {} others",
        samples.len(),
        count(&|s| s.status == Some(201)),
        count(&|s| s.status == Some(503)),
        count(&|s| !matches!(s.status, Some(201 | 503))),
    );
    for sample in &samples {
        let status = sample.status;
        assert!(
            matches!(status, Some(201 | 503)),
            "load got {status:?}: {}",
            sample.text
        );
        if sample.status == Some(503) {
            assert_eq!(
                sample.code.as_deref(),
                Some("database_unavailable"),
                "{sample:?}"
            );
            assert!(
                sample.problem_json,
                "503 not a problem document: {sample:?}"
            );
            let retry = sample.retry_after.as_deref().unwrap_or_default();
            assert!(
                retry.parse::<u64>().is_ok(),
                "Retry-After `{retry}`: {sample:?}"
            );
        }
    }
    let in_outage: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.sent > down_at && s.done < restart_at)
        .collect();
    assert!(
        !in_outage.is_empty(),
        "the load sent nothing during the outage"
    );
    assert!(
        in_outage.iter().all(|s| s.status == Some(503)),
        "{in_outage:#?}"
    );
    let settled = recovered_at + Duration::from_secs(1);
    let late_failures = count(&|s| s.sent > settled && s.status != Some(201));
    assert_eq!(
        late_failures, 0,
        "failures more than 1 s after service came back"
    );
    assert!(
        count(&|s| s.sent > settled) > 0,
        "the load sent nothing after recovery"
    );

    // The process lived through it.
    assert!(
        shop.processes[0].is_running(),
        "the shop died:\n{}",
        shop.logs()
    );
    assert!(
        !shop.logs().contains("panicked"),
        "the shop panicked:\n{}",
        shop.logs()
    );
    let created = count(&|s| s.status == Some(201)) as i64 + 1;
    let stats = shop.api.stats("outage", "combi").await;
    assert_eq!(
        stats.held, created,
        "held seats differ from the 201 answers"
    );
    common::sql::assert_seats_consistent(&shop.db).await;
}
