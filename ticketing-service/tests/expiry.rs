//! Holds that run out: the periodic sweep frees their seats, and so does the next
//! reservation that finds too few.

mod common;

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use common::api::Stats;
use common::{event, Shop, ShopOptions};
use serde_json::json;

const SEATS: i64 = 5;
/// Expired seats must come back "within seconds"; this bound is generous on purpose.
const DEADLINE: Duration = Duration::from_secs(15);

/// An event whose holds last two seconds.
fn short_holds(slug: &str) -> serde_json::Value {
    let mut body = event(slug, SEATS);
    body["reservationTimeoutSeconds"] = json!(2);
    body
}

fn expires_at(doc: &serde_json::Value) -> DateTime<Utc> {
    let text = doc["expiresAt"]
        .as_str()
        .unwrap_or_else(|| panic!("no expiresAt: {doc}"));
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("expiresAt `{text}`: {e}"))
        .with_timezone(&Utc)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweep_frees_expired_holds() {
    let shop = Shop::start().await;
    let api = &shop.api;
    api.create_event(&short_holds("sweep")).await;
    let taken_at = Instant::now();
    let before = Utc::now();
    let hold = api.reserve("sweep", &[("combi", SEATS)]).await;
    hold.expect(201);
    let hold_seconds = (expires_at(&hold.body) - before).num_milliseconds();
    assert!(
        (1_000..=3_000).contains(&hold_seconds),
        "a 2 s hold ends after {hold_seconds} ms"
    );
    api.reserve("sweep", &[("combi", 1)])
        .await
        .expect_problem(412, "not_enough_seats");

    // Nobody reserves: only the sweep can free the seats.
    let freed = common::poll(DEADLINE, Duration::from_millis(100), || async {
        let stats = api.stats("sweep", "combi").await;
        (stats.free == SEATS).then_some(stats)
    })
    .await;

    let took = taken_at.elapsed();
    println!("expiry sweep: seats free {took:?} after a 2 s hold was taken");
    let stats = freed.unwrap_or_else(|| panic!("seats not free {DEADLINE:?} after the hold"));
    assert_eq!(stats, Stats::only_held(SEATS, 0));
    assert_eq!(api.available("sweep", "combi").await, SEATS);
    let read = api.reservation(&hold.id()).await;
    assert_eq!(read.expect(200)["status"], "expired", "{read}");
    assert_eq!(
        common::sql::reservation_status(&shop.db, &hold.id()).await,
        "expired"
    );
    api.cancel(&hold.id()).await.expect_problem(409, "conflict");
    common::sql::assert_seats_consistent(&shop.db).await;
    api.reserve("sweep", &[("combi", SEATS)]).await.expect(201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reservation_takes_expired_seats_back_without_the_sweep() {
    // The periodic sweep is all but off: only the reservation path can free the seats.
    let options = ShopOptions::default().env("EXPIRY_SWEEP_INTERVAL_MS", "3600000");
    let shop = Shop::start_with(options).await;
    let api = &shop.api;
    api.create_event(&short_holds("reclaim")).await;
    let taken_at = Instant::now();
    let hold = api.reserve("reclaim", &[("combi", SEATS)]).await;
    hold.expect(201);
    let hold_end = expires_at(&hold.body);
    api.reserve("reclaim", &[("combi", 1)])
        .await
        .expect_problem(412, "not_enough_seats");

    let mut attempts = 0;
    let again = common::poll(DEADLINE, Duration::from_millis(100), || {
        attempts += 1;
        async {
            let answer = api.reserve("reclaim", &[("combi", SEATS)]).await;
            match answer.status {
                201 => Some(answer),
                _ => {
                    answer.expect_problem(412, "not_enough_seats");
                    None
                }
            }
        }
    })
    .await;

    let took = taken_at.elapsed();
    let after_end = (Utc::now() - hold_end).num_milliseconds();
    println!(
        "expired seats reserved again {took:?} after the hold was taken, \
         {after_end} ms after its end, on attempt {attempts}"
    );
    let again = again.unwrap_or_else(|| panic!("seats not back within {DEADLINE:?}"));
    assert_ne!(again.id(), hold.id());
    let read = api.reservation(&hold.id()).await;
    assert_eq!(read.expect(200)["status"], "expired", "{read}");
    api.cancel(&hold.id()).await.expect_problem(409, "conflict");
    let stats = api.stats("reclaim", "combi").await;
    assert_eq!((stats.free, stats.held), (0, SEATS), "{stats:?}");
    common::sql::assert_seats_consistent(&shop.db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hold_past_its_end_reads_expired_and_cannot_be_cancelled() {
    // The sweep is all but off, so the hold is still in the tables when it is read.
    let options = ShopOptions::default().env("EXPIRY_SWEEP_INTERVAL_MS", "3600000");
    let shop = Shop::start_with(options).await;
    let api = &shop.api;
    api.create_event(&short_holds("late")).await;
    let hold = api.reserve("late", &[("combi", 2)]).await;
    hold.expect(201);
    let end = stored_end(&shop, &hold.id()).await;
    let wait = (end - Utc::now()).num_milliseconds().max(0) as u64;
    tokio::time::sleep(Duration::from_millis(wait + 300)).await;

    let read = api.reservation(&hold.id()).await;

    assert_eq!(read.expect(200)["status"], "expired", "{read}");
    api.cancel(&hold.id()).await.expect_problem(409, "conflict");
    assert_eq!(api.reservation(&hold.id()).await.body["status"], "expired");
    common::sql::assert_seats_consistent(&shop.db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expires_at_is_never_before_the_holds_end() {
    let shop = Shop::start().await;
    shop.api.create_event(&event("shown", 50)).await;

    // A client that trusts `expiresAt` must not see a hold that it says has ended still
    // read `held`; a few holds make a whole-second end by chance unlikely.
    for _ in 0..5 {
        let hold = shop.api.reserve("shown", &[("combi", 1)]).await;
        hold.expect(201);
        let shown = expires_at(&hold.body);
        let end = stored_end(&shop, &hold.id()).await;
        assert!(
            shown >= end,
            "expiresAt {shown} is before the hold's end {end}: {hold}"
        );
        tokio::time::sleep(Duration::from_millis(137)).await;
    }
}

/// `reservations.expires_at` of one reservation.
async fn stored_end(shop: &Shop, id: &str) -> DateTime<Utc> {
    let sql = "SELECT expires_at FROM reservations WHERE id = $1::uuid";
    let end: Option<DateTime<Utc>> = sqlx::query_scalar(sql)
        .bind(id)
        .fetch_one(&shop.db)
        .await
        .expect("read the hold's end");
    end.unwrap_or_else(|| panic!("reservation {id} has no end"))
}
