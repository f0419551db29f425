//! Names and literals inside SQL text.
//!
//! Role and database names cannot be bind parameters in DDL, so they are checked against a
//! narrow pattern first and then quoted anyway: either step alone would keep a hostile name
//! out of a statement, both together also keep out a bug in the other.

use super::DatabaseError;

/// Prefix of every role and database the operator creates, and so of every one it may
/// change or drop.
pub const TENANT_PREFIX: &str = "tenant_";

/// Longest identifier PostgreSQL keeps whole (NAMEDATALEN - 1).
const MAX_IDENTIFIER: usize = 63;

/// Checks `name` against `^[a-z_][a-z0-9_]{0,62}$`.
pub fn validate_name(name: &str) -> Result<(), DatabaseError> {
    let invalid = |reason| DatabaseError::InvalidName {
        name: name.to_string(),
        reason,
    };
    let mut chars = name.chars();
    match chars.next() {
        None => return Err(invalid("must not be empty")),
        Some(c) if c.is_ascii_lowercase() || c == '_' => {}
        Some(_) => return Err(invalid("must start with a lower-case letter or '_'")),
    }
    if !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
        return Err(invalid("may hold only lower-case letters, digits and '_'"));
    }
    if name.len() > MAX_IDENTIFIER {
        return Err(invalid("must be at most 63 characters"));
    }
    Ok(())
}

/// Checks `name` like [`validate_name`] and that it is a tenant's (`tenant_…`): the
/// operator creates, alters and drops no other role or database, so a bug cannot reach
/// `postgres` or the admin role.
pub fn validate_tenant_name(name: &str) -> Result<(), DatabaseError> {
    validate_name(name)?;
    if name.len() <= TENANT_PREFIX.len() || !name.starts_with(TENANT_PREFIX) {
        return Err(DatabaseError::InvalidName {
            name: name.to_string(),
            reason: "must be a tenant's name, `tenant_<name>`",
        });
    }
    Ok(())
}

/// `name` as a quoted identifier: in double quotes, inner double quotes doubled.
pub fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `value` as a string literal, as PostgreSQL's own `quote_literal` writes it: single
/// quotes doubled, and when a backslash occurs, an `E'…'` literal with backslashes doubled,
/// so the result means the same whatever `standard_conforming_strings` says.
pub fn quote_literal(value: &str) -> String {
    let escaped = value.replace('\'', "''");
    if escaped.contains('\\') {
        format!("E'{}'", escaped.replace('\\', "\\\\"))
    } else {
        format!("'{escaped}'")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_tenant_names() {
        for name in [
            "tenant_a",
            "tenant_devoxx_be_2026",
            "_x",
            "a",
            &"a".repeat(63),
        ] {
            assert!(validate_name(name).is_ok(), "{name}");
        }
        let longest = format!("tenant_{}", "a".repeat(56));
        assert!(validate_tenant_name(&longest).is_ok());
    }

    #[test]
    fn rejects_names_outside_the_pattern() {
        for name in [
            "",
            "Tenant_a",
            "1tenant",
            "tenant-a",
            "tenant a",
            "tenant_a\"; DROP ROLE postgres; --",
            "tenant_ä",
            "tenant_a\0",
            &"a".repeat(64),
        ] {
            let err = validate_name(name).expect_err(name);
            assert!(matches!(err, DatabaseError::InvalidName { .. }));
        }
    }

    #[test]
    fn only_tenant_names_are_tenant_names() {
        for name in [
            "postgres",
            "boxoffice_admin",
            "tenant_",
            "tenant",
            "xtenant_a",
        ] {
            assert!(validate_tenant_name(name).is_err(), "{name}");
        }
        assert!(validate_tenant_name("tenant_a").is_ok());
    }

    #[test]
    fn quotes_identifiers() {
        assert_eq!(quote_identifier("tenant_a"), r#""tenant_a""#);
        assert_eq!(quote_identifier(r#"a"b"#), r#""a""b""#);
        assert_eq!(quote_identifier(r#"""#), r#""""""#);
    }

    #[test]
    fn quotes_literals() {
        assert_eq!(quote_literal("abc"), "'abc'");
        assert_eq!(quote_literal("it's"), "'it''s'");
        assert_eq!(quote_literal(r"a\b"), r"E'a\\b'");
        assert_eq!(quote_literal(r"\'"), r"E'\\'''");
        assert_eq!(quote_literal(""), "''");
    }
}
