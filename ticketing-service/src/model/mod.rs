//! Request bodies, their validation (pure), and the documents the API answers.

pub mod event;
pub mod reservation;

use serde::{Deserialize, Deserializer};

/// For PATCH bodies: tells an absent field (`None`) from an explicit `null` (`Some(None)`).
pub fn double_option<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// URL-safe identifiers: lowercase letters, digits and inner hyphens, 1 to 64 characters.
pub fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && !s.starts_with('-')
        && !s.ends_with('-')
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// A plausible e-mail address: one `@`, something on each side, a dot in the domain, no
/// spaces. Deliverability is the mail server's business.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    s.len() <= 254
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && domain
            .split('.')
            .all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'))
        && !s.chars().any(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert!(is_slug("devoxx-2026"));
        assert!(is_slug("a"));
        for bad in ["", "-a", "a-", "Devoxx", "a_b", "a b", &"x".repeat(65)] {
            assert!(!is_slug(bad), "{bad:?}");
        }
    }

    #[test]
    fn emails() {
        assert!(is_email("a@example.org"));
        assert!(is_email("first.last+tag@sub-domain.example.co.uk"));
        for bad in [
            "",
            "a",
            "@example.org",
            "a@org",
            "a@@b.org",
            "a b@c.org",
            "a@.org",
            "a@b.",
            "a@b..de",
            "a@-b.de",
            "a@b-.de",
        ] {
            assert!(!is_email(bad), "{bad:?}");
        }
    }
}
