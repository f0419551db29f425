//! Checkout against a real PostgreSQL: buyer details, the three payment methods,
//! invoices and credit notes, cancellation, the payment deadline.

mod common;

use chrono::{DateTime, Duration, Utc};
use common::checkout::{buyer, buyer_with_invoice};
use common::{event, Shop, ShopOptions};
use serde_json::{json, Value};

fn communication_digits(doc: &Value) -> String {
    let text = doc["payment"]["communication"]
        .as_str()
        .unwrap_or_else(|| panic!("no communication in {doc}"));
    assert!(
        text.starts_with("+++") && text.ends_with("+++") && text.len() == 20,
        "{text}"
    );
    text.chars().filter(char::is_ascii_digit).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contact_details_are_checked_field_by_field() {
    let shop = Shop::start().await;
    shop.api.create_event(&event("fields", 10)).await;
    let held = shop.api.reserve("fields", &[("combi", 2)]).await;
    let id = held.id();

    let bad = json!({"email": "nope", "firstName": "", "lastName": "L",
                     "invoice": {"company": "C", "vatNumber": "FR123", "country": "BE"}});
    let answer = shop.api.contact(&id, &bad).await;
    answer.expect_field_error("email", "invalid");
    answer.expect_field_error("firstName", "required");
    answer.expect_field_error("invoice.address", "required");
    answer.expect_field_error("invoice.vatNumber", "invalid");

    let mut one_attendee = buyer();
    one_attendee["attendees"] = json!([{"firstName": "A", "lastName": "B"}]);
    let answer = shop.api.contact(&id, &one_attendee).await;
    answer.expect_field_error("attendees", "count_mismatch");

    let unknown = shop
        .api
        .contact("01900000-0000-7000-8000-000000000000", &buyer())
        .await;
    unknown.expect_problem(404, "reservation_not_found");

    let doc = shop.api.contact(&id, &buyer()).await;
    assert_eq!(doc.expect(200)["status"], "held", "{doc}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn countries_are_iso_codes_for_buyers_and_the_seller() {
    let shop = Shop::start().await;
    shop.api.create_event(&event("countries", 10)).await;
    let id = shop.api.reserve("countries", &[("combi", 1)]).await.id();

    // Two capitals, but no country: ZZ is user-assigned, UK is not ISO (GB is).
    for country in ["ZZ", "UK"] {
        let answer = shop
            .api
            .contact(&id, &buyer_with_invoice(country, None))
            .await;
        answer.expect_field_error("invoice.country", "invalid");
        let errors = answer.body["errors"].as_array().unwrap();
        assert_eq!(errors.len(), 1, "only the country is wrong: {answer}");
    }
    let doc = shop.api.contact(&id, &buyer_with_invoice("BE", None)).await;
    assert_eq!(doc.expect(200)["status"], "held", "{doc}");

    let answer = shop
        .api
        .admin_put("/admin/v1/settings", &json!({"sellerCountry": "ZZ"}))
        .await;
    answer.expect_field_error("sellerCountry", "invalid");
    let settings = shop
        .api
        .admin_put("/admin/v1/settings", &json!({"sellerCountry": "NL"}))
        .await;
    assert_eq!(settings.expect(200)["sellerCountry"], "NL");
}

/// Odd country values over HTTP: lookalikes, padding, wrong types and sizes are refused
/// as the field's error (or a malformed body), never stored and never a 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_country_values_are_refused_by_field() {
    let shop = Shop::start().await;
    shop.api.create_event(&event("odd-countries", 10)).await;
    let id = shop
        .api
        .reserve("odd-countries", &[("combi", 1)])
        .await
        .id();
    let long = "B".repeat(100_000);
    let invalid = [
        "be",
        "Be",
        " BE",
        "BE ",
        "B E",
        "BE\n",
        "BE\u{0000}",
        "\u{0412}\u{0415}",
        "\u{ff22}\u{ff25}",
        "B\u{0301}E",
        "BEL",
        "056",
        "uk",
        "gb",
        &long,
    ];
    for country in invalid {
        let body = buyer_with_invoice(country, None);
        let answer = shop.api.contact(&id, &body).await;
        answer.expect_field_error("invoice.country", "invalid");
        let answer = shop
            .api
            .admin_put("/admin/v1/settings", &json!({ "sellerCountry": country }))
            .await;
        answer.expect_field_error("sellerCountry", "invalid");
    }
    for country in ["", "   "] {
        let answer = shop
            .api
            .contact(&id, &buyer_with_invoice(country, None))
            .await;
        assert_eq!(answer.status, 422, "{country:?}: {answer}");
    }
    let mut body = buyer_with_invoice("BE", None);
    body["invoice"]["country"] = Value::Null;
    let answer = shop.api.contact(&id, &body).await;
    answer.expect_field_error("invoice.country", "required");
    for wrong in [json!(56), json!(true), json!(["BE"]), json!({"code": "BE"})] {
        let mut body = buyer_with_invoice("BE", None);
        body["invoice"]["country"] = wrong.clone();
        let answer = shop.api.contact(&id, &body).await;
        answer.expect_problem(400, "malformed_body");
        let answer = shop
            .api
            .admin_put("/admin/v1/settings", &json!({ "sellerCountry": wrong }))
            .await;
        answer.expect_problem(400, "malformed_body");
    }
    // Nothing odd was stored: the seller is still in Belgium.
    let settings = shop.api.admin_get("/admin/v1/settings").await;
    assert_eq!(settings.expect(200)["sellerCountry"], "BE", "{settings}");
    let reservation = shop.api.reservation(&id).await;
    assert_eq!(reservation.status, 200, "{reservation}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_free_order_is_paid_at_once_and_confirming_again_is_harmless() {
    let shop = Shop::start().await;
    let mut body = event("free", 10);
    body["categories"][0]["price"] = json!("0.00");
    shop.api.create_event(&body).await;

    let held = shop.api.reserve("free", &[("combi", 2)]).await;
    let id = held.id();
    let early = shop.api.confirm(&id, "free").await;
    early.expect_field_error("contact", "required");

    shop.api.contact(&id, &buyer()).await.expect(200);
    let first = shop.api.confirm(&id, "free").await;
    let doc = first.expect(200);
    assert_eq!(doc["status"], "paid", "{doc}");
    assert_eq!(doc["expiresAt"], Value::Null, "{doc}");
    assert_eq!(doc["tickets"].as_array().unwrap().len(), 2, "{doc}");

    let again = shop.api.confirm(&id, "free").await;
    assert_eq!(again.expect(200)["tickets"], doc["tickets"], "same tickets");
    shop.api
        .confirm(&id, "offline")
        .await
        .expect_problem(409, "conflict");
    let tickets = common::sql::count(&shop.db, "SELECT count(*) FROM tickets").await;
    assert_eq!(tickets, 2, "one ticket per seat, once");
    let stats = shop.api.stats("free", "combi").await;
    assert_eq!((stats.sold, stats.held, stats.free), (2, 0, 8));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paid_order_cannot_be_confirmed_free_nor_with_an_unknown_method() {
    let shop = Shop::start().await;
    shop.api.create_event(&event("priced", 10)).await;
    let held = shop.api.reserve("priced", &[("combi", 1)]).await;
    let id = held.id();
    shop.api.contact(&id, &buyer()).await.expect(200);
    shop.api
        .confirm(&id, "free")
        .await
        .expect_field_error("payment", "not_free");
    shop.api
        .confirm(&id, "card")
        .await
        .expect_field_error("payment", "invalid");
    let doc = shop.api.reservation(&id).await;
    assert_eq!(doc.expect(200)["status"], "held");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bank_transfer_holds_the_seats_until_marked_paid() {
    let shop = Shop::start().await;
    shop.api.create_event(&event("transfer", 10)).await;
    shop.api.invoice_settings("2026-%05d", "CN-2026-%03d").await;

    let before = Utc::now();
    let (id, confirmed) = shop
        .api
        .checkout("transfer", 2, &buyer_with_invoice("BE", None), "offline")
        .await;
    let doc = confirmed.expect(200).clone();
    assert_eq!(doc["status"], "awaitingPayment", "{doc}");
    let deadline: DateTime<Utc> = doc["expiresAt"].as_str().unwrap().parse().unwrap();
    assert!(
        deadline >= before + Duration::hours(72) - Duration::seconds(5),
        "{doc}"
    );
    assert!(deadline <= Utc::now() + Duration::hours(72) + Duration::seconds(5));
    let digits = communication_digits(&doc);
    let base: u64 = digits[..10].parse().unwrap();
    let check: u64 = digits[10..].parse().unwrap();
    assert_eq!(
        check,
        if base.is_multiple_of(97) {
            97
        } else {
            base % 97
        },
        "{digits}"
    );
    assert_eq!(doc["payment"]["amountDue"], "1100.00", "{doc}");
    assert_eq!(doc["payment"]["invoice"], "2026-00001", "{doc}");
    assert_eq!(doc["tickets"], json!([]), "no tickets before payment");
    assert_eq!(
        shop.api.stats("transfer", "combi").await.awaiting_payment,
        2
    );

    // Confirming again answers the same; the public API cannot cancel it.
    let again = shop.api.confirm(&id, "offline").await;
    assert_eq!(again.expect(200)["payment"], doc["payment"]);
    shop.api.cancel(&id).await.expect_problem(409, "conflict");

    let paid = shop.api.mark_paid(&id).await;
    let paid = paid.expect(200).clone();
    assert_eq!(paid["status"], "paid", "{paid}");
    assert_eq!(paid["expiresAt"], Value::Null);
    assert_eq!(paid["tickets"].as_array().unwrap().len(), 2, "{paid}");
    let again = shop.api.mark_paid(&id).await;
    assert_eq!(
        again.expect(200)["tickets"],
        paid["tickets"],
        "marked paid once"
    );

    let invoices = shop.api.invoices("transfer").await;
    assert_eq!(invoices.len(), 1, "{invoices:?}");
    assert_eq!(invoices[0]["number"], "2026-00001");
    assert_eq!(invoices[0]["state"], "paid");
    assert_eq!(invoices[0]["kind"], "invoice");
    let stats = shop.api.stats("transfer", "combi").await;
    assert_eq!((stats.sold, stats.awaiting_payment), (2, 0));
    let line = shop.api.admin_get("/admin/v1/events/transfer/stats").await;
    assert_eq!(line.expect(200)["categories"][0]["revenue"], "1100.00");

    let html = shop
        .api
        .get(&format!("/api/v1/reservations/{id}/invoice.html"))
        .await;
    assert_eq!(html.status, 200);
    for expected in [
        "2026-00001",
        "Boxoffice Events",
        "Analytical Engines",
        "909.09",
        "190.91",
    ] {
        assert!(html.text.contains(expected), "{expected} in {}", html.text);
    }
    let pdf = shop
        .api
        .send(shop.api.request(
            reqwest::Method::GET,
            &format!("/api/v1/reservations/{id}/invoice.pdf"),
        ))
        .await;
    assert_eq!(pdf.status, 200);
    assert_eq!(pdf.header("content-type"), Some("application/pdf"));
    assert!(pdf.text.starts_with("%PDF-"), "a PDF");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_eu_business_abroad_is_invoiced_under_the_reverse_charge() {
    let shop = Shop::start().await;
    let mut body = event("reverse", 10);
    body["categories"][0]["price"] = json!("121.00");
    body["categories"][0]["vatRate"] = json!("21.00");
    shop.api.create_event(&body).await;
    shop.api.invoice_settings("%d", "CN%d").await;

    let (id, confirmed) = shop
        .api
        .checkout(
            "reverse",
            1,
            &buyer_with_invoice("NL", Some("NL123456789B01")),
            "offline",
        )
        .await;
    let doc = confirmed.expect(200);
    assert_eq!(doc["payment"]["amountDue"], "100.00", "net only: {doc}");
    let html = shop
        .api
        .get(&format!("/api/v1/reservations/{id}/invoice.html"))
        .await;
    assert!(html.text.contains("reverse charge"), "{}", html.text);
    assert!(html.text.contains("NL123456789B01"), "{}", html.text);
    let (vat, reverse): (String, bool) = sqlx::query_as(
        "SELECT vat::text, reverse_charge FROM invoices WHERE reservation_id = $1::uuid",
    )
    .bind(&id)
    .fetch_one(&shop.db)
    .await
    .unwrap();
    assert_eq!((vat.as_str(), reverse), ("0.00", true));

    // The same buyer in Belgium pays Belgian VAT.
    let (_, domestic) = shop
        .api
        .checkout(
            "reverse",
            1,
            &buyer_with_invoice("BE", Some("BE0999999999")),
            "offline",
        )
        .await;
    assert_eq!(domestic.expect(200)["payment"]["amountDue"], "121.00");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_voids_unpaid_invoices_and_credits_paid_ones() {
    let shop = Shop::start().await;
    shop.api.create_event(&event("cancel", 10)).await;
    shop.api.invoice_settings("INV-%d", "CN-%d").await;
    let invoiced = buyer_with_invoice("BE", None);

    let (unpaid, _) = shop.api.checkout("cancel", 2, &invoiced, "offline").await;
    let (paid, _) = shop.api.checkout("cancel", 3, &invoiced, "offline").await;
    shop.api.mark_paid(&paid).await.expect(200);
    let ticket = shop.api.reservation(&paid).await.body["tickets"][0]["code"]
        .as_str()
        .unwrap()
        .to_string();

    let doc = shop.api.admin_cancel(&unpaid).await;
    assert_eq!(doc.expect(200)["status"], "cancelled");
    let doc = shop.api.admin_cancel(&paid).await;
    assert_eq!(doc.expect(200)["status"], "cancelled");
    assert_eq!(doc.body["tickets"], json!([]), "{doc}");
    // Cancelling again is harmless.
    shop.api.admin_cancel(&paid).await.expect(200);

    let invoices = shop.api.invoices("cancel").await;
    let summary: Vec<(String, String, String)> = invoices
        .iter()
        .map(|i| {
            (
                i["kind"].as_str().unwrap().into(),
                i["number"].as_str().unwrap().into(),
                i["state"].as_str().unwrap().into(),
            )
        })
        .collect();
    let expected = [
        ("invoice", "INV-1", "voided"),
        ("invoice", "INV-2", "paid"),
        ("creditNote", "CN-1", "issued"),
    ];
    for (kind, number, state) in expected {
        assert!(
            summary.contains(&(kind.into(), number.into(), state.into())),
            "{kind} {number} {state} in {summary:?}"
        );
    }
    let credit = invoices.iter().find(|i| i["kind"] == "creditNote").unwrap();
    assert_eq!(credit["refersTo"], "INV-2");
    assert_eq!(credit["gross"], "-1650.00");
    let html = shop
        .api
        .get(&format!("/api/v1/reservations/{paid}/credit-note.html"))
        .await;
    assert!(html.text.contains("Cancels invoice INV-2"), "{}", html.text);
    let voided = invoices.iter().find(|i| i["state"] == "voided").unwrap();
    let path = format!("/admin/v1/invoices/{}.html", voided["id"]);
    let html = shop.api.admin_get(&path).await;
    assert!(html.text.contains("Voided"), "{}", html.text);
    let path = format!("/admin/v1/invoices/{}.pdf", credit["id"]);
    let pdf = shop.api.admin_get(&path).await;
    assert_eq!(pdf.header("content-type"), Some("application/pdf"));
    let missing = shop.api.admin_get("/admin/v1/invoices/999.pdf").await;
    missing.expect_problem(404, "invoice_not_found");

    // The voided number is the next invoice's.
    let (_, next) = shop.api.checkout("cancel", 1, &invoiced, "offline").await;
    assert_eq!(next.expect(200)["payment"]["invoice"], "INV-1");

    let stats = shop.api.stats("cancel", "combi").await;
    assert_eq!((stats.free, stats.sold, stats.awaiting_payment), (9, 0, 1));
    let ticket = shop.api.get(&format!("/api/v1/tickets/{ticket}")).await;
    assert_eq!(ticket.expect(200)["status"], "cancelled");
    common::sql::assert_seats_consistent(&shop.db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passed_payment_deadline_frees_the_seats_and_voids_the_invoice() {
    let options = ShopOptions::default().env("EXPIRY_SWEEP_INTERVAL_MS", "100");
    let shop = Shop::start_with(options).await;
    shop.api.create_event(&event("deadline", 10)).await;
    let invoiced = buyer_with_invoice("BE", None);
    let (late, _) = shop.api.checkout("deadline", 4, &invoiced, "offline").await;

    // The deadline is 72 hours away; move it into the past.
    sqlx::query(
        "UPDATE reservations SET expires_at = now() - interval '1 second' WHERE id = $1::uuid",
    )
    .bind(&late)
    .execute(&shop.db)
    .await
    .unwrap();
    let expired = common::poll(
        std::time::Duration::from_secs(10),
        std::time::Duration::from_millis(100),
        || async {
            let status = common::sql::reservation_status(&shop.db, &late).await;
            (status == "expired").then_some(())
        },
    )
    .await;
    assert!(expired.is_some(), "the sweep expires it");
    assert_eq!(shop.api.stats("deadline", "combi").await.free, 10);
    let invoices = shop.api.invoices("deadline").await;
    assert_eq!(invoices[0]["state"], "voided", "{invoices:?}");
    shop.api
        .mark_paid(&late)
        .await
        .expect_problem(409, "conflict");

    let (_, next) = shop.api.checkout("deadline", 1, &invoiced, "offline").await;
    assert_eq!(
        next.expect(200)["payment"]["invoice"],
        "1",
        "the voided number again"
    );
    common::sql::assert_seats_consistent(&shop.db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_refuse_bad_patterns() {
    let shop = Shop::start().await;
    let answer = shop
        .api
        .admin_put(
            "/admin/v1/settings",
            &json!({"invoicePattern": "2026-%s", "sellerCountry": "be"}),
        )
        .await;
    answer.expect_field_error("invoicePattern", "invalid");
    answer.expect_field_error("sellerCountry", "invalid");
    let settings = shop.api.admin_get("/admin/v1/settings").await;
    assert_eq!(settings.expect(200)["invoicePattern"], "%d");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_input_is_refused_without_a_500() {
    let shop = Shop::start().await;
    let mut body = event("hostile", 10);
    body["maxTicketsPerReservation"] = json!(10);
    body["categories"][0]["price"] = json!("9000000000.00");
    shop.api.create_event(&body).await;
    let id = shop.api.reserve("hostile", &[("combi", 2)]).await.id();

    // PostgreSQL cannot store U+0000 in text or jsonb: a malformed request, not a bug.
    let mut nul = buyer();
    nul["firstName"] = json!("A\u{0000}B");
    shop.api
        .contact(&id, &nul)
        .await
        .expect_problem(400, "malformed_body");
    let mut nul_attendee = buyer();
    nul_attendee["attendees"] = json!([{"firstName": "A\u{0000}", "lastName": "B"},
                                       {"firstName": "C", "lastName": "D"}]);
    shop.api
        .contact(&id, &nul_attendee)
        .await
        .expect_problem(400, "malformed_body");

    // 2 × 9,000,000,000.00 does not fit the amount columns: a rule, and nothing changes.
    shop.api.contact(&id, &buyer()).await.expect(200);
    let answer = shop.api.confirm(&id, "offline").await;
    answer.expect_field_error("amount", "out_of_range");
    assert_eq!(
        shop.api.reservation(&id).await.expect(200)["status"],
        "held"
    );

    // The router's own refusals speak the problem format too.
    let wrong_method = shop
        .api
        .get(&format!("/api/v1/reservations/{id}/confirm"))
        .await;
    wrong_method.expect_problem(405, "method_not_allowed");
    assert!(wrong_method
        .header("allow")
        .is_some_and(|a| a.contains("POST")));
    let huge = format!("{{\"email\": \"{}\"}}", "x".repeat(9 * 1024 * 1024));
    let too_large = shop
        .api
        .send(
            shop.api
                .request(
                    reqwest::Method::PUT,
                    &format!("/api/v1/reservations/{id}/contact"),
                )
                .header("content-type", "application/json")
                .body(huge),
        )
        .await;
    too_large.expect_problem(413, "payload_too_large");
    assert_eq!(
        too_large.header("connection"),
        Some("close"),
        "the unread rest of the body ends the connection"
    );

    // Patterns printing the same number for an invoice and a credit note are refused.
    let collide = json!({"invoicePattern": "%d", "creditNotePattern": "%01d"});
    shop.api
        .admin_put("/admin/v1/settings", &collide)
        .await
        .expect_field_error("creditNotePattern", "duplicate");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_past_its_deadline_cannot_be_marked_paid() {
    let shop = Shop::start().await;
    shop.api.create_event(&event("late", 10)).await;
    let id = shop.api.reserve("late", &[("combi", 1)]).await.id();
    shop.api.contact(&id, &buyer()).await.expect(200);
    shop.api.confirm(&id, "offline").await.expect(200);
    // The deadline passed a moment ago, before the sweep saw it.
    sqlx::query(
        "UPDATE reservations SET expires_at = now() - interval '50 ms' WHERE id = $1::uuid",
    )
    .bind(&id)
    .execute(&shop.db)
    .await
    .unwrap();
    shop.api
        .mark_paid(&id)
        .await
        .expect_problem(409, "conflict");
    let tickets = common::sql::count(&shop.db, "SELECT count(*) FROM tickets").await;
    assert_eq!(tickets, 0);
}
