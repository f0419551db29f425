//! Logging in to the tenants' databases and asking the servers' catalogs.

use boxoffice_e2e::cluster::ClusterPg;
use sqlx::postgres::{PgConnectOptions, PgSslMode};
use sqlx::{ConnectOptions, Connection, PgConnection};

use crate::secs;

/// What Secret `shop-db` holds.
#[derive(Debug, Clone)]
pub(crate) struct DbCredentials {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) username: String,
    pub(crate) password: String,
    pub(crate) database: String,
    pub(crate) uri: String,
}

pub(crate) async fn connect(c: &DbCredentials) -> Result<PgConnection, sqlx::Error> {
    let options = PgConnectOptions::new_without_pgpass()
        .host(&c.host)
        .port(c.port)
        .username(&c.username)
        .password(&c.password)
        .database(&c.database)
        .ssl_mode(PgSslMode::Disable);
    match tokio::time::timeout(secs(10), options.connect()).await {
        Ok(result) => result,
        Err(_) => Err(sqlx::Error::PoolTimedOut),
    }
}

pub(crate) fn sqlstate(err: &sqlx::Error) -> Option<String> {
    err.as_database_error()
        .and_then(|d| d.code())
        .map(|c| c.into_owned())
}

/// Whether database `database` and role of the same name exist on `server`, asked as the
/// server's admin role.
pub(crate) async fn exists_on(server: &ClusterPg, database: &str) -> (bool, bool) {
    let admin = DbCredentials {
        host: server.host.clone(),
        port: server.port,
        username: server.user.clone(),
        password: server.password.clone(),
        database: "postgres".into(),
        uri: String::new(),
    };
    let mut conn = connect(&admin).await.expect("admin logs in");
    let (db, role): (bool, bool) = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1), \
                EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)",
    )
    .bind(database)
    .fetch_one(&mut conn)
    .await
    .expect("query the catalog");
    conn.close().await.expect("close");
    (db, role)
}
