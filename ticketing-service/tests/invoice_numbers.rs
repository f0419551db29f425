//! Gapless invoice numbers under concurrency: 50 clients confirm 500 invoiced
//! reservations while 100 of them are cancelled (voiding their invoices), then 100 more
//! are confirmed. The live invoices must be numbered exactly 1..500, and the voided
//! numbers must come back lowest first.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::checkout::buyer_with_invoice;
use common::{event, Api, Shop, ShopOptions};
use serde_json::json;
use tokio::sync::Barrier;

const CLIENTS: usize = 50;
const PER_CLIENT: usize = 10;
/// A client cancels its confirmation number `EARLY` right after making it (its number is
/// likely reused during the run), and number `LATE` once every client has made all ten
/// (so these stay in the pool for the second phase): 2 per client.
const EARLY: usize = 1;
const LATE: usize = 5;
const MORE: usize = 100;

/// Reserves one seat, gives invoice details and confirms by bank transfer; returns the
/// reservation id and its invoice sequence (the pattern is `%d`).
async fn confirm_one(api: &Api) -> (String, i64) {
    let (id, answer) = api
        .checkout("numbers", 1, &buyer_with_invoice("BE", None), "offline")
        .await;
    let doc = answer.expect(200);
    let number = doc["payment"]["invoice"]
        .as_str()
        .unwrap_or_else(|| panic!("no invoice number in {doc}"));
    (id, number.parse().expect("a plain number"))
}

async fn cancel(api: &Api, id: &str) {
    let answer = api.admin_cancel(id).await;
    assert_eq!(answer.expect(200)["status"], "cancelled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn live_invoices_are_numbered_without_gaps_and_voided_numbers_return_lowest_first() {
    let options = ShopOptions {
        processes: 2,
        pool_size: 20,
        ..ShopOptions::default()
    };
    let shop = Shop::start_with(options).await;
    let mut body = event("numbers", 700);
    body["maxTicketsPerReservation"] = json!(1);
    shop.api.create_event(&body).await;
    shop.api.invoice_settings("%d", "CN%d").await;
    let started = Instant::now();

    // Phase 1: 500 confirmations from 50 clients, 100 of them cancelled as they go.
    let all_confirmed = Arc::new(Barrier::new(CLIENTS));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let api = shop.api.clone();
            let all_confirmed = all_confirmed.clone();
            tokio::spawn(async move {
                let mut confirmed = Vec::new();
                for i in 0..PER_CLIENT {
                    confirmed.push(confirm_one(&api).await);
                    if i == EARLY {
                        cancel(&api, &confirmed[i].0).await;
                    }
                }
                all_confirmed.wait().await;
                cancel(&api, &confirmed[LATE].0).await;
                vec![confirmed[EARLY].1, confirmed[LATE].1]
            })
        })
        .collect();
    let mut voided = Vec::new();
    for client in clients {
        voided.extend(client.await.expect("client task"));
    }
    assert_eq!(voided.len(), CLIENTS * 2);
    let phase_one = started.elapsed();

    let pooled: Vec<i32> =
        sqlx::query_scalar("SELECT sequence FROM pooled_numbers ORDER BY sequence")
            .fetch_all(&shop.db)
            .await
            .unwrap();
    let counter: i32 =
        sqlx::query_scalar("SELECT last FROM document_sequences WHERE kind = 'invoice'")
            .fetch_one(&shop.db)
            .await
            .unwrap();
    assert_eq!(
        pooled.len(),
        CLIENTS,
        "the late cancellations' numbers wait in the pool"
    );
    let live = CLIENTS * PER_CLIENT - voided.len();
    assert_eq!(
        counter as usize,
        live + pooled.len(),
        "every number up to the counter is live or pooled"
    );

    // Phase 2: 100 more, one after the other, so the order they are handed out in shows.
    let mut taken = Vec::new();
    for _ in 0..MORE {
        taken.push(confirm_one(&shop.api).await.1);
    }
    let mut expected: Vec<i64> = pooled.iter().map(|&n| i64::from(n)).collect();
    expected.extend(
        (1..)
            .map(|k| i64::from(counter) + k)
            .take(MORE - pooled.len()),
    );
    assert_eq!(
        taken, expected,
        "pooled numbers first, lowest first, then new ones"
    );

    // The live invoices are exactly 1..500; the voided ones are all reused.
    let live: Vec<i32> = sqlx::query_scalar(
        "SELECT sequence FROM invoices WHERE kind = 'invoice' AND state <> 'voided' \
         ORDER BY sequence",
    )
    .fetch_all(&shop.db)
    .await
    .unwrap();
    assert_eq!(live, (1..=500).collect::<Vec<i32>>(), "live sequences");
    let voided_rows: Vec<i32> = sqlx::query_scalar(
        "SELECT sequence FROM invoices WHERE kind = 'invoice' AND state = 'voided'",
    )
    .fetch_all(&shop.db)
    .await
    .unwrap();
    let voided_set: BTreeSet<i64> = voided.iter().copied().collect();
    assert_eq!(voided_rows.len(), 100);
    assert_eq!(
        voided_rows
            .iter()
            .map(|&n| i64::from(n))
            .collect::<BTreeSet<_>>(),
        voided_set,
        "the cancelled reservations' invoices are the voided ones"
    );
    let pool_left = common::sql::count(&shop.db, "SELECT count(*) FROM pooled_numbers").await;
    assert_eq!(pool_left, 0);
    let listed = shop.api.invoices("numbers").await;
    assert_eq!(listed.len(), 600, "voided invoices keep their record");
    common::sql::assert_seats_consistent(&shop.db).await;
    eprintln!(
        "500 confirmations and 100 cancellations from {CLIENTS} clients in {phase_one:?}; \
         {} numbers pooled after phase 1; total {:?}",
        pooled.len(),
        started.elapsed()
    );
    assert!(started.elapsed() < Duration::from_secs(300));
}
