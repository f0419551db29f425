//! Tickets at the door: signed QR payloads, check-in once, the reasons a ticket is
//! refused, two scanners racing, and the attendee list.

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::checkout::buyer;
use common::{event, Shop, ShopOptions};
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use serde_json::{json, Value};

/// An event whose tickets are free, so a confirmation pays them at once.
fn free_event(slug: &str, seats: i64) -> Value {
    let mut body = event(slug, seats);
    body["categories"][0]["price"] = json!("0.00");
    body
}

/// Buys `quantity` free tickets of `event`; returns their codes.
async fn tickets(shop: &Shop, event: &str, quantity: i64) -> Vec<String> {
    let (_, answer) = shop.api.checkout(event, quantity, &buyer(), "free").await;
    let doc = answer.expect(200);
    doc["tickets"]
        .as_array()
        .unwrap_or_else(|| panic!("no tickets in {doc}"))
        .iter()
        .map(|t| t["code"].as_str().expect("a code").to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_ticket_checks_in_once() {
    let shop = Shop::start().await;
    let mut body = free_event("door", 10);
    body["venue"] = json!("Kinepolis Antwerpen");
    let created = shop.api.create_event(&body).await;
    assert_eq!(created["venue"], "Kinepolis Antwerpen", "{created}");
    let code = tickets(&shop, "door", 1).await.remove(0);

    // The QR payload verifies offline with the event's public key.
    let ticket = shop.api.get(&format!("/api/v1/tickets/{code}")).await;
    let ticket = ticket.expect(200).clone();
    assert_eq!(ticket["status"], "valid", "{ticket}");
    assert_eq!(ticket["attendee"]["firstName"], "Ada", "{ticket}");
    let payload = ticket["qr"].as_str().unwrap().to_string();
    let key = shop.api.get("/api/v1/events/door/checkin-key").await;
    let key = key.expect(200)["publicKey"].as_str().unwrap().to_string();
    let key: [u8; 32] = URL_SAFE_NO_PAD.decode(key).unwrap().try_into().unwrap();
    let key = VerifyingKey::from_bytes(&key).unwrap();
    let (signed_code, signature) = payload.split_once('.').unwrap();
    assert_eq!(signed_code, code);
    let signature: [u8; 64] = URL_SAFE_NO_PAD
        .decode(signature)
        .unwrap()
        .try_into()
        .unwrap();
    let message = format!("boxoffice-ticket:v1:door:{code}");
    assert!(key
        .verify(message.as_bytes(), &Signature::from_bytes(&signature))
        .is_ok());

    let svg = shop
        .api
        .get(&format!("/api/v1/tickets/{code}/qr.svg"))
        .await;
    assert_eq!(svg.header("content-type"), Some("image/svg+xml"));
    assert!(svg.text.contains("<svg"));
    let pdf = shop
        .api
        .get(&format!("/api/v1/tickets/{code}/ticket.pdf"))
        .await;
    assert_eq!(pdf.header("content-type"), Some("application/pdf"));
    assert!(pdf.text.starts_with("%PDF-"));

    // A forged signature is no ticket; the payload itself checks in.
    let forged = format!("{code}.{}", URL_SAFE_NO_PAD.encode([7u8; 64]));
    shop.api
        .check_in("door", &forged)
        .await
        .expect_problem(404, "ticket_not_found");
    shop.api
        .check_in("door", "no-such-ticket")
        .await
        .expect_problem(404, "ticket_not_found");
    let first = shop.api.check_in("door", &payload).await;
    let at = first.expect(200)["checkedInAt"].clone();
    assert!(at.is_string(), "{first}");

    let second = shop.api.check_in("door", &code).await;
    let body = second.expect_problem(409, "already_checked_in");
    assert_eq!(body["checkedInAt"], at, "the first scan's time");
    assert_eq!(shop.api.stats("door", "combi").await.checked_in, 1);

    let csv = shop
        .api
        .admin_get("/admin/v1/events/door/attendees.csv")
        .await;
    assert_eq!(csv.status, 200);
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    let lines: Vec<&str> = csv.text.lines().collect();
    assert_eq!(lines.len(), 2, "{}", csv.text);
    assert!(lines[0].starts_with("code,category,seat,firstName,lastName"));
    // A code may start with `-` (URL-safe base64), which the export defuses for
    // spreadsheets with a leading `'`.
    let cell = match code.starts_with('-') {
        true => format!("'{code}"),
        false => code.clone(),
    };
    assert!(
        lines[1].starts_with(&format!("{cell},combi,")),
        "{}",
        lines[1]
    );
    assert!(
        lines[1].contains("Ada,Lovelace,ada@example.org,valid,"),
        "{}",
        lines[1]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tickets_that_may_not_enter_are_refused_with_the_reason() {
    let shop = Shop::start().await;
    shop.api.create_event(&free_event("main", 10)).await;
    shop.api.create_event(&free_event("side", 10)).await;
    shop.api.create_event(&event("pay-at-door", 10)).await;

    let refused = |answer: common::Answer, reason: &str| {
        let body = answer.expect_problem(422, "not_valid_for_entry");
        assert_eq!(body["reason"], reason, "{answer}");
    };

    let side = tickets(&shop, "side", 1).await.remove(0);
    refused(shop.api.check_in("main", &side).await, "other_event");

    let (id, _) = shop.api.checkout("main", 1, &buyer(), "free").await;
    let cancelled = shop.api.reservation(&id).await.body["tickets"][0]["code"]
        .as_str()
        .unwrap()
        .to_string();
    shop.api.admin_cancel(&id).await.expect(200);
    refused(shop.api.check_in("main", &cancelled).await, "cancelled");

    let (unpaid, answer) = shop
        .api
        .checkout("pay-at-door", 2, &buyer(), "onsite")
        .await;
    let doc = answer.expect(200);
    assert_eq!(doc["status"], "awaitingPayment", "{doc}");
    assert_eq!(doc["expiresAt"], Value::Null, "no deadline: {doc}");
    let code = doc["tickets"][0]["code"].as_str().unwrap().to_string();
    assert_eq!(doc["tickets"][0]["status"], "paymentDue");
    refused(shop.api.check_in("pay-at-door", &code).await, "payment_due");
    shop.api.mark_paid(&unpaid).await.expect(200);
    shop.api.check_in("pay-at-door", &code).await.expect(200);

    let valid = tickets(&shop, "main", 1).await.remove(0);
    let window = json!({"checkInOpensAt": "2031-01-01T09:00"});
    shop.api
        .admin_patch("/admin/v1/events/main", &window)
        .await
        .expect(200);
    refused(shop.api.check_in("main", &valid).await, "outside_window");
    let closed = json!({"checkInOpensAt": null, "checkInClosesAt": "2020-01-01T09:00"});
    shop.api
        .admin_patch("/admin/v1/events/main", &closed)
        .await
        .expect(200);
    refused(shop.api.check_in("main", &valid).await, "outside_window");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_scanners_at_the_same_instant_give_one_success() {
    let options = ShopOptions {
        processes: 2,
        ..ShopOptions::default()
    };
    let shop = Shop::start_with(options).await;
    let mut body = free_event("race", 100);
    body["maxTicketsPerReservation"] = json!(10);
    shop.api.create_event(&body).await;
    let mut codes = Vec::new();
    for _ in 0..5 {
        codes.extend(tickets(&shop, "race", 10).await);
    }

    // Per ticket, one scan through each process, released together.
    let mut races = Vec::new();
    for code in &codes {
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(2));
        let scans: Vec<_> = (0..2)
            .map(|scanner| {
                let api = shop.api.clone();
                let barrier = barrier.clone();
                let code = code.clone();
                tokio::spawn(async move {
                    let request = api
                        .request_to(
                            scanner,
                            reqwest::Method::POST,
                            "/admin/v1/events/race/check-ins",
                        )
                        .bearer_auth(common::ADMIN_TOKEN)
                        .json(&json!({ "code": code }));
                    barrier.wait().await;
                    api.send(request).await
                })
            })
            .collect();
        races.push(scans);
    }
    for scans in races {
        let mut answers = Vec::new();
        for scan in scans {
            answers.push(scan.await.expect("scan task"));
        }
        let wins: Vec<_> = answers.iter().filter(|a| a.status == 200).collect();
        let losses: Vec<_> = answers.iter().filter(|a| a.status == 409).collect();
        assert_eq!((wins.len(), losses.len()), (1, 1), "{answers:?}");
        let loss = losses[0].expect_problem(409, "already_checked_in");
        assert_eq!(loss["checkedInAt"], wins[0].body["checkedInAt"]);
    }
    assert_eq!(shop.api.stats("race", "combi").await.checked_in, 50);
}

/// The public key of `event` as one process serves it.
async fn checkin_key(shop: &Shop, process: usize, event: &str) -> String {
    let path = format!("/api/v1/events/{event}/checkin-key");
    let answer = shop
        .api
        .send(shop.api.request_to(process, reqwest::Method::GET, &path))
        .await;
    answer.expect(200)["publicKey"]
        .as_str()
        .expect("a key")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_configured_key_every_replica_signs_alike() {
    let options = ShopOptions {
        processes: 2,
        ..ShopOptions::default()
    };
    let shop = Shop::start_with(options).await;
    shop.api.create_event(&free_event("keys", 10)).await;
    shop.api.create_event(&free_event("other", 10)).await;
    let first = checkin_key(&shop, 0, "keys").await;
    assert_eq!(first, checkin_key(&shop, 1, "keys").await);
    assert_ne!(
        first,
        checkin_key(&shop, 0, "other").await,
        "a key per event"
    );
    let masters = common::sql::count(
        &shop.db,
        "SELECT count(*) FROM shop_settings WHERE length(signing_master) = 32",
    )
    .await;
    assert_eq!(masters, 1, "one random master, kept in the database");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_key_derives_the_event_keys() {
    let options = ShopOptions::default().env("TICKET_SIGNING_KEY", "operator-given-secret");
    let shop = Shop::start_with(options).await;
    shop.api.create_event(&free_event("keyed", 10)).await;
    let id: i64 = sqlx::query_scalar("SELECT id FROM events WHERE slug = 'keyed'")
        .fetch_one(&shop.db)
        .await
        .unwrap();
    let expected = ticketing_service::checkout::signing::event_key(b"operator-given-secret", id);
    let expected = ticketing_service::checkout::signing::public_key_text(&expected);
    assert_eq!(checkin_key(&shop, 0, "keyed").await, expected);
    let stored = common::sql::count(
        &shop.db,
        "SELECT count(*) FROM shop_settings WHERE signing_master IS NOT NULL",
    )
    .await;
    assert_eq!(stored, 0, "no master is made when one is configured");
}
