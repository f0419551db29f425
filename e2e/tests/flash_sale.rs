//! `flash-sale` as a user runs it: against two real shop processes on a real PostgreSQL,
//! then its own correctness check, which must pass on an honest shop and fail on a ledger
//! that was tampered with.
//!
//! Needs `ticketing-service` built next to the test (`cargo test --workspace` builds it).

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Instant;

use boxoffice_e2e::pg::PgServer;
use boxoffice_e2e::service::{workspace_binary, ShopConfig, ShopProcess};
use serde_json::{json, Value};

const TOKEN: &str = "flash-sale-test-token";
const SEATS: [(&str, i64); 2] = [("combi", 240), ("conference", 60)];

struct Shop {
    pg: PgServer,
    database_url: String,
    processes: Vec<ShopProcess>,
    dir: PathBuf,
}

async fn start_shop(name: &str) -> Shop {
    let pg = PgServer::start().expect("PostgreSQL starts");
    let database_url = pg.create_database("shop").expect("database");
    let config = ShopConfig::new(workspace_binary("ticketing-service"), &database_url, TOKEN);
    ShopProcess::migrate(&config).expect("migrations apply");
    let dir = std::env::temp_dir().join(format!("flash-sale-{name}-{}", std::process::id()));
    let processes: Vec<ShopProcess> = (0..2)
        .map(|_| ShopProcess::start(&config, &dir).expect("shop starts"))
        .collect();
    let categories: Vec<Value> = SEATS
        .iter()
        .map(|(slug, seats)| json!({"slug": slug, "name": slug, "price": "10.00", "seats": seats}))
        .collect();
    let resp = reqwest::Client::new()
        .post(format!("{}/admin/v1/events", processes[0].base_url()))
        .bearer_auth(TOKEN)
        .json(
            &json!({"slug": "rush", "name": "Rush", "timezone": "Europe/Brussels",
                      "currency": "EUR", "categories": categories}),
        )
        .send()
        .await
        .expect("admin API answers");
    assert_eq!(
        resp.status(),
        201,
        "{}",
        resp.text().await.unwrap_or_default()
    );
    Shop {
        pg,
        database_url,
        processes,
        dir,
    }
}

impl Shop {
    fn flash_sale(&self, extra: &[&str]) -> (Output, Value) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_flash-sale"));
        for p in &self.processes {
            cmd.args(["--shop", &p.base_url()]);
        }
        cmd.args([
            "--event",
            "rush",
            "--category",
            "combi",
            "--category",
            "conference",
        ])
        .args(["--admin-token", TOKEN, "--database-url", &self.database_url])
        .args(["--quiet", "--seconds", "60"])
        .args(extra);
        let out = cmd.output().expect("flash-sale runs");
        let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "flash-sale printed no JSON ({e}): {}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out, report)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rush_sells_every_seat_once_and_the_check_says_so() {
    let shop = start_shop("honest").await;
    let charts = shop.dir.join("rush");
    let started = Instant::now();
    let (out, report) = shop.flash_sale(&[
        "--clients",
        "50",
        "--requests",
        "1500",
        "--charts",
        charts.to_str().unwrap(),
    ]);
    println!(
        "rush of {} requests in {:.2}s: {}",
        report["requests"],
        started.elapsed().as_secs_f64(),
        report["outcomes"]
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let check = &report["check"];
    assert_eq!(check["passed"], true, "{check}");
    assert_eq!(check["checked"], json!(["adminApi", "database"]));
    assert_eq!(report["requests"], 1500);
    assert_eq!(report["serverErrors"], 0);
    assert_eq!(report["transportErrors"], 0);
    let outcomes = report["outcomes"].as_object().unwrap();
    assert!(
        outcomes
            .keys()
            .all(|k| k == "201" || k == "412 not_enough_seats"),
        "{outcomes:?}"
    );
    assert_eq!(
        check["reservationsLookedUp"],
        report["reservedReservations"]
    );

    // 1,500 requests of 1–10 seats ask for far more than 300: the event sells out, and
    // only fewer seats than one request may ask for can be left in a category.
    let seats: i64 = SEATS.iter().map(|s| s.1).sum();
    let reserved = report["seatsReserved"].as_i64().unwrap();
    assert!(
        reserved <= seats && reserved > seats - 20,
        "{reserved} of {seats}"
    );
    for c in check["categories"].as_array().unwrap() {
        assert!(c["free"].as_i64().unwrap() < 10, "{c}");
    }
    let held: i64 = check["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["held"].as_i64().unwrap())
        .sum();
    assert_eq!(
        held, reserved,
        "the shop holds exactly what attendees were told"
    );

    for suffix in ["timeline", "latency"] {
        let path = format!("{}-{suffix}.svg", charts.display());
        let svg = std::fs::read_to_string(&path).expect("chart written");
        assert!(svg.starts_with("<svg") && svg.contains("</svg>"), "{path}");
    }
    let _ = std::fs::remove_dir_all(&shop.dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_check_fails_a_tampered_ledger() {
    let shop = start_shop("tampered").await;
    let (out, report) = shop.flash_sale(&["--clients", "10", "--requests", "20"]);
    assert!(out.status.success(), "{report}");

    // One reservation now claims 500 more seats than it took: the category is oversold.
    shop.pg
        .psql(
            "shop",
            "UPDATE reservations SET alloc_quantities[1] = alloc_quantities[1] + 500 \
             WHERE id = (SELECT id FROM reservations LIMIT 1)",
        )
        .expect("tamper");
    let (out, report) = shop.flash_sale(&["--requests", "0"]);
    let violations = report["check"]["violations"].to_string();
    println!("violations found: {violations}");
    assert!(!out.status.success(), "a tampered ledger must fail the run");
    assert_eq!(report["check"]["passed"], false);
    assert!(violations.contains("oversold"), "{violations}");
    assert!(
        violations.contains("seat rows not as taken"),
        "{violations}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attendees_go_on_to_checkout_during_the_rush() {
    let shop = start_shop("checkout").await;
    let (out, report) = shop.flash_sale(&[
        "--clients",
        "20",
        "--requests",
        "400",
        "--checkout-share",
        "0.5",
        "--checkout-payment",
        "offline",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let checkout = &report["checkout"];
    println!("checkouts: {checkout}");
    assert_eq!(report["check"]["passed"], true, "{}", report["check"]);
    assert_eq!(checkout["serverErrors"], 0);
    let completed = checkout["completed"].as_u64().unwrap();
    assert!(completed > 0, "{checkout}");
    assert_eq!(
        checkout["outcomes"]["confirm 200"].as_u64().unwrap_or(0)
            + checkout["outcomes"]["confirm 201"].as_u64().unwrap_or(0),
        completed
    );

    // Confirmed by bank transfer: their seats wait for payment, the others are still held.
    let categories = report["check"]["categories"].as_array().unwrap();
    let sum = |field: &str| -> i64 { categories.iter().map(|c| c[field].as_i64().unwrap()).sum() };
    assert!(sum("awaitingPayment") > 0, "{categories:?}");
    assert_eq!(
        sum("held") + sum("awaitingPayment"),
        report["seatsReserved"].as_i64().unwrap()
    );
    let _ = std::fs::remove_dir_all(&shop.dir);
}
