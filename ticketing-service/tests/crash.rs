//! A shop killed between taking a payment and issuing the tickets: the transaction never
//! committed, so nothing of the payment happened, and a retry completes it exactly once.
//!
//! "Between" is made real without fault injection: a separate connection holds a lock on
//! `tickets`, so marking paid stops at its first ticket statement, after the reservation
//! and its invoice were already updated in the same transaction. The test waits until
//! PostgreSQL shows that statement waiting, kills the process with SIGKILL, lets the lock
//! go, starts a new process and retries.

mod common;

use std::time::Duration;

use boxoffice_e2e::service::{ShopConfig, ShopProcess};
use common::checkout::buyer_with_invoice;
use common::{event, poll, Api, Shop, ADMIN_TOKEN};
use serde_json::json;
use sqlx::{Connection, PgConnection};

async fn scalar(shop: &Shop, sql: &str, id: &str) -> i64 {
    sqlx::query_scalar(sql)
        .bind(id)
        .fetch_one(&shop.db)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shop_killed_between_payment_and_tickets_completes_the_order_once_on_retry() {
    let mut shop = Shop::start().await;
    shop.api.create_event(&event("crash", 10)).await;
    shop.api.invoice_settings("C-%04d", "CN-%04d").await;
    let (id, answer) = shop
        .api
        .checkout("crash", 3, &buyer_with_invoice("BE", None), "offline")
        .await;
    assert_eq!(answer.expect(200)["status"], "awaitingPayment");

    // Hold a lock the ticket statements need, and mark paid.
    let mut lock = PgConnection::connect(&shop.db_url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut lock).await.unwrap();
    sqlx::query("LOCK TABLE tickets IN ACCESS EXCLUSIVE MODE")
        .execute(&mut lock)
        .await
        .unwrap();
    let api = shop.api.clone();
    let path = format!("/admin/v1/reservations/{id}/mark-paid");
    let pending = tokio::spawn(async move {
        let request = api.admin(reqwest::Method::POST, &path).json(&json!({}));
        api.try_send(request).await
    });
    let blocked = poll(
        Duration::from_secs(10),
        Duration::from_millis(20),
        || async {
            let waiting: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity \
             WHERE application_name = 'ticketing-service' AND wait_event_type = 'Lock' \
               AND query LIKE '%tickets%'",
            )
            .fetch_one(&shop.db)
            .await
            .unwrap();
            (waiting == 1).then_some(())
        },
    )
    .await;
    assert!(blocked.is_some(), "mark-paid waits on the tickets table");
    let paid_part: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE a.application_name = 'ticketing-service' AND a.wait_event_type = 'Lock' \
           AND l.granted AND l.mode = 'RowExclusiveLock' \
           AND l.relation IN ('reservations'::regclass, 'invoices'::regclass)",
    )
    .fetch_one(&shop.db)
    .await
    .unwrap();
    assert_eq!(
        paid_part, 2,
        "the waiting transaction already wrote the payment"
    );

    shop.processes[0].kill().expect("SIGKILL the shop");
    let answer = pending.await.expect("request task");
    assert!(
        answer.is_err(),
        "the killed shop never answered: {answer:?}"
    );
    sqlx::query("ROLLBACK").execute(&mut lock).await.unwrap();

    // The killed process's connections end once PostgreSQL sees them closed.
    let gone = poll(
        Duration::from_secs(10),
        Duration::from_millis(50),
        || async {
            let left: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'ticketing-service'",
        )
        .fetch_one(&shop.db)
        .await
        .unwrap();
            (left == 0).then_some(())
        },
    )
    .await;
    assert!(gone.is_some(), "the killed shop's sessions end");
    let status = common::sql::reservation_status(&shop.db, &id).await;
    assert_eq!(status, "awaitingPayment", "nothing of the payment was kept");
    let tickets = "SELECT count(*) FROM tickets WHERE reservation_id = $1::uuid";
    assert_eq!(scalar(&shop, tickets, &id).await, 0);

    // A new process; the admin retries.
    let mut config = ShopConfig::new(common::shop_binary(), &shop.db_url, ADMIN_TOKEN);
    config.env.push(("LOG_FORMAT".into(), "text".into()));
    let process = tokio::task::block_in_place(|| ShopProcess::start(&config, &common::log_dir()))
        .expect("restart the shop");
    let api = Api::new(vec![process.base_url()]);
    shop.processes.push(process);
    let paid = api.mark_paid(&id).await;
    let paid = paid.expect(200).clone();
    assert_eq!(paid["status"], "paid", "{paid}");
    assert_eq!(paid["tickets"].as_array().unwrap().len(), 3, "{paid}");
    let again = api.mark_paid(&id).await;
    assert_eq!(again.expect(200)["tickets"], paid["tickets"]);

    assert_eq!(scalar(&shop, tickets, &id).await, 3, "one set of tickets");
    let invoices = "SELECT count(*) FROM invoices WHERE reservation_id = $1::uuid";
    assert_eq!(scalar(&shop, invoices, &id).await, 1, "one invoice");
    let paid_invoices =
        "SELECT count(*) FROM invoices WHERE reservation_id = $1::uuid AND state = 'paid'";
    assert_eq!(scalar(&shop, paid_invoices, &id).await, 1, "and it is paid");
    let numbers = api.invoices("crash").await;
    assert_eq!(numbers.len(), 1);
    assert_eq!(numbers[0]["number"], "C-0001");
    assert_eq!(api.stats("crash", "combi").await.sold, 3);
}
