//! The connection pool, migrations, and how database errors become API errors.

use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use crate::error::{ApiError, FieldError};

/// The shop's schema, from the workspace's `migrations/` folder, compiled in.
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// Builds the pool without connecting: the service starts, and answers 503s, while the
/// database is still away.
pub fn lazy_pool(url: &str, size: u32, acquire_timeout: Duration) -> Result<PgPool, sqlx::Error> {
    let options: PgConnectOptions = url.parse()?;
    // sqlx keeps the brackets of an IPv6 host in a URL (`[fd00::7]`): it strips them to
    // connect, but not for TLS, which refuses the bracketed host as a server name.
    let host = options.get_host();
    let options = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(ip) => {
            let ip = ip.to_string();
            options.host(&ip)
        }
        None => options,
    };
    let options = options.application_name("ticketing-service");
    Ok(PgPoolOptions::new()
        .max_connections(size)
        .min_connections(0)
        .acquire_timeout(acquire_timeout)
        // A broken connection is found on first use (answered 503) and dropped when it is
        // released; pinging before every acquire would add a round trip to the hot path.
        .test_before_acquire(false)
        .connect_lazy_with(options))
}

/// Applies every migration not yet applied. Safe to run from several processes at once:
/// sqlx serialises them with an advisory lock.
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}

/// Whether the database holds every migration this binary knows.
pub async fn is_migrated(pool: &PgPool) -> Result<bool, sqlx::Error> {
    let Some(latest) = MIGRATOR.iter().map(|m| m.version).max() else {
        return Ok(true);
    };
    let applied: Option<i64> =
        sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(pool)
            .await
            .or_else(|e| match &e {
                // No migration table yet: nothing applied.
                sqlx::Error::Database(db) if db.code().as_deref() == Some("42P01") => Ok(None),
                _ => Err(e),
            })?;
    Ok(applied.is_some_and(|v| v >= latest))
}

/// Raised when a category has the seats but no free stripe holds a whole request.
pub const REBALANCE_NEEDED: &str = "rebalance_needed";

/// Whether the stripes of the request's categories should be rebalanced before a retry.
pub fn needs_rebalance(error: &ApiError) -> bool {
    matches!(error, ApiError::Contention(detail) if detail == REBALANCE_NEEDED)
}

/// Deadlocks and serialization failures: the transaction may simply be run again.
pub fn is_retryable(error: &ApiError) -> bool {
    matches!(error, ApiError::Contention(_))
}

/// Maps a database error to what the API answers.
///
/// The SQL functions raise SQLSTATE `BX4xx` with the API's error code as the message; a
/// lost or refused connection is `database_unavailable`; text PostgreSQL cannot store (a
/// NUL character) is a malformed request; an amount too large for its column breaks a
/// rule; anything else is a bug.
pub fn classify(error: sqlx::Error) -> ApiError {
    if is_unavailable(&error) {
        return ApiError::DatabaseUnavailable(error.to_string());
    }
    if let sqlx::Error::Database(db) = &error {
        match db.code().as_deref() {
            Some(code) if code.starts_with("BX") => return business_error(db.message()),
            Some("40P01" | "40001") => return ApiError::Contention(error.to_string()),
            // invalid byte sequence (0x00), unsupported Unicode escape (\u0000 in jsonb)
            Some("22021" | "22P05") => {
                return ApiError::MalformedBody(
                    "text may not contain the NUL character (U+0000)".into(),
                )
            }
            // A unique index refused a duplicate the code did not expect (two writers).
            Some("23505") => return ApiError::Conflict("conflict"),
            Some("22003") => {
                return ApiError::Validation(vec![FieldError::new("amount", "out_of_range")])
            }
            _ => {}
        }
    }
    ApiError::Internal(error.to_string())
}

/// A lost, refused or exhausted connection, a server shutting down or starting up, or a
/// database the shop cannot log in to (its password rotated under it, or the database
/// dropped): the shop cannot serve, and retrying later is the right answer for a client.
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.to_string()).unwrap_or_default();
            code.starts_with("08")
                || code.starts_with("28")
                || matches!(
                    code.as_str(),
                    "57P01" | "57P02" | "57P03" | "53300" | "53400" | "3D000"
                )
        }
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => true,
        _ => false,
    }
}

/// A TLS handshake that failed for good: a certificate the trusted roots (`sslrootcert`)
/// do not vouch for, a host name the certificate does not name, a server that speaks no
/// TLS. Unlike a server still starting, waiting does not change it.
pub fn is_tls_refusal(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Tls(_) => true,
        // rustls reports a refused handshake as invalid data on the socket; a socket alone
        // never does.
        sqlx::Error::Io(e) => e.kind() == std::io::ErrorKind::InvalidData,
        _ => false,
    }
}

fn business_error(message: &str) -> ApiError {
    match message {
        "not_enough_seats" => ApiError::NotEnoughSeats,
        "event_not_found" => ApiError::NotFound("event_not_found"),
        "reservation_not_found" => ApiError::NotFound("reservation_not_found"),
        "conflict" => ApiError::Conflict("conflict"),
        "sale_not_open" => ApiError::Rule("sale_not_open"),
        "sale_closed" => ApiError::Rule("sale_closed"),
        "unknown_category" => ApiError::Rule("unknown_category"),
        "over_maximum" => ApiError::Rule("over_maximum"),
        REBALANCE_NEEDED => ApiError::Contention(REBALANCE_NEEDED.into()),
        other => ApiError::Internal(format!("unexpected rule error {other}")),
    }
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::*;

    #[test]
    fn a_refused_tls_handshake_is_told_from_a_server_not_up_yet() {
        let refused = [
            sqlx::Error::Io(io::Error::new(
                io::ErrorKind::InvalidData,
                "invalid peer certificate: UnknownIssuer",
            )),
            sqlx::Error::Tls("server does not support TLS".into()),
        ];
        for error in &refused {
            assert!(is_unavailable(error), "{error}");
            assert!(is_tls_refusal(error), "{error}");
        }
        let not_yet = [
            sqlx::Error::Io(io::ErrorKind::ConnectionRefused.into()),
            sqlx::Error::Io(io::ErrorKind::ConnectionReset.into()),
            sqlx::Error::PoolTimedOut,
        ];
        for error in &not_yet {
            assert!(is_unavailable(error), "{error}");
            assert!(!is_tls_refusal(error), "{error}");
        }
    }

    /// A stand-in server on `addr` that agrees to TLS and hangs up; the port it listens on.
    async fn agrees_to_tls_then_hangs_up(addr: &str) -> std::io::Result<u16> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let port = listener.local_addr()?.port();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut ssl_request = [0u8; 8];
                if socket.read_exact(&mut ssl_request).await.is_ok() {
                    let _ = socket.write_all(b"S").await;
                }
            }
        });
        Ok(port)
    }

    /// An IPv6 host, bracketed in the URL as the operator writes it, is a TLS server name
    /// like any other: the handshake starts (and here fails as the server hangs up), rather
    /// than being refused for good before it.
    #[tokio::test]
    async fn an_ipv6_host_speaks_tls() {
        for (addr, host) in [("127.0.0.1:0", "127.0.0.1"), ("[::1]:0", "[::1]")] {
            let port = match agrees_to_tls_then_hangs_up(addr).await {
                Ok(port) => port,
                Err(e) if host.starts_with('[') => {
                    eprintln!("no IPv6 loopback here ({e}); skipped");
                    continue;
                }
                Err(e) => panic!("bind {addr}: {e}"),
            };
            let url = format!("postgres://shop:pw@{host}:{port}/shop?sslmode=verify-full");
            let pool = lazy_pool(&url, 1, Duration::from_secs(5)).unwrap();
            let error = pool.acquire().await.expect_err("the server hangs up");
            assert!(
                matches!(&error, sqlx::Error::Io(e) if e.kind() == io::ErrorKind::UnexpectedEof),
                "{host}: {error:?}"
            );
            assert!(!is_tls_refusal(&error), "{host}: {error:?}");
        }
    }
}
