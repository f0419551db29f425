//! What the shop needs to reach its database and to sign: the inputs of the Secrets, and
//! the hash on the pod template that rolls the pods when they change.
//!
//! On a `verify-full` server the shop also needs the CA that signed the server's
//! certificate. It travels in `shop-db` (key [`CA_FILE`]), the Deployment mounts that key
//! alone in [`CA_MOUNT_DIR`], and the URI's `sslrootcert` names the file there.

use std::fmt;
use std::fmt::Write as _;
use std::net::IpAddr;

use sha2::{Digest, Sha256};

use crate::crd::SslMode;

/// The directory the shop's containers find the server's CA in: `shop-db`'s key
/// [`CA_FILE`] mounted on its own, read-only.
pub const CA_MOUNT_DIR: &str = "/etc/boxoffice/db";
/// The CA's file name in [`CA_MOUNT_DIR`], and its key in `shop-db`.
pub const CA_FILE: &str = "ca.crt";

/// The tenant role's credentials and where its database is.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
    pub host: String,
    pub port: i32,
    pub database: String,
    pub ssl_mode: SslMode,
    /// PEM of the CA that signed the server's certificate, from the DatabaseServer's
    /// `caSecretRef`; used with `verify-full` only (see [`Credentials::root_cert`]).
    pub ca_pem: Option<String>,
}

impl Credentials {
    /// `postgres://user:password@host:port/database?sslmode=…`, user, password and
    /// database percent-encoded, an IPv6 host in brackets; with a CA to verify against,
    /// `&sslrootcert=` and the path where the Deployment mounts it ([`ca_path`]).
    pub fn uri(&self) -> String {
        let host = match self.host.parse::<IpAddr>() {
            Ok(IpAddr::V6(ip)) => format!("[{ip}]"),
            _ => self.host.clone(),
        };
        let mut uri = format!(
            "postgres://{}:{}@{host}:{}/{}?sslmode={}",
            percent_encode(&self.username, b""),
            percent_encode(&self.password, b""),
            self.port,
            percent_encode(&self.database, b""),
            self.ssl_mode.as_str(),
        );
        if self.root_cert().is_some() {
            // `/` may stand unencoded in a query; keeping it keeps the path readable.
            uri.push_str("&sslrootcert=");
            uri.push_str(&percent_encode(&ca_path(), b"/"));
        }
        uri
    }

    /// The CA the shop verifies the server against: the server's CA under `verify-full`,
    /// none otherwise (`disable` and `require` verify nothing, so nothing is mounted).
    pub fn root_cert(&self) -> Option<&str> {
        match self.ssl_mode {
            SslMode::VerifyFull => self.ca_pem.as_deref(),
            SslMode::Disable | SslMode::Require => None,
        }
    }
}

/// Where the shop's containers read the server's CA: [`CA_FILE`] in [`CA_MOUNT_DIR`].
pub fn ca_path() -> String {
    format!("{CA_MOUNT_DIR}/{CA_FILE}")
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
            .field("ca_pem", &self.ca_pem.as_ref().map(|_| "<PEM>"))
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

/// SHA-256 (hex) of the credentials. It goes on the pod template, so a new password or a
/// new CA rolls the pods onto it; it reveals nothing of the password.
pub fn credentials_hash(c: &Credentials) -> String {
    let mut hasher = Sha256::new();
    let port = c.port.to_string();
    let fields = [
        c.username.as_str(),
        c.password.as_str(),
        c.host.as_str(),
        port.as_str(),
        c.database.as_str(),
        c.ssl_mode.as_str(),
    ];
    // The CA counts only when there is one, so the hash of a tenant without one stays
    // what it was before CAs were handed on, and pods do not roll for nothing.
    for field in fields.into_iter().chain(c.root_cert()) {
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

/// Percent-encodes everything but RFC 3986 unreserved characters and those in `keep`.
fn percent_encode(s: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    for byte in s.bytes() {
        if byte.is_ascii_alphanumeric()
            || matches!(byte, b'-' | b'.' | b'_' | b'~')
            || keep.contains(&byte)
        {
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
            ca_pem: None,
        }
    }

    /// A stand-in for a CA's PEM: the builders pass it on and never parse it.
    pub const CA_PEM: &str = "-----BEGIN CERTIFICATE-----\nMIIBtest\n-----END CERTIFICATE-----\n";

    /// [`credentials`] on a `verify-full` server with its CA.
    pub fn verify_full_credentials() -> Credentials {
        Credentials {
            ssl_mode: SslMode::VerifyFull,
            ca_pem: Some(CA_PEM.into()),
            ..credentials()
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
    fn uri_names_the_mounted_ca_under_verify_full() {
        let c = verify_full_credentials();
        assert_eq!(c.root_cert(), Some(CA_PEM));
        assert_eq!(ca_path(), "/etc/boxoffice/db/ca.crt");
        assert_eq!(
            c.uri(),
            "postgres://tenant_devoxx:s3cret%3A%2F%40%3F%23%25@10.0.12.7:5433/tenant_devoxx\
             ?sslmode=verify-full&sslrootcert=/etc/boxoffice/db/ca.crt"
        );
    }

    #[test]
    fn uri_names_no_ca_when_there_is_none_to_verify_against() {
        // verify-full without a CA verifies against the built-in roots.
        let c = Credentials {
            ca_pem: None,
            ..verify_full_credentials()
        };
        assert_eq!(c.root_cert(), None);
        assert!(c.uri().ends_with("?sslmode=verify-full"), "{}", c.uri());
        // `require` verifies nothing: a CA would be unused.
        let c = Credentials {
            ssl_mode: SslMode::Require,
            ..verify_full_credentials()
        };
        assert_eq!(c.root_cert(), None);
        assert!(c.uri().ends_with("?sslmode=require"), "{}", c.uri());
    }

    #[test]
    fn query_values_are_percent_encoded_but_slashes() {
        assert_eq!(percent_encode("/a b/c&d=e#f", b"/"), "/a%20b/c%26d%3De%23f");
        assert_eq!(percent_encode("/a", b""), "%2Fa");
    }

    #[test]
    fn hash_changes_with_the_ca() {
        let without = credentials_hash(&Credentials {
            ca_pem: None,
            ..verify_full_credentials()
        });
        let with = credentials_hash(&verify_full_credentials());
        let renewed = credentials_hash(&Credentials {
            ca_pem: Some(CA_PEM.replace("test", "next")),
            ..verify_full_credentials()
        });
        assert_ne!(without, with);
        assert_ne!(with, renewed);
        // A CA `require` does not use changes nothing.
        let require = Credentials {
            ssl_mode: SslMode::Require,
            ..credentials()
        };
        let require_with_ca = Credentials {
            ca_pem: Some(CA_PEM.into()),
            ..require.clone()
        };
        assert_eq!(
            credentials_hash(&require),
            credentials_hash(&require_with_ca)
        );
    }

    #[test]
    fn hash_without_a_ca_is_what_it_was_before_cas_were_handed_on() {
        // Pinned: a different value would roll every tenant's pods on upgrade.
        assert_eq!(
            credentials_hash(&credentials()),
            "31a0efa17b3f0d581e07d0872ed5b845293224ad1a1ece0b49fbb1b98fda11f2"
        );
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
        let shown = format!("{:?}", verify_full_credentials());
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("tenant_devoxx"));
        assert!(!shown.contains("MIIB"), "a PEM is noise in a log: {shown}");
        let secrets = ShopSecrets {
            admin_token: "token-123".into(),
            ticket_signing_key: "key-456".into(),
        };
        let shown = format!("{secrets:?}");
        assert!(!shown.contains("token-123") && !shown.contains("key-456"));
    }
}
