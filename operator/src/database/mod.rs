//! Everything the operator does on a shared PostgreSQL server (a `DatabaseServer`).
//!
//! A tenant gets one role and one database, both named `tenant_<name>` (see
//! [`crate::crd::database_for`]): the role logs in with a random password and may do
//! nothing else on the server; the database is owned by the role, and only the role may
//! connect to it. [`ServerAdmin`] creates, adopts, re-keys and drops them as the server's
//! admin role, which needs `CREATEROLE` and `CREATEDB` only, as on managed services.
//! [`credentials_work`] checks, without writing anything, whether a tenant's password
//! still opens its database.
//!
//! Passwords travel only inside connection options (where sqlx's SCRAM exchange proves
//! them without sending them) and as SCRAM verifiers inside `ALTER ROLE` (see [`scram`]);
//! statement logging is off on every connection this module opens.

mod admin;
mod error;
mod scram;
pub mod sql;

use std::fmt;
use std::time::Duration;

use rand::distr::{Alphanumeric, SampleString};
use sqlx::postgres::{PgConnectOptions, PgSslMode};
use sqlx::{ConnectOptions, Connection, PgConnection};

pub use admin::{Dropped, Provisioned, ServerAdmin};
pub use error::{is_unreachable, DatabaseError};

use crate::crd::{DatabaseServerSpec, SslMode};

/// How long connecting (TCP, TLS, authentication) may take before the server counts as
/// unreachable.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Characters in a generated password: about 238 bits from an alphabet that needs no
/// escaping in a URI, a shell or SQL.
const PASSWORD_LEN: usize = 40;

/// Where a database server is and how to talk TLS to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerAddress {
    pub host: String,
    pub port: u16,
    pub ssl_mode: SslMode,
    /// PEM of the CA that signs the server's certificate (`verify-full`); without it,
    /// `verify-full` trusts the public web PKI roots.
    pub ca_pem: Option<String>,
}

impl ServerAddress {
    /// The address a `DatabaseServer` spec describes, with the CA read from its
    /// `caSecretRef` (if any).
    pub fn from_spec(
        spec: &DatabaseServerSpec,
        ca_pem: Option<String>,
    ) -> Result<ServerAddress, DatabaseError> {
        let port = u16::try_from(spec.port)
            .ok()
            .filter(|port| *port != 0)
            .ok_or_else(|| DatabaseError::Refused {
                action: format!("use port {} of {}", spec.port, spec.host),
                reason: "a port is between 1 and 65535".into(),
            })?;
        Ok(ServerAddress {
            host: spec.host.clone(),
            port,
            ssl_mode: spec.ssl_mode,
            ca_pem,
        })
    }

    /// Options for `role` on `database`, field by field: no URL holds the password.
    fn connect_options(&self, role: &str, password: &str, database: &str) -> PgConnectOptions {
        let ssl_mode = match self.ssl_mode {
            SslMode::Disable => PgSslMode::Disable,
            SslMode::Require => PgSslMode::Require,
            SslMode::VerifyFull => PgSslMode::VerifyFull,
        };
        let mut options = PgConnectOptions::new_without_pgpass()
            .host(&self.host)
            .port(self.port)
            .username(role)
            .password(password)
            .database(database)
            .ssl_mode(ssl_mode)
            .application_name("boxoffice-operator")
            // The operator's DDL is built per tenant: caching it would only grow.
            .statement_cache_capacity(0)
            // Statements may hold SCRAM verifiers; keep them out of the operator's logs.
            .disable_statement_logging();
        if let (SslMode::VerifyFull, Some(ca)) = (self.ssl_mode, &self.ca_pem) {
            options = options.ssl_root_cert_from_pem(ca.as_bytes().to_vec());
        }
        options
    }
}

impl fmt::Display for ServerAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// The admin role of a server, from the Secret its `adminSecretRef` names.
#[derive(Clone, PartialEq, Eq)]
pub struct AdminCredentials {
    pub username: String,
    pub password: String,
}

impl fmt::Debug for AdminCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdminCredentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Logs in as `role` with `password` to `database` and logs out again.
///
/// `Ok(true)` when that works; `Ok(false)` when the server refuses it: wrong password,
/// no such role, no such database, or no `CONNECT` on it — every way in which role,
/// database and the tenant's Secret are out of step. `Err` when the server cannot be
/// reached or fails otherwise. Nothing is written.
pub async fn credentials_work(
    addr: &ServerAddress,
    role: &str,
    password: &str,
    database: &str,
) -> Result<bool, DatabaseError> {
    let options = addr.connect_options(role, password, database);
    let action = format!("log in as role {role} to database {database}");
    let connection = match tokio::time::timeout(CONNECT_TIMEOUT, options.connect()).await {
        Ok(Ok(connection)) => connection,
        Ok(Err(err)) => {
            // 28: authentication; 3D000: no such database; 42501: no CONNECT privilege.
            let code = error::sqlstate(&err).unwrap_or_default();
            if code.starts_with("28") || code == "3D000" || code == "42501" {
                return Ok(false);
            }
            return Err(error::classify(addr, role, &action, err));
        }
        Err(_) => return Err(timed_out(addr)),
    };
    close(connection).await;
    Ok(true)
}

/// A new password: 40 characters from `[A-Za-z0-9]`, drawn from the thread-local CSPRNG
/// (ChaCha, seeded by the operating system).
pub fn generate_password() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), PASSWORD_LEN)
}

/// An unreachable-server error for a connection attempt that outlived [`CONNECT_TIMEOUT`].
fn timed_out(addr: &ServerAddress) -> DatabaseError {
    DatabaseError::Unreachable {
        server: addr.to_string(),
        cause: sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("no connection within {} s", CONNECT_TIMEOUT.as_secs()),
        )),
    }
}

/// Closes a connection politely; a failure to say goodbye changes nothing for the caller.
async fn close(connection: PgConnection) {
    if let Err(err) = connection.close().await {
        tracing::debug!(error = %err, "failed to close database connection cleanly");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_long_random_and_url_safe() {
        let a = generate_password();
        let b = generate_password();
        assert!(a.len() >= 32);
        assert_ne!(a, b);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()));
    }

    #[test]
    fn admin_credentials_hide_the_password() {
        let creds = AdminCredentials {
            username: "boxoffice_admin".into(),
            password: "hunter2-secret".into(),
        };
        let shown = format!("{creds:?}");
        assert!(shown.contains("boxoffice_admin"));
        assert!(!shown.contains("hunter2-secret"));
    }

    #[test]
    fn addresses_come_from_the_spec() {
        let spec: DatabaseServerSpec = serde_json::from_value(serde_json::json!({
            "host": "db.example", "port": 6432, "sslMode": "verify-full",
            "adminSecretRef": {"namespace": "ops", "name": "pg-admin"},
        }))
        .expect("spec");
        let addr = ServerAddress::from_spec(&spec, Some("PEM".into())).expect("address");
        assert_eq!(addr.port, 6432);
        assert_eq!(addr.ssl_mode, SslMode::VerifyFull);
        assert_eq!(addr.to_string(), "db.example:6432");

        let bad = DatabaseServerSpec {
            port: 70000,
            ..spec
        };
        assert!(ServerAddress::from_spec(&bad, None).is_err());
    }
}
