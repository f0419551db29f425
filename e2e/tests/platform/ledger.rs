//! What the databases say: a tenant's seats read through the tenant's own credentials,
//! and the servers' catalogs read as their admin role.

use std::time::Duration;

use boxoffice_e2e::cluster::ClusterPg;
use sqlx::postgres::{PgConnectOptions, PgSslMode};
use sqlx::{ConnectOptions, Connection, PgConnection};

use super::poll;

/// SQLSTATE of a failed password check.
pub const BAD_PASSWORD: &str = "28P01";

/// One new connection, bounded in time.
pub async fn connect(url: &str) -> Result<PgConnection, sqlx::Error> {
    match tokio::time::timeout(poll::secs(10), PgConnection::connect(url)).await {
        Ok(result) => result,
        Err(_) => Err(sqlx::Error::PoolTimedOut),
    }
}

pub fn sqlstate(err: &sqlx::Error) -> Option<String> {
    err.as_database_error()
        .and_then(|d| d.code())
        .map(|c| c.into_owned())
}

/// The seats of a tenant's database, once every reservation has its seat rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ledger {
    pub seats: i64,
    /// Seat rows given to a reservation.
    pub taken: i64,
    /// Held reservations, and the seats they took off the counters.
    pub reservations: i64,
    pub reserved: i64,
}

/// Waits for the background pass to give every reservation its seat rows, then checks
/// the invariants of [`boxoffice_e2e::ledger`] (no seat in two reservations or in none, no
/// category oversold, free counters equal to the free seat rows) and returns the totals.
pub async fn seat_ledger(url: &str) -> Ledger {
    let mut db = connect(url)
        .await
        .unwrap_or_else(|e| panic!("the tenant's credentials do not log in: {e}"));
    boxoffice_e2e::ledger::assert_settled(&mut db, poll::secs(60)).await;

    let ledger = Ledger {
        seats: count(&mut db, "SELECT count(*) FROM seats").await,
        taken: count(
            &mut db,
            "SELECT count(*) FROM seats WHERE reservation_id IS NOT NULL",
        )
        .await,
        reservations: count(
            &mut db,
            "SELECT count(*) FROM reservations WHERE status = 'held'",
        )
        .await,
        reserved: count(
            &mut db,
            "SELECT coalesce(sum(q), 0)::bigint FROM reservations r, unnest(r.alloc_quantities) q
             WHERE r.status = 'held'",
        )
        .await,
    };
    db.close().await.expect("close");
    ledger
}

/// Whether database `name` and the role of the same name exist on `server`, asked as the
/// server's admin role.
pub async fn exists_on(server: &ClusterPg, name: &str) -> (bool, bool) {
    let options = PgConnectOptions::new_without_pgpass()
        .host(&server.host)
        .port(server.port)
        .username(&server.user)
        .password(&server.password)
        .database("postgres")
        .ssl_mode(PgSslMode::Disable);
    let mut db = tokio::time::timeout(Duration::from_secs(10), options.connect())
        .await
        .expect("the server's admin role logs in within 10 s")
        .expect("the server's admin role logs in");
    let found: (bool, bool) = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1),
                EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)",
    )
    .bind(name)
    .fetch_one(&mut db)
    .await
    .expect("read the catalog");
    db.close().await.expect("close");
    found
}

async fn count(db: &mut PgConnection, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(db)
        .await
        .unwrap_or_else(|e| panic!("query failed: {e}\n{sql}"))
}
