//! The admin API: creating and changing events, adding seats, stats, and the token.

mod common;

use common::api::Stats;
use common::{category, event, Shop};
use reqwest::Method;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_created_event_reads_back_in_utc_with_defaults() {
    let shop = Shop::start().await;
    let mut body = event("devoxx", 2_000);
    body["saleStartsAt"] = json!("2026-08-20T09:00");

    let created = shop.api.create_event(&body).await;
    let public = shop.api.event("devoxx").await;

    for doc in [&created, &public] {
        assert_eq!(doc["slug"], "devoxx", "{doc}");
        assert_eq!(doc["name"], "Event devoxx", "{doc}");
        assert_eq!(doc["timezone"], "Europe/Brussels", "{doc}");
        assert_eq!(doc["currency"], "EUR", "{doc}");
        assert_eq!(doc["venue"], json!(null), "{doc}");
        // Brussels is at +02:00 in summer and early October.
        assert_eq!(doc["startsAt"], "2030-10-05T07:00:00Z", "{doc}");
        assert_eq!(doc["endsAt"], "2030-10-09T16:00:00Z", "{doc}");
        assert_eq!(doc["saleStartsAt"], "2026-08-20T07:00:00Z", "{doc}");
        assert_eq!(doc["saleEndsAt"], json!(null), "{doc}");
        assert_eq!(doc["checkInOpensAt"], json!(null), "{doc}");
        assert_eq!(doc["maxTicketsPerReservation"], 10, "{doc}");
        assert_eq!(doc["reservationTimeoutSeconds"], 1500, "{doc}");
        assert_eq!(doc["paymentDeadlineHours"], 72, "{doc}");
        let combi = &doc["categories"][0];
        assert_eq!(combi["slug"], "combi", "{doc}");
        assert_eq!(combi["price"], "550.00", "{doc}");
        assert_eq!(combi["seats"], 2_000, "{doc}");
    }
    assert_eq!(public["categories"][0]["available"], 2_000, "{public}");

    let seat_rows = common::sql::count(&shop.db, "SELECT count(*) FROM seats").await;
    assert_eq!(seat_rows, 2_000, "one seat row per seat");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_slug_is_a_conflict() {
    let shop = Shop::start().await;
    shop.api.create_event(&event("twice", 10)).await;

    let mut again = event("twice", 50);
    again["name"] = json!("Another name");
    let answer = shop.api.admin_post("/admin/v1/events", &again).await;

    answer.expect_problem(409, "conflict");
    let kept = shop.api.event("twice").await;
    assert_eq!(
        kept["name"], "Event twice",
        "the first event is unchanged: {kept}"
    );
    assert_eq!(kept["categories"][0]["seats"], 10, "{kept}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_calls_need_the_token() {
    let shop = Shop::start().await;
    shop.api.create_event(&event("guarded", 10)).await;
    let api = &shop.api;

    let calls = [
        (Method::POST, "/admin/v1/events", Some(event("sneaky", 10))),
        (
            Method::PATCH,
            "/admin/v1/events/guarded",
            Some(json!({"name": "Taken over"})),
        ),
        (
            Method::POST,
            "/admin/v1/events/guarded/categories/combi/seats",
            Some(json!({"add": 5})),
        ),
        (Method::GET, "/admin/v1/events/guarded/stats", None),
        (Method::GET, "/admin/v1/events/no-such-event/stats", None),
    ];
    for (method, path, body) in calls {
        let with_body = |mut request: reqwest::RequestBuilder| {
            if let Some(body) = &body {
                request = request.json(body);
            }
            request
        };
        let missing = api.send(with_body(api.request(method.clone(), path))).await;
        missing.expect_problem(401, "unauthorized");
        let wrong = with_body(
            api.request(method.clone(), path)
                .bearer_auth("not-the-token"),
        );
        api.send(wrong).await.expect_problem(401, "unauthorized");
        let basic = api
            .request(method.clone(), path)
            .basic_auth("admin", Some(common::ADMIN_TOKEN));
        api.send(with_body(basic))
            .await
            .expect_problem(401, "unauthorized");
    }

    // Nothing the refused calls asked for happened.
    api.get("/api/v1/events/sneaky")
        .await
        .expect_problem(404, "event_not_found");
    let guarded = api.event("guarded").await;
    assert_eq!(guarded["name"], "Event guarded", "{guarded}");
    assert_eq!(guarded["categories"][0]["seats"], 10, "{guarded}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patch_changes_the_event() {
    let shop = Shop::start().await;
    let api = &shop.api;
    api.create_event(&event("patched", 10)).await;

    // Winter time in Brussels: +01:00.
    let patch = json!({"name": "Renamed", "saleEndsAt": "2031-01-15T10:00"});
    let answer = api.admin_patch("/admin/v1/events/patched", &patch).await;
    let doc = answer.expect(200);
    assert_eq!(doc["name"], "Renamed", "{doc}");
    assert_eq!(doc["saleEndsAt"], "2031-01-15T09:00:00Z", "{doc}");
    assert_eq!(
        doc["startsAt"], "2030-10-05T07:00:00Z",
        "untouched fields stay: {doc}"
    );
    let public = api.event("patched").await;
    assert_eq!(public["saleEndsAt"], "2031-01-15T09:00:00Z", "{public}");
    api.reserve("patched", &[("combi", 1)]).await.expect(201);

    // A sale end in the past closes the sale at once.
    let closed = json!({"saleEndsAt": "2026-01-01T00:00:00Z"});
    api.admin_patch("/admin/v1/events/patched", &closed)
        .await
        .expect(200);
    api.reserve("patched", &[("combi", 1)])
        .await
        .expect_problem(422, "sale_closed");

    // `null` clears it: never closes.
    let cleared = api
        .admin_patch("/admin/v1/events/patched", &json!({"saleEndsAt": null}))
        .await;
    assert_eq!(cleared.expect(200)["saleEndsAt"], json!(null), "{cleared}");
    api.reserve("patched", &[("combi", 1)]).await.expect(201);

    let unknown = api
        .admin_patch("/admin/v1/events/nope", &json!({"name": "x"}))
        .await;
    unknown.expect_problem(404, "event_not_found");
    let bad_zone = json!({"timezone": "Mars/Olympus"});
    let answer = api.admin_patch("/admin/v1/events/patched", &bad_zone).await;
    answer.expect_field_error("timezone", "invalid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn added_seats_go_on_sale() {
    let shop = Shop::start().await;
    let api = &shop.api;
    api.create_event(&event("grow", 10)).await;
    api.reserve("grow", &[("combi", 10)]).await.expect(201);
    api.reserve("grow", &[("combi", 1)])
        .await
        .expect_problem(412, "not_enough_seats");

    let path = "/admin/v1/events/grow/categories/combi/seats";
    let answer = api.admin_post(path, &json!({"add": 5})).await;

    let doc = answer.expect(200);
    assert_eq!(doc["slug"], "combi", "{doc}");
    assert_eq!(doc["name"], "combi", "{doc}");
    assert_eq!(doc["price"], "550.00", "{doc}");
    assert_eq!(doc["seats"], 15, "{doc}");
    assert_eq!(doc["available"], 5, "{doc}");
    assert_eq!(api.available("grow", "combi").await, 5);
    api.reserve("grow", &[("combi", 5)]).await.expect(201);
    let stats = api.stats("grow", "combi").await;
    assert_eq!(stats, Stats::only_held(15, 15));
    common::sql::assert_seats_consistent(&shop.db).await;

    let unknown_category = "/admin/v1/events/grow/categories/balcony/seats";
    let answer = api.admin_post(unknown_category, &json!({"add": 5})).await;
    answer.expect_problem(422, "unknown_category");
    let unknown_event = "/admin/v1/events/nope/categories/combi/seats";
    let answer = api.admin_post(unknown_event, &json!({"add": 5})).await;
    answer.expect_problem(404, "event_not_found");
}

const STATS_FIELDS: [&str; 7] = [
    "slug",
    "seats",
    "free",
    "held",
    "awaitingPayment",
    "sold",
    "checkedIn",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_count_every_state() {
    let shop = Shop::start().await;
    let api = &shop.api;
    let mut body = event("counted", 10);
    body["categories"] = json!([category("combi", 10), category("conference", 4)]);
    api.create_event(&body).await;
    api.reserve("counted", &[("combi", 3), ("conference", 1)])
        .await
        .expect(201);
    let cancelled = api.reserve("counted", &[("combi", 2)]).await;
    api.cancel(&cancelled.id()).await.expect(204);

    let answer = api.admin_get("/admin/v1/events/counted/stats").await;

    let doc = answer.expect(200);
    let lines = doc["categories"]
        .as_array()
        .unwrap_or_else(|| panic!("{doc}"));
    assert_eq!(lines.len(), 2, "{doc}");
    for line in lines {
        for field in STATS_FIELDS {
            assert!(
                line.get(field).is_some(),
                "stats line without `{field}`: {line}"
            );
        }
    }
    let combi = api.stats("counted", "combi").await;
    assert_eq!(combi, Stats::only_held(10, 3));
    let conference = api.stats("counted", "conference").await;
    assert_eq!(conference, Stats::only_held(4, 1));

    let unknown = api.admin_get("/admin/v1/events/nope/stats").await;
    unknown.expect_problem(404, "event_not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_events_name_the_fields() {
    let shop = Shop::start().await;
    let api = &shop.api;
    let cases = [
        (
            changed(|b| b["categories"][0]["price"] = json!("5.555")),
            "categories[0].price",
            "invalid",
        ),
        (
            changed(|b| b["categories"][0]["seats"] = json!(-1)),
            "categories[0].seats",
            "out_of_range",
        ),
        (
            changed(|b| b["categories"][0]["seats"] = json!(5_000_001)),
            "categories[0].seats",
            "out_of_range",
        ),
        (
            changed(|b| b["slug"] = json!("Not A Slug")),
            "slug",
            "invalid",
        ),
        (
            changed(|b| b["slug"] = json!("a".repeat(65))),
            "slug",
            "too_long",
        ),
        (changed(|b| b["name"] = json!("")), "name", "required"),
        (
            changed(|b| b["timezone"] = json!("Mars/Olympus")),
            "timezone",
            "invalid",
        ),
        (
            changed(|b| b["currency"] = json!("eur")),
            "currency",
            "invalid",
        ),
        (
            changed(|b| b["startsAt"] = json!("next tuesday")),
            "startsAt",
            "invalid",
        ),
        (
            changed(|b| b["categories"] = json!([category("combi", 10), category("combi", 5)])),
            "categories[1].slug",
            "duplicate",
        ),
    ];
    for (body, field, code) in cases {
        let answer = api.admin_post("/admin/v1/events", &body).await;
        answer.expect_field_error(field, code);
    }

    // None of them was created.
    let events = common::sql::count(&shop.db, "SELECT count(*) FROM events").await;
    assert_eq!(events, 0, "refused events were stored");
}

/// The test event `valid-slug`, changed by `change`.
fn changed(change: impl FnOnce(&mut Value)) -> Value {
    let mut body = event("valid-slug", 10);
    change(&mut body);
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_admin_bodies_are_400() {
    let shop = Shop::start().await;
    let api = &shop.api;
    api.create_event(&event("shape", 10)).await;

    let raw = |method: Method, path: &str, body: &str| {
        let request = api
            .admin(method, path)
            .header("content-type", "application/json");
        api.send(request.body(body.to_string()))
    };
    raw(Method::POST, "/admin/v1/events", "{not json")
        .await
        .expect_problem(400, "malformed_body");
    raw(Method::POST, "/admin/v1/events", "[1, 2]")
        .await
        .expect_problem(400, "malformed_body");
    let wrong_type = r#"{"slug": "x", "name": "x", "timezone": "UTC", "currency": "EUR",
                         "categories": "none"}"#;
    raw(Method::POST, "/admin/v1/events", wrong_type)
        .await
        .expect_problem(400, "malformed_body");
    raw(Method::PATCH, "/admin/v1/events/shape", "{")
        .await
        .expect_problem(400, "malformed_body");
    let seats = "/admin/v1/events/shape/categories/combi/seats";
    raw(Method::POST, seats, r#"{"add": "five"}"#)
        .await
        .expect_problem(400, "malformed_body");
}
