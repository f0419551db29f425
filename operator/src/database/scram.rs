//! SCRAM-SHA-256 verifiers, computed here so a plain password never reaches the server.
//!
//! `ALTER ROLE … PASSWORD '<verifier>'` stores a verifier as given, the way
//! `password_encryption = scram-sha-256` would have stored the password (RFC 5802 and
//! 7677, PostgreSQL's `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`). The
//! statement text, which the server may log, then holds only a salted hash.
//!
//! PostgreSQL runs the password through SASLprep first. SASLprep leaves printable ASCII
//! unchanged, and the operator's passwords are printable ASCII, so only those are accepted:
//! no normalisation code is needed, and server and clients cannot disagree about one.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::DatabaseError;

/// PostgreSQL's default `scram_iterations`.
const ITERATIONS: u32 = 4096;
const SALT_LEN: usize = 16;

/// A verifier for `password` with a fresh random salt.
pub fn verifier(password: &str) -> Result<String, DatabaseError> {
    check(password)?;
    let salt: [u8; SALT_LEN] = rand::random();
    Ok(verifier_with(password, &salt, ITERATIONS))
}

fn check(password: &str) -> Result<(), DatabaseError> {
    if password.is_empty() {
        return Err(DatabaseError::InvalidPassword {
            reason: "must not be empty",
        });
    }
    if !password.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        return Err(DatabaseError::InvalidPassword {
            reason: "may hold only printable ASCII characters",
        });
    }
    Ok(())
}

fn verifier_with(password: &str, salt: &[u8], iterations: u32) -> String {
    let mut salted = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt, iterations, &mut salted);
    let client_key = hmac(&salted, b"Client Key");
    let stored_key = Sha256::digest(client_key);
    let server_key = hmac(&salted, b"Server Key");
    format!(
        "SCRAM-SHA-256${iterations}:{}${}:{}",
        BASE64.encode(salt),
        BASE64.encode(stored_key),
        BASE64.encode(server_key)
    )
}

fn hmac(key: &[u8], message: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length: `new_from_slice` cannot fail for it.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Salt and verifier as PostgreSQL 15 stored them in `pg_authid` for these passwords.
    const FROM_POSTGRES: [(&str, &str); 2] = [
        (
            "pencil",
            "SCRAM-SHA-256$4096:1nsul4JCoDjT6DCYsen4Ag==$\
             ABnA/ZwM/ucH5hfYmksP55wR7Md9Rk7mi5WpBw+qNQk=:\
             d9si5mN6GL61jqNERTXdIsHToTd20x+2yD6BTZ2E+TM=",
        ),
        (
            "p@ss w'ord\"x",
            "SCRAM-SHA-256$4096:nbrbATcPR4WfO6JE/kJNVw==$\
             CmXkqKId8M5sOXrD+s0n97TrMkHx6DREqjAiVfn1tFo=:\
             +NgEvRzLquA7bJMzMojb/T9dgzs8ckk5X8lruaVcX6A=",
        ),
    ];

    #[test]
    fn matches_postgres_verifiers() {
        for (password, expected) in FROM_POSTGRES {
            let salt_b64 = expected
                .split(['$', ':'])
                .nth(2)
                .expect("verifier has a salt");
            let salt = BASE64.decode(salt_b64).expect("salt is base64");
            assert_eq!(verifier_with(password, &salt, 4096), expected);
        }
    }

    #[test]
    fn salts_are_fresh() {
        let a = verifier("pencil").expect("verifier");
        let b = verifier("pencil").expect("verifier");
        assert_ne!(a, b);
        assert!(a.starts_with("SCRAM-SHA-256$4096:"));
        assert!(!a.contains("pencil"));
    }

    #[test]
    fn refuses_passwords_saslprep_would_change() {
        for password in ["", "caf\u{e9}", "tab\there", "nul\0"] {
            let err = verifier(password).expect_err("refused");
            assert!(matches!(err, DatabaseError::InvalidPassword { .. }));
        }
    }
}
