//! What the databases say: a tenant's seats read through the tenant's own credentials,
//! and the servers' catalogs read as their admin role.

use std::time::{Duration, Instant};

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
/// that no seat is in two reservations (each reservation has exactly the seat rows of the
/// seats it took, per category, and no seat row points at a reservation that does not
/// exist) and returns the totals.
pub async fn seat_ledger(url: &str) -> Ledger {
    let mut db = connect(url)
        .await
        .unwrap_or_else(|e| panic!("the tenant's credentials do not log in: {e}"));
    let started = Instant::now();
    loop {
        let waiting = count(
            &mut db,
            boxoffice_e2e::ledger::RESERVATIONS_WAITING_FOR_SEATS,
        )
        .await;
        if waiting == 0 {
            break;
        }
        assert!(
            started.elapsed() < poll::secs(60),
            "{waiting} reservations still without seat rows after 60 s"
        );
        tokio::time::sleep(poll::POLL).await;
    }

    let orphans = count(&mut db, boxoffice_e2e::ledger::SEATS_OF_NO_RESERVATION).await;
    assert_eq!(orphans, 0, "seat rows given to no existing reservation");
    let mismatched = count(&mut db, boxoffice_e2e::ledger::SEAT_ROWS_NOT_AS_TAKEN).await;
    assert_eq!(
        mismatched, 0,
        "(reservation, category) pairs whose seat rows differ from the seats it took"
    );

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
