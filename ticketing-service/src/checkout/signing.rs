//! Ticket codes and the signatures scanners check offline.
//!
//! A ticket's QR payload is `<code>.<signature>`: the Ed25519 signature (base64url, no
//! padding) of `boxoffice-ticket:v1:<event slug>:<code>` with the event's key. A scanner
//! holding the event's public key (`GET /api/v1/events/{event}/checkin-key`) can tell a
//! genuine ticket of that event without the shop. Each event's key is derived from one
//! master secret (HMAC-SHA256 of the event id), so only the master needs to be kept: the
//! operator's `TICKET_SIGNING_KEY`, or else a random one stored once in the database.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier, VerifyingKey};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Bytes of randomness in a ticket code: 128 bits, beyond guessing.
const CODE_BYTES: usize = 16;

/// A new unguessable ticket code (22 characters of base64url).
pub fn new_code() -> String {
    let bytes: [u8; CODE_BYTES] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The signing key of one event.
pub fn event_key(master: &[u8], event_id: i64) -> SigningKey {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
    let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(master) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    mac.update(b"boxoffice ticket signing v1, event ");
    mac.update(event_id.to_string().as_bytes());
    let seed: [u8; 32] = mac.finalize().into_bytes().into();
    SigningKey::from_bytes(&seed)
}

fn message(event_slug: &str, code: &str) -> String {
    format!("boxoffice-ticket:v1:{event_slug}:{code}")
}

/// The QR payload of a ticket.
pub fn payload(key: &SigningKey, event_slug: &str, code: &str) -> String {
    let signature = key.sign(message(event_slug, code).as_bytes());
    format!("{code}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
}

/// What a scanner sent: a bare code, or a payload with its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan<'a> {
    pub code: &'a str,
    pub signature: Option<&'a str>,
}

pub fn read_scan(input: &str) -> Scan<'_> {
    let input = input.trim();
    match input.split_once('.') {
        Some((code, signature)) => Scan {
            code,
            signature: Some(signature),
        },
        None => Scan {
            code: input,
            signature: None,
        },
    }
}

/// Whether `signature` (base64url) signs `code` for the event.
pub fn verify(public: &VerifyingKey, event_slug: &str, code: &str, signature: &str) -> bool {
    let Ok(bytes) = URL_SAFE_NO_PAD.decode(signature) else {
        return false;
    };
    let Ok(bytes) = <[u8; 64]>::try_from(bytes.as_slice()) else {
        return false;
    };
    public
        .verify(
            message(event_slug, code).as_bytes(),
            &Signature::from_bytes(&bytes),
        )
        .is_ok()
}

/// The public key as scanners get it: base64url of its 32 bytes.
pub fn public_key_text(key: &SigningKey) -> String {
    URL_SAFE_NO_PAD.encode(key.verifying_key().to_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_verifies_with_its_events_key_only() {
        let key = event_key(b"master secret", 7);
        let code = new_code();
        let p = payload(&key, "devoxx", &code);
        let scan = read_scan(&p);
        assert_eq!(scan.code, code);
        let public = key.verifying_key();
        assert!(verify(
            &public,
            "devoxx",
            scan.code,
            scan.signature.unwrap()
        ));
        // Another event, another code, another key: refused.
        assert!(!verify(
            &public,
            "other",
            scan.code,
            scan.signature.unwrap()
        ));
        assert!(!verify(
            &public,
            "devoxx",
            &new_code(),
            scan.signature.unwrap()
        ));
        let other = event_key(b"master secret", 8).verifying_key();
        assert!(!verify(
            &other,
            "devoxx",
            scan.code,
            scan.signature.unwrap()
        ));
        assert!(!verify(&public, "devoxx", scan.code, "not base64!"));
        assert!(!verify(&public, "devoxx", scan.code, "AAAA"));
    }

    #[test]
    fn keys_are_derived_deterministically() {
        let a = event_key(b"m", 1).verifying_key();
        assert_eq!(a, event_key(b"m", 1).verifying_key());
        assert_ne!(a, event_key(b"n", 1).verifying_key());
        assert_eq!(public_key_text(&event_key(b"m", 1)).len(), 43);
    }

    #[test]
    fn codes_are_long_random_and_free_of_dots() {
        let a = new_code();
        assert_eq!(a.len(), 22);
        assert!(!a.contains('.'));
        assert_ne!(a, new_code());
        assert_eq!(read_scan(" abc ").signature, None);
    }
}
