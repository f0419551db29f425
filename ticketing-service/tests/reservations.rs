//! Public reservations: holding seats, the rules and their codes, reading and cancelling.

mod common;

use chrono::{DateTime, Utc};
use common::api::{reservations_path, Stats};
use common::{category, event, items, Shop};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reservation_holds_seats_and_reads_back() {
    let shop = Shop::start().await;
    let api = &shop.api;
    api.create_event(&event("held", 20)).await;

    let mut body = items(&[("combi", 3)]);
    body["email"] = json!("a@example.org");
    let before = Utc::now();
    let answer = api.post(&reservations_path("held"), &body).await;

    let doc = answer.expect(201).clone();
    let id = answer.id();
    assert!(
        uuid::Uuid::parse_str(&id).is_ok(),
        "id is not a UUID: {doc}"
    );
    assert_eq!(doc["event"], "held", "{doc}");
    assert_eq!(doc["status"], "held", "{doc}");
    assert_eq!(doc["email"], "a@example.org", "{doc}");
    assert_eq!(
        doc["items"],
        json!([{"category": "combi", "quantity": 3}]),
        "{doc}"
    );
    assert_eq!(doc["tickets"], json!([]), "{doc}");
    let expires = expires_at(&doc);
    let hold = (expires - before).num_seconds();
    assert!(
        (1_490..=1_510).contains(&hold),
        "hold of {hold} s, expected 1500: {doc}"
    );

    let read = api.reservation(&id).await;
    assert_eq!(read.expect(200), &doc, "GET reads what POST answered");
    assert_eq!(api.available("held", "combi").await, 17);
    let stats = api.stats("held", "combi").await;
    assert_eq!(stats, Stats::only_held(20, 3));
    let totals = common::sql::assert_seats_consistent(&shop.db).await;
    assert_eq!(totals.taken, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_rules_answer_their_codes_and_take_nothing() {
    let shop = Shop::start().await;
    let api = &shop.api;
    api.create_event(&event("rules", 15)).await;

    let no_event = api.reserve("no-such-event", &[("combi", 1)]).await;
    no_event.expect_problem(404, "event_not_found");
    let balcony = api.reserve("rules", &[("balcony", 1)]).await;
    balcony.expect_problem(422, "unknown_category");
    for quantity in [0, -1, 10_001] {
        let answer = api.reserve("rules", &[("combi", quantity)]).await;
        answer.expect_problem(422, "invalid_quantity");
    }
    let nothing = api
        .post(&reservations_path("rules"), &json!({"items": []}))
        .await;
    nothing.expect_problem(422, "invalid_quantity");
    let eleven = api.reserve("rules", &[("combi", 11)]).await;
    eleven.expect_problem(422, "over_maximum");
    // Rules are checked in order: category before maximum.
    let both = api.reserve("rules", &[("balcony", 11)]).await;
    both.expect_problem(422, "unknown_category");

    api.reserve("rules", &[("combi", 10)]).await.expect(201);
    let six = api.reserve("rules", &[("combi", 6)]).await;
    six.expect_problem(412, "not_enough_seats");
    // Maximum before seats left.
    api.reserve("rules", &[("combi", 11)])
        .await
        .expect_problem(422, "over_maximum");
    api.reserve("rules", &[("combi", 5)]).await.expect(201);
    api.reserve("rules", &[("combi", 1)])
        .await
        .expect_problem(412, "not_enough_seats");

    let reservations = common::sql::count(&shop.db, "SELECT count(*) FROM reservations").await;
    assert_eq!(reservations, 2, "refused reservations were stored");
    let totals = common::sql::assert_seats_consistent(&shop.db).await;
    assert_eq!(totals.taken, 15);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_maximum_counts_the_whole_reservation() {
    let shop = Shop::start().await;
    let api = &shop.api;
    let mut body = event("whole", 50);
    body["categories"] = json!([category("combi", 50), category("conference", 50)]);
    api.create_event(&body).await;
    let mut small = event("small", 50);
    small["maxTicketsPerReservation"] = json!(4);
    assert_eq!(
        api.create_event(&small).await["maxTicketsPerReservation"],
        4
    );

    let over = api
        .reserve("whole", &[("combi", 10), ("conference", 1)])
        .await;
    over.expect_problem(422, "over_maximum");
    let split = api
        .reserve("whole", &[("combi", 5), ("conference", 5)])
        .await;
    let doc = split.expect(201);
    let mut lines = doc["items"].as_array().cloned().unwrap_or_default();
    lines.sort_by_key(|line| line["category"].as_str().map(str::to_string));
    let expected = json!([{"category": "combi", "quantity": 5},
                          {"category": "conference", "quantity": 5}]);
    assert_eq!(json!(lines), expected, "{doc}");
    assert_eq!(api.stats("whole", "combi").await.held, 5);
    assert_eq!(api.stats("whole", "conference").await.held, 5);

    api.reserve("small", &[("combi", 4)]).await.expect(201);
    api.reserve("small", &[("combi", 5)])
        .await
        .expect_problem(422, "over_maximum");
    let totals = common::sql::assert_seats_consistent(&shop.db).await;
    assert_eq!(totals.taken, 14);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_hold_frees_its_seats_at_once() {
    let shop = Shop::start().await;
    let api = &shop.api;
    api.create_event(&event("cancel", 10)).await;
    let answer = api.reserve("cancel", &[("combi", 4)]).await;
    let id = answer.expect(201)["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(api.available("cancel", "combi").await, 6);

    let deleted = api.cancel(&id).await;

    deleted.expect(204);
    assert!(deleted.text.is_empty(), "204 with a body: {deleted}");
    assert_eq!(
        api.available("cancel", "combi").await,
        10,
        "seats are free at once"
    );
    let stats = api.stats("cancel", "combi").await;
    assert_eq!((stats.free, stats.held), (10, 0), "{stats:?}");
    let read = api.reservation(&id).await;
    assert_eq!(read.expect(200)["status"], "cancelled", "{read}");
    assert_eq!(
        common::sql::reservation_status(&shop.db, &id).await,
        "cancelled"
    );
    common::sql::assert_seats_consistent(&shop.db).await;
    api.reserve("cancel", &[("combi", 10)]).await.expect(201);

    api.cancel(&id).await.expect_problem(409, "conflict");
    let unknown = uuid::Uuid::new_v4().to_string();
    api.cancel(&unknown)
        .await
        .expect_problem(404, "reservation_not_found");
    api.reservation(&unknown)
        .await
        .expect_problem(404, "reservation_not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_reservation_bodies_are_400() {
    let shop = Shop::start().await;
    let api = &shop.api;
    api.create_event(&event("shape", 10)).await;
    let path = reservations_path("shape");

    let bodies = [
        "{not json",
        "",
        "[1, 2]",
        r#"{"items": "two"}"#,
        r#"{"items": [{"category": "combi", "quantity": "2"}]}"#,
        r#"{"items": [{"category": 7, "quantity": 2}]}"#,
    ];
    for body in bodies {
        api.post_raw(&path, body)
            .await
            .expect_problem(400, "malformed_body");
    }
    let reservations = common::sql::count(&shop.db, "SELECT count(*) FROM reservations").await;
    assert_eq!(reservations, 0);
}

fn expires_at(doc: &serde_json::Value) -> DateTime<Utc> {
    let text = doc["expiresAt"]
        .as_str()
        .unwrap_or_else(|| panic!("no expiresAt: {doc}"));
    assert!(text.ends_with('Z'), "expiresAt not in UTC: {doc}");
    let parsed = DateTime::parse_from_rfc3339(text);
    parsed
        .unwrap_or_else(|e| panic!("expiresAt `{text}`: {e}"))
        .with_timezone(&Utc)
}
