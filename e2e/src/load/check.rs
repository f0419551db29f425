//! The end-of-rush correctness check: what the shop says through its admin API and what its
//! database holds must agree with each other and with what the attendees were told.
//!
//! Through the admin API, per category: no counter below zero, held + awaiting payment +
//! sold never above the category's seats, and with the free seats they add up to exactly
//! the seats. In the database, in one consistent snapshot once every reservation has its
//! seat rows: the invariants of [`crate::ledger`] (no seat row in two reservations or in
//! none, no category oversold, free counters equal to the free seat rows), and every `201`
//! an attendee received is a reservation with the seats it announced.

use std::time::Duration;

use serde::Serialize;
use sqlx::{Connection, PgConnection};

use super::report::Reserved;
use crate::ledger;

/// Where to check; each part is skipped when it is not given.
#[derive(Debug, Clone, Default)]
pub struct CheckTarget {
    /// A shop's base URL and the admin token, for the event's statistics.
    pub admin: Option<(String, String)>,
    /// The shop's database.
    pub database_url: Option<String>,
    pub event: String,
    /// How long to wait for the background pass to give reservations their seat rows.
    pub settle: Duration,
}

/// What the check found; `violations` empty means correct.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckReport {
    pub passed: bool,
    pub violations: Vec<String>,
    /// Per category as the admin API reports it.
    pub categories: Vec<serde_json::Value>,
    /// Which checks ran: `adminApi`, `database`.
    pub checked: Vec<String>,
    /// How long the seat rows took to catch up, in ms.
    pub settled_in_ms: Option<u64>,
    pub reservations_looked_up: u64,
}

/// Runs every check `target` allows against the reservations a rush was told about.
/// Errors are reported as violations: a check that cannot run has not passed.
pub async fn check(target: &CheckTarget, reserved: &[Reserved], created: u64) -> CheckReport {
    let mut report = CheckReport::default();
    if reserved.len() as u64 != created {
        report.violations.push(format!(
            "{created} answers were 201 but {} carried a reservation id",
            reserved.len()
        ));
    }
    if let Some((shop, token)) = &target.admin {
        report.checked.push("adminApi".into());
        if let Err(e) = check_admin(shop, token, &target.event, &mut report).await {
            report.violations.push(format!("admin API: {e:#}"));
        }
    }
    if let Some(url) = &target.database_url {
        report.checked.push("database".into());
        if let Err(e) = check_database(url, target, reserved, &mut report).await {
            report.violations.push(format!("database: {e:#}"));
        }
    }
    report.passed = report.violations.is_empty();
    report
}

async fn check_admin(
    shop: &str,
    token: &str,
    event: &str,
    report: &mut CheckReport,
) -> anyhow::Result<()> {
    let url = format!("{shop}/admin/v1/events/{event}/stats");
    let resp = reqwest::Client::new()
        .get(&url)
        .bearer_auth(token)
        .timeout(Duration::from_secs(30))
        .send()
        .await?;
    anyhow::ensure!(resp.status() == 200, "GET {url} answered {}", resp.status());
    let stats: serde_json::Value = resp.json().await?;
    let categories = stats["categories"]
        .as_array()
        .ok_or_else(|| anyhow::anyhow!("no categories in {stats}"))?;
    for c in categories {
        let n = |field: &str| c[field].as_i64().unwrap_or(i64::MIN);
        let slug = c["slug"].as_str().unwrap_or("?");
        let (seats, free) = (n("seats"), n("free"));
        let taken = n("held") + n("awaitingPayment") + n("sold");
        if [seats, free, n("held"), n("awaitingPayment"), n("sold")]
            .iter()
            .any(|v| *v < 0)
        {
            report
                .violations
                .push(format!("{slug}: a counter is negative or missing: {c}"));
        }
        if taken > seats {
            report.violations.push(format!(
                "{slug}: {taken} seats held or sold of {seats}: oversold"
            ));
        }
        if free + taken != seats {
            report.violations.push(format!(
                "{slug}: free {free} + held/awaiting/sold {taken} ≠ {seats} seats"
            ));
        }
    }
    report.categories = categories.clone();
    Ok(())
}

async fn check_database(
    url: &str,
    target: &CheckTarget,
    reserved: &[Reserved],
    report: &mut CheckReport,
) -> anyhow::Result<()> {
    let mut db = PgConnection::connect(url).await?;
    let settled = ledger::check_settled(&mut db, target.settle).await?;
    report.settled_in_ms = Some(settled.settled_in.as_millis() as u64);
    report.violations.extend(settled.violations);
    // Announced reservations are never deleted nor resized: no snapshot needed.
    check_announced(&mut db, &target.event, reserved, report).await
}

/// Every reservation a `201` announced exists, for its event, with the seats announced.
async fn check_announced(
    db: &mut PgConnection,
    event: &str,
    reserved: &[Reserved],
    report: &mut CheckReport,
) -> anyhow::Result<()> {
    let ids: Vec<uuid::Uuid> = reserved
        .iter()
        .map(|r| r.id.parse())
        .collect::<Result<_, _>>()?;
    let quantities: Vec<i64> = reserved.iter().map(|r| i64::from(r.quantity)).collect();
    let missing: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM unnest($1::uuid[], $2::bigint[]) AS told(id, quantity) \
         WHERE NOT EXISTS ( \
             SELECT 1 FROM reservations r JOIN events e ON e.id = r.event_id \
             WHERE r.id = told.id AND e.slug = $3 \
               AND (SELECT sum(q) FROM unnest(r.alloc_quantities) AS q) = told.quantity)",
    )
    .bind(&ids)
    .bind(&quantities)
    .bind(event)
    .fetch_one(&mut *db)
    .await?;
    if missing != 0 {
        report.violations.push(format!(
            "{missing} reservations answered 201 are missing or hold other seats than announced"
        ));
    }
    report.reservations_looked_up = ids.len() as u64;
    Ok(())
}
