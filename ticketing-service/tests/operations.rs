//! What operators rely on: health and readiness, Prometheus metrics, and a clean exit on
//! SIGTERM that lets in-flight requests finish.

mod common;

use std::time::{Duration, Instant};

use common::{event, Shop};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_readiness_answer_200() {
    let shop = Shop::start().await;
    assert_eq!(shop.api.get("/healthz").await.status, 200);
    assert_eq!(shop.api.get("/readyz").await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_expose_requests_reservations_latency_and_the_pool() {
    let shop = Shop::start().await;
    let api = &shop.api;
    api.create_event(&event("measured", 3)).await;
    api.reserve("measured", &[("combi", 3)]).await.expect(201);
    api.reserve("measured", &[("combi", 1)]).await.expect(412);
    api.reserve("nope", &[("combi", 1)]).await.expect(404);

    let answer = api.get("/metrics").await;

    answer.expect(200);
    let text = &answer.text;
    let samples = |family: &str| -> Vec<&str> {
        text.lines()
            .filter(|l| !l.starts_with('#') && l.starts_with(family))
            .collect()
    };
    let requests = samples("http_requests_total{");
    assert!(
        requests
            .iter()
            .any(|l| l.contains("status=\"201\"") && l.contains("method=\"POST\"")),
        "no http_requests_total sample for the 201 POST:\n{text}"
    );
    assert!(
        requests.iter().any(|l| l.contains("status=\"412\"")),
        "no http_requests_total sample for the 412:\n{text}"
    );
    assert!(
        requests.iter().all(|l| l.contains("route=\"")),
        "samples without route:\n{text}"
    );
    assert!(
        !samples("http_request_duration_seconds_bucket{").is_empty(),
        "no http_request_duration_seconds histogram:\n{text}"
    );
    let reservations: f64 = samples("reservations_total{")
        .iter()
        .map(|l| value(l))
        .sum();
    assert!(
        reservations >= 2.0,
        "reservations_total counts {reservations} outcomes:\n{text}"
    );
    let pool = samples("db_pool_connections{");
    assert!(
        pool.iter().any(|l| l.contains("state=\"idle\"")),
        "no idle pool gauge:\n{text}"
    );
    assert!(
        pool.iter().any(|l| l.contains("state=\"in_use\"")),
        "no in-use gauge:\n{text}"
    );
}

/// The value of one Prometheus text sample line.
fn value(line: &str) -> f64 {
    let after_labels = line.rsplit_once('}').map_or(line, |(_, rest)| rest);
    let number = after_labels.split_whitespace().next().unwrap_or_default();
    number
        .parse()
        .unwrap_or_else(|_| panic!("no value in `{line}`"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_on_an_idle_shop_exits_cleanly() {
    let mut shop = Shop::start().await;
    shop.api.create_event(&event("idle", 3)).await;
    let mut process = shop.processes.remove(0);

    let start = Instant::now();
    let clean = tokio::task::block_in_place(|| process.terminate(Duration::from_secs(10)));

    println!("idle shop exited {:?} after SIGTERM", start.elapsed());
    assert!(
        clean.expect("terminate"),
        "no clean exit within 10 s:\n{}",
        process.log()
    );
    assert!(!process.log().contains("panicked"), "{}", process.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_lets_an_in_flight_request_finish() {
    let mut shop = Shop::start().await;
    shop.api.create_event(&event("draining", 10)).await;

    // Lock the seat tables so the next reservation waits inside the service.
    let mut blocker = shop.db.begin().await.expect("begin");
    sqlx::query("LOCK TABLE category_stripes, seats IN EXCLUSIVE MODE")
        .execute(&mut *blocker)
        .await
        .expect("lock the seat tables");
    let api = shop.api.clone();
    let in_flight = tokio::spawn(async move { api.reserve("draining", &[("combi", 2)]).await });
    let waiting = common::poll(
        Duration::from_secs(10),
        Duration::from_millis(50),
        || async {
            let sql = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'";
            (common::sql::count(&shop.db, sql).await > 0).then_some(())
        },
    )
    .await;
    assert!(
        waiting.is_some(),
        "the reservation never waited for the lock:\n{}",
        shop.logs()
    );
    assert!(
        !in_flight.is_finished(),
        "the reservation finished despite the lock"
    );

    // SIGTERM while it waits; the process must not exit before it is answered.
    let mut process = shop.processes.remove(0);
    let signalled = Instant::now();
    let exiting = tokio::task::spawn_blocking(move || {
        let clean = process.terminate(Duration::from_secs(30));
        (clean, signalled.elapsed(), process)
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        !exiting.is_finished(),
        "the shop exited with a request in flight"
    );
    blocker.commit().await.expect("release the lock");

    let answer = in_flight.await.expect("request task");
    let (clean, took, process) = exiting.await.expect("terminate task");
    println!("shop exited {took:?} after SIGTERM, one request drained");
    answer.expect(201);
    assert!(
        clean.expect("terminate"),
        "no clean exit within 30 s:\n{}",
        process.log()
    );
    assert!(!process.log().contains("panicked"), "{}", process.log());
    let reservations = common::sql::count(&shop.db, "SELECT count(*) FROM reservations").await;
    assert_eq!(reservations, 1, "the drained reservation was not stored");
    // No shop runs any more to give the seat rows out in the background; do it as the next
    // shop to start would.
    sqlx::query("SELECT assign_seats(100)")
        .execute(&shop.db)
        .await
        .expect("assign seat rows");
    common::sql::assert_seats_consistent(&shop.db).await;
}
