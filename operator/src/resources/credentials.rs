//! What the shop needs to reach its database and to sign: the inputs of the Secrets, and
//! the hash on the pod template that rolls the pods when they change.

use std::fmt;
use std::fmt::Write as _;
use std::net::IpAddr;

use sha2::{Digest, Sha256};

use crate::crd::SslMode;

/// The tenant role's credentials and where its database is.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
    pub host: String,
    pub port: i32,
    pub database: String,
    pub ssl_mode: SslMode,
}

impl Credentials {
    /// `postgres://user:password@host:port/database?sslmode=…`, user, password and
    /// database percent-encoded, an IPv6 host in brackets.
    pub fn uri(&self) -> String {
        let host = match self.host.parse::<IpAddr>() {
            Ok(IpAddr::V6(ip)) => format!("[{ip}]"),
            _ => self.host.clone(),
        };
        // Not yet: `verify-full` needs the server's CA in the tenant's namespace and
        // `sslrootcert` here; the shop gets `sslmode=verify-full` and the system roots.
        format!(
            "postgres://{}:{}@{host}:{}/{}?sslmode={}",
            percent_encode(&self.username),
            percent_encode(&self.password),
            self.port,
            percent_encode(&self.database),
            self.ssl_mode.as_str(),
        )
    }
}

impl fmt::Debug for Credentials {
    /// Everything but the password, so credentials can sit in a logged struct.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("database", &self.database)
            .field("ssl_mode", &self.ssl_mode)
            .finish()
    }
}

/// The shop's own secrets.
#[derive(Clone, PartialEq, Eq)]
pub struct ShopSecrets {
    /// Bearer token of the admin API.
    pub admin_token: String,
    /// Key that signs tickets.
    pub ticket_signing_key: String,
}

impl fmt::Debug for ShopSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ShopSecrets { <redacted> }")
    }
}

/// SHA-256 (hex) of the credentials. It goes on the pod template, so a new password
/// rolls the pods onto it; it reveals nothing of the password.
pub fn credentials_hash(c: &Credentials) -> String {
    let mut hasher = Sha256::new();
    let port = c.port.to_string();
    for field in [
        c.username.as_str(),
        c.password.as_str(),
        c.host.as_str(),
        port.as_str(),
        c.database.as_str(),
        c.ssl_mode.as_str(),
    ] {
        // Length-prefixed, so no two different field lists hash alike.
        hasher.update((field.len() as u64).to_be_bytes());
        hasher.update(field.as_bytes());
    }
    hasher
        .finalize()
        .iter()
        .fold(String::with_capacity(64), |mut hex, byte| {
            // Writing to a String cannot fail.
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for byte in s.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn credentials() -> Credentials {
        Credentials {
            username: "tenant_devoxx".into(),
            password: "s3cret:/@?#%".into(),
            host: "10.0.12.7".into(),
            port: 5433,
            database: "tenant_devoxx".into(),
            ssl_mode: SslMode::Disable,
        }
    }

    #[test]
    fn uri_encodes_user_and_password() {
        assert_eq!(
            credentials().uri(),
            "postgres://tenant_devoxx:s3cret%3A%2F%40%3F%23%25@10.0.12.7:5433/tenant_devoxx?sslmode=disable"
        );
    }

    #[test]
    fn uri_brackets_ipv6_and_carries_ssl_mode() {
        let c = Credentials {
            host: "fd00::7".into(),
            ssl_mode: SslMode::VerifyFull,
            ..credentials()
        };
        assert_eq!(
            c.uri(),
            "postgres://tenant_devoxx:s3cret%3A%2F%40%3F%23%25@[fd00::7]:5433/tenant_devoxx?sslmode=verify-full"
        );
        let c = Credentials {
            host: "pg.example.com".into(),
            password: "plain".into(),
            ..credentials()
        };
        assert!(c.uri().contains(":plain@pg.example.com:5433/"));
    }

    #[test]
    fn hash_changes_with_any_field_and_hides_the_password() {
        let base = credentials_hash(&credentials());
        assert_eq!(base.len(), 64);
        assert!(base.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(base, credentials_hash(&credentials()), "stable");
        let rotated = Credentials {
            password: "another".into(),
            ..credentials()
        };
        assert_ne!(base, credentials_hash(&rotated));
        let moved = Credentials {
            port: 5432,
            ..credentials()
        };
        assert_ne!(base, credentials_hash(&moved));
        // Shifting a character from one field to the next is a different input.
        let a = Credentials {
            username: "ab".into(),
            password: "c".into(),
            ..credentials()
        };
        let b = Credentials {
            username: "a".into(),
            password: "bc".into(),
            ..credentials()
        };
        assert_ne!(credentials_hash(&a), credentials_hash(&b));
    }

    #[test]
    fn debug_hides_secrets() {
        let shown = format!("{:?}", credentials());
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("tenant_devoxx"));
        let secrets = ShopSecrets {
            admin_token: "token-123".into(),
            ticket_signing_key: "key-456".into(),
        };
        let shown = format!("{secrets:?}");
        assert!(!shown.contains("token-123") && !shown.contains("key-456"));
    }
}
