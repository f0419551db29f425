//! Syntax checks for the names Kubernetes and the network use: DNS labels and subdomains,
//! label keys and values, CIDRs. Each returns whether the input is well formed; the caller
//! names the field in its error.

use std::net::IpAddr;

/// Longest DNS label, and longest label name or value.
const MAX_LABEL: usize = 63;
/// Longest DNS subdomain.
const MAX_SUBDOMAIN: usize = 253;

/// An RFC 1123 label as Kubernetes names objects: lower-case letters, digits and `-`,
/// starting and ending with a letter or digit, at most `max` characters.
pub fn is_dns_label(s: &str, max: usize) -> bool {
    let bytes = s.as_bytes();
    !s.is_empty()
        && s.len() <= max.min(MAX_LABEL)
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
}

/// An RFC 1123 subdomain: dot-separated DNS labels, at most 253 characters. This is what
/// most Kubernetes object names, and host names, must be.
pub fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= MAX_SUBDOMAIN && s.split('.').all(|label| is_dns_label(label, MAX_LABEL))
}

/// A host name an Ingress accepts: a DNS subdomain that is not an IP address.
pub fn is_host_name(s: &str) -> bool {
    is_dns_subdomain(s) && s.parse::<IpAddr>().is_err()
}

/// A label key: an optional DNS subdomain prefix and `/`, then a name of at most 63
/// characters of letters, digits, `-`, `_` and `.`, starting and ending alphanumeric.
pub fn is_label_key(s: &str) -> bool {
    let (prefix, name) = match s.rsplit_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, s),
    };
    prefix.is_none_or(is_dns_subdomain) && !name.is_empty() && is_label_value(name)
}

/// A label value: empty, or at most 63 characters of letters, digits, `-`, `_` and `.`,
/// starting and ending alphanumeric.
pub fn is_label_value(s: &str) -> bool {
    let bytes = s.as_bytes();
    if bytes.is_empty() {
        return true;
    }
    s.len() <= MAX_LABEL
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
}

/// An IPv4 or IPv6 CIDR such as `10.0.12.7/32` or `fd00::/64`. Host bits may be set, as
/// NetworkPolicy `ipBlock.cidr` allows.
pub fn is_cidr(s: &str) -> bool {
    let Some((ip, prefix)) = s.split_once('/') else {
        return false;
    };
    let Ok(ip) = ip.parse::<IpAddr>() else {
        return false;
    };
    // `u8` parsing alone would accept `+8`.
    if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let max = if ip.is_ipv4() { 32 } else { 128 };
    prefix.parse::<u8>().is_ok_and(|p| p <= max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_labels() {
        for ok in ["a", "devoxx", "voxxed-zurich", "0a9", &"a".repeat(56)] {
            assert!(is_dns_label(ok, 56), "{ok}");
        }
        for bad in ["", "-a", "a-", "A", "a_b", "a.b", "é", &"a".repeat(57)] {
            assert!(!is_dns_label(bad, 56), "{bad}");
        }
        assert!(!is_dns_label(&"a".repeat(64), 100), "no label exceeds 63");
    }

    #[test]
    fn dns_subdomains_and_host_names() {
        for ok in ["pg-1", "tickets.devoxx.be", "a.b-c.d", "10.0.0.1"] {
            assert!(is_dns_subdomain(ok), "{ok}");
        }
        for bad in [
            "",
            "a..b",
            ".a",
            "a.",
            "Tickets.devoxx.be",
            "a_b.c",
            "*.devoxx.be",
        ] {
            assert!(!is_dns_subdomain(bad), "{bad}");
        }
        let long = [
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(61),
        ]
        .join(".");
        assert_eq!(long.len(), 253);
        assert!(is_dns_subdomain(&long));
        assert!(!is_dns_subdomain(&format!("{long}e")));
        assert!(!is_dns_subdomain(&"a".repeat(64)), "each label at most 63");

        assert!(is_host_name("tickets.devoxx.be"));
        assert!(
            !is_host_name("10.0.0.1"),
            "an Ingress host may not be an IP"
        );
    }

    #[test]
    fn label_keys_and_values() {
        for ok in [
            "disktype",
            "kubernetes.io/hostname",
            "node.example.com/pool_A.1",
        ] {
            assert!(is_label_key(ok), "{ok}");
        }
        for bad in [
            "",
            "/a",
            "a/",
            "Example.com/a",
            "a/b/c",
            "-a",
            &"a".repeat(64),
        ] {
            assert!(!is_label_key(bad), "{bad}");
        }
        for ok in ["", "ssd", "Pool_A.1", &"v".repeat(63)] {
            assert!(is_label_value(ok), "{ok}");
        }
        for bad in ["-ssd", "ssd.", "a b", "a/b", &"v".repeat(64)] {
            assert!(!is_label_value(bad), "{bad}");
        }
    }

    #[test]
    fn cidrs() {
        for ok in [
            "10.0.12.7/32",
            "10.0.0.0/8",
            "0.0.0.0/0",
            "fd00::/64",
            "::1/128",
        ] {
            assert!(is_cidr(ok), "{ok}");
        }
        for bad in [
            "10.0.12.7",
            "10.0.0.0/33",
            "fd00::/129",
            "10.0.0/8",
            "db/32",
            "10.0.0.0/+8",
        ] {
            assert!(!is_cidr(bad), "{bad}");
        }
        assert!(!is_cidr("10.0.0.0/"));
    }
}
