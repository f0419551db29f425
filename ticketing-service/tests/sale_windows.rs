//! Sale windows given in the event's time zone, across daylight-saving changes.
//!
//! Brussels moves to summer time on the last Sunday of March (02:00 → 03:00) and back on the
//! last Sunday of October (03:00 → 02:00): 09:00 local is 07:00Z on the spring change day
//! and 08:00Z on the autumn one.

mod common;

use std::time::{Duration, Instant};

use chrono::{Datelike, NaiveDate, SecondsFormat, Timelike, Utc, Weekday};
use common::{event, Shop};
use serde_json::json;

/// The last Sunday of March next year: a spring change day that is always ahead of now.
fn next_spring_change_day() -> NaiveDate {
    let year = Utc::now().year() + 1;
    let mut day = NaiveDate::from_ymd_opt(year, 3, 31).expect("March 31 exists");
    while day.weekday() != Weekday::Sun {
        day = day.pred_opt().expect("a day before");
    }
    day
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sale_opening_on_a_coming_spring_change_day_is_not_open_yet() {
    let shop = Shop::start().await;
    let day = next_spring_change_day();
    let mut body = event("spring-ahead", 10);
    body["saleStartsAt"] = json!(format!("{day}T09:00"));

    let created = shop.api.create_event(&body).await;

    let expected = format!("{day}T07:00:00Z");
    assert_eq!(created["saleStartsAt"], json!(expected), "{created}");
    let public = shop.api.event("spring-ahead").await;
    assert_eq!(public["saleStartsAt"], json!(expected), "{public}");
    let answer = shop.api.reserve("spring-ahead", &[("combi", 1)]).await;
    answer.expect_problem(422, "sale_not_open");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sale_that_opened_on_a_past_spring_change_day_is_open() {
    let shop = Shop::start().await;
    let mut body = event("spring-past", 10);
    body["saleStartsAt"] = json!("2026-03-29T09:00");

    let created = shop.api.create_event(&body).await;

    assert_eq!(created["saleStartsAt"], "2026-03-29T07:00:00Z", "{created}");
    shop.api
        .reserve("spring-past", &[("combi", 1)])
        .await
        .expect(201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sale_that_ended_on_the_autumn_change_day_is_closed() {
    let shop = Shop::start().await;
    let mut body = event("autumn", 10);
    body["saleStartsAt"] = json!("2026-03-29T09:00");
    body["saleEndsAt"] = json!("2026-10-25T09:00");

    let created = shop.api.create_event(&body).await;

    assert_eq!(created["saleEndsAt"], "2026-10-25T08:00:00Z", "{created}");
    let answer = shop.api.reserve("autumn", &[("combi", 1)]).await;
    answer.expect_problem(422, "sale_closed");
    // The sale window is checked before the categories.
    let answer = shop.api.reserve("autumn", &[("balcony", 1)]).await;
    answer.expect_problem(422, "sale_closed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_times_skipped_or_repeated_by_a_change_are_refused() {
    let shop = Shop::start().await;
    let day = next_spring_change_day();

    let mut skipped = event("skipped", 10);
    skipped["saleStartsAt"] = json!(format!("{day}T02:30"));
    let answer = shop.api.admin_post("/admin/v1/events", &skipped).await;
    answer.expect_field_error("saleStartsAt", "nonexistent_local_time");

    let mut repeated = event("repeated", 10);
    repeated["saleEndsAt"] = json!("2026-10-25T02:30");
    let answer = shop.api.admin_post("/admin/v1/events", &repeated).await;
    answer.expect_field_error("saleEndsAt", "ambiguous_local_time");

    let count = common::sql::count(&shop.db, "SELECT count(*) FROM events").await;
    assert_eq!(count, 0, "refused events were stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_and_other_zones_are_honoured() {
    let shop = Shop::start().await;
    let api = &shop.api;
    let day = next_spring_change_day();

    // An explicit offset wins over the event's zone.
    let mut offset = event("offset", 10);
    offset["saleStartsAt"] = json!(format!("{day}T09:00:00+02:00"));
    offset["saleEndsAt"] = json!(format!("{day}T12:00:00Z"));
    let created = api.create_event(&offset).await;
    let utc = |time: &str| json!(format!("{day}T{time}Z"));
    assert_eq!(created["saleStartsAt"], utc("07:00:00"), "{created}");
    assert_eq!(created["saleEndsAt"], utc("12:00:00"), "{created}");

    // New York changes two weeks before Brussels: on the second Sunday of March, 2027.
    let mut new_york = event("new-york", 10);
    new_york["timezone"] = json!("America/New_York");
    new_york["saleStartsAt"] = json!("2027-03-14T09:00");
    let created = api.create_event(&new_york).await;
    assert_eq!(created["saleStartsAt"], "2027-03-14T13:00:00Z", "{created}");

    // A patch reads local times in the zone the event has after the patch.
    let patch = json!({
        "timezone": "America/New_York",
        "saleStartsAt": format!("{day}T09:00"),
        "saleEndsAt": format!("{day}T18:00"),
    });
    let answer = api.admin_patch("/admin/v1/events/offset", &patch).await;
    let doc = answer.expect(200);
    assert_eq!(doc["timezone"], "America/New_York", "{doc}");
    assert_eq!(doc["saleStartsAt"], utc("13:00:00"), "{doc}");
    assert_eq!(doc["saleEndsAt"], utc("22:00:00"), "{doc}");

    // A sale that would end before it starts is refused, naming the end.
    let backwards = json!({"saleEndsAt": format!("{day}T08:00")});
    let answer = api.admin_patch("/admin/v1/events/offset", &backwards).await;
    answer.expect_field_error("saleEndsAt", "out_of_range");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sale_opens_at_its_start() {
    let shop = Shop::start().await;
    let opens = Utc::now() + chrono::Duration::seconds(3);
    let opens = opens.with_nanosecond(0).expect("a whole second exists");
    let mut body = event("soon", 10);
    body["saleStartsAt"] = json!(opens.to_rfc3339_opts(SecondsFormat::Secs, true));
    shop.api.create_event(&body).await;
    shop.api
        .reserve("soon", &[("combi", 1)])
        .await
        .expect_problem(422, "sale_not_open");

    let start = Instant::now();
    let opened = common::poll(
        Duration::from_secs(20),
        Duration::from_millis(100),
        || async {
            let answer = shop.api.reserve("soon", &[("combi", 1)]).await;
            let answered_at = Utc::now();
            match answer.status {
                201 => Some(answered_at),
                _ => {
                    answer.expect_problem(422, "sale_not_open");
                    None
                }
            }
        },
    )
    .await;

    let opened = opened.expect("the sale did not open within 20 s of its start");
    let late = (opened - opens).num_milliseconds();
    println!(
        "sale opened {late} ms after its start (polled for {:?})",
        start.elapsed()
    );
    assert!(
        late >= 0,
        "a reservation answered {late} ms before the sale opened"
    );
}
