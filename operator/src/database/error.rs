//! What can go wrong between the operator and a database server, sorted the way callers
//! branch on it: the server cannot be reached, it refused the credentials, a statement
//! failed, or the operator was asked for something it will not do.
//!
//! No variant holds a password: passwords never reach a statement's text (only SCRAM
//! verifiers do, see [`super::scram`]), and the server's error messages do not repeat them.

use std::fmt;

/// An error from a database server, or a request the operator refuses before sending it.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    /// No working connection: refused, timed out, TLS failed, or the server is starting or
    /// shutting down.
    #[error("failed to reach database server {server}: {cause}")]
    Unreachable { server: String, cause: sqlx::Error },

    /// The server answered and refused the role, its password, or its database.
    #[error("failed to log in to database server {server} as role {role}: {cause}")]
    Authentication {
        server: String,
        role: String,
        cause: sqlx::Error,
    },

    /// A statement failed on a reachable server.
    #[error("failed to {action}: {cause}")]
    Query { action: String, cause: sqlx::Error },

    /// A role or database name that is not a plain lower-case identifier, or not a
    /// tenant's (`tenant_…`) where only a tenant's may be touched.
    #[error("failed to accept {name:?} as a role or database name: {reason}")]
    InvalidName { name: String, reason: &'static str },

    /// A password the operator cannot turn into a SCRAM verifier (the text is not shown).
    #[error("failed to accept the password: {reason}")]
    InvalidPassword { reason: &'static str },

    /// A request that is well-formed but not carried out, such as adopting a superuser.
    #[error("failed to {action}: {reason}")]
    Refused { action: String, reason: String },
}

/// Whether the server could not be reached at all, as opposed to reached and refusing.
pub fn is_unreachable(err: &DatabaseError) -> bool {
    matches!(err, DatabaseError::Unreachable { .. })
}

/// Sorts a sqlx error: connection trouble, an authentication failure of `role`, or a
/// failed `action`.
pub(crate) fn classify(
    server: &dyn fmt::Display,
    role: &str,
    action: &dyn fmt::Display,
    cause: sqlx::Error,
) -> DatabaseError {
    if is_connection_failure(&cause) {
        return DatabaseError::Unreachable {
            server: server.to_string(),
            cause,
        };
    }
    if is_authentication_failure(&cause) {
        return DatabaseError::Authentication {
            server: server.to_string(),
            role: role.to_string(),
            cause,
        };
    }
    DatabaseError::Query {
        action: action.to_string(),
        cause,
    }
}

/// The SQLSTATE of a server error, if `err` is one.
pub(crate) fn sqlstate(err: &sqlx::Error) -> Option<String> {
    match err {
        sqlx::Error::Database(db) => db.code().map(|code| code.into_owned()),
        _ => None,
    }
}

fn is_connection_failure(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(_) => {
            let code = sqlstate(err).unwrap_or_default();
            // 08: connection exception; 57P01-03: shutting down, crashed, starting up. A
            // server out of connection slots (53300) answers, so it is not among them.
            code.starts_with("08") || matches!(code.as_str(), "57P01" | "57P02" | "57P03")
        }
        _ => false,
    }
}

fn is_authentication_failure(err: &sqlx::Error) -> bool {
    // 28000: invalid authorization (no pg_hba entry, login not allowed); 28P01: password.
    matches!(sqlstate(err).as_deref(), Some("28000" | "28P01"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_are_unreachable() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let err = classify(&"db:5432", "admin", &"ping", sqlx::Error::Io(io));
        assert!(is_unreachable(&err));
        assert!(err
            .to_string()
            .starts_with("failed to reach database server db:5432"));
    }

    #[test]
    fn other_errors_name_the_action() {
        let err = classify(
            &"db:5432",
            "admin",
            &"create role x",
            sqlx::Error::RowNotFound,
        );
        assert!(!is_unreachable(&err));
        assert!(err.to_string().starts_with("failed to create role x: "));
    }
}
