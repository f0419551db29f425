//! `Idempotency-Key` on reservations: replays, key reuse, keys per event, and duplicates
//! that arrive together.

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use common::{event, items, Shop, ShopOptions};
use tokio::sync::Barrier;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_answers_the_first_answer_and_takes_nothing() {
    let shop = Shop::start().await;
    let api = &shop.api;
    api.create_event(&event("replay", 10)).await;
    let body = items(&[("combi", 3)]);

    let first = api.reserve_keyed("replay", "key-1", &body).await;
    let second = api.reserve_keyed("replay", "key-1", &body).await;

    first.expect(201);
    second.expect(201);
    assert_eq!(
        second.body, first.body,
        "the replay differs from the first answer"
    );
    assert_eq!(second.id(), first.id());
    assert_eq!(
        api.stats("replay", "combi").await.held,
        3,
        "the replay took seats"
    );
    let reservations = common::sql::count(&shop.db, "SELECT count(*) FROM reservations").await;
    assert_eq!(reservations, 1);
    common::sql::assert_seats_consistent(&shop.db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_of_not_enough_seats_stays_412() {
    let shop = Shop::start().await;
    let api = &shop.api;
    api.create_event(&event("sold-out", 2)).await;
    let holder = api.reserve("sold-out", &[("combi", 2)]).await;
    holder.expect(201);
    let body = items(&[("combi", 1)]);

    let refused = api.reserve_keyed("sold-out", "late", &body).await;
    refused.expect_problem(412, "not_enough_seats");
    // Seats come back; the replay still answers what the key first got.
    api.cancel(&holder.id()).await.expect(204);
    let replay = api.reserve_keyed("sold-out", "late", &body).await;

    replay.expect_problem(412, "not_enough_seats");
    assert_eq!(replay.body, refused.body);
    api.reserve_keyed("sold-out", "fresh", &body)
        .await
        .expect(201);
    assert_eq!(api.stats("sold-out", "combi").await.held, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_reused_with_another_body_is_refused() {
    let shop = Shop::start().await;
    let api = &shop.api;
    api.create_event(&event("reuse", 10)).await;
    let first = api
        .reserve_keyed("reuse", "k", &items(&[("combi", 1)]))
        .await;
    first.expect(201);

    let other = api
        .reserve_keyed("reuse", "k", &items(&[("combi", 2)]))
        .await;

    other.expect_problem(422, "idempotency_key_reused");
    let mut with_email = items(&[("combi", 1)]);
    with_email["email"] = serde_json::json!("someone@example.org");
    let answer = api.reserve_keyed("reuse", "k", &with_email).await;
    answer.expect_problem(422, "idempotency_key_reused");
    let replay = api
        .reserve_keyed("reuse", "k", &items(&[("combi", 1)]))
        .await;
    assert_eq!(
        replay.expect(201),
        &first.body,
        "the original still replays"
    );
    assert_eq!(api.stats("reuse", "combi").await.held, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_per_event() {
    let shop = Shop::start().await;
    let api = &shop.api;
    for slug in ["first", "second", "third"] {
        api.create_event(&event(slug, 10)).await;
    }
    let body = items(&[("combi", 2)]);

    let first = api.reserve_keyed("first", "shared", &body).await;
    let second = api.reserve_keyed("second", "shared", &body).await;
    let third = api
        .reserve_keyed("third", "shared", &items(&[("combi", 5)]))
        .await;

    first.expect(201);
    second.expect(201);
    third.expect(201);
    assert_ne!(first.id(), second.id(), "one key answered for two events");
    assert_eq!(second.body["event"], "second", "{second}");
    assert_eq!(api.stats("first", "combi").await.held, 2);
    assert_eq!(api.stats("second", "combi").await.held, 2);
    assert_eq!(api.stats("third", "combi").await.held, 5);
    let replay = api.reserve_keyed("second", "shared", &body).await;
    assert_eq!(replay.id(), second.id());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn duplicates_sent_together_make_one_reservation() {
    const DUPLICATES: usize = 20;
    let shop = Shop::start_with(ShopOptions {
        processes: 2,
        ..ShopOptions::default()
    })
    .await;
    shop.api.create_event(&event("together", 100)).await;
    let body = items(&[("combi", 4)]);
    let barrier = Arc::new(Barrier::new(DUPLICATES));

    // Alternating between the two processes, all released at once.
    let mut tasks = Vec::new();
    for _ in 0..DUPLICATES {
        let (api, body, barrier) = (shop.api.clone(), body.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            let request = api.request(
                reqwest::Method::POST,
                "/api/v1/events/together/reservations",
            );
            let request = request.header("Idempotency-Key", "burst").json(&body);
            barrier.wait().await;
            api.send(request).await
        }));
    }
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.expect("request task"));
    }

    for answer in &answers {
        answer.expect(201);
    }
    let ids: HashSet<String> = answers.iter().map(|a| a.id()).collect();
    assert_eq!(
        ids.len(),
        1,
        "{} reservations for one key: {ids:?}",
        ids.len()
    );
    assert!(
        answers.iter().all(|a| a.body == answers[0].body),
        "answers differ"
    );
    let reservations = common::sql::count(&shop.db, "SELECT count(*) FROM reservations").await;
    assert_eq!(reservations, 1);
    assert_eq!(shop.api.stats("together", "combi").await.held, 4);
    common::sql::assert_seats_consistent(&shop.db).await;
}
