//! What can go wrong in a reconcile, with the reason each failure is counted and shown under.

use crate::database::DatabaseError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("failed to {action} {kind} {name}: {source}")]
    Kube {
        action: &'static str,
        kind: String,
        name: String,
        #[source]
        source: Box<kube::Error>,
    },

    #[error("invalid spec: {0}")]
    Invalid(String),

    #[error("database server {server}: {source}")]
    Database {
        server: String,
        #[source]
        source: DatabaseError,
    },

    #[error("database server {0} does not exist")]
    ServerNotFound(String),

    #[error("admin Secret of database server {server}: {message}")]
    AdminSecret { server: String, message: String },

    #[error("no database server can take the tenant: {0}")]
    NoServer(String),

    #[error("failed to serialise an object: {0}")]
    Serialize(String),

    #[error("finalizer: {0}")]
    Finalizer(String),
}

impl Error {
    pub fn kube(action: &'static str, kind: &str, name: &str, source: kube::Error) -> Self {
        Error::Kube {
            action,
            kind: kind.to_string(),
            name: name.to_string(),
            source: Box::new(source),
        }
    }

    /// A short CamelCase reason for metrics, conditions and Events.
    pub fn reason(&self) -> &'static str {
        match self {
            Error::Kube { source, .. } if matches!(&**source, kube::Error::Api(s) if s.code == 403) => {
                "Forbidden"
            }
            Error::Kube { .. } => "KubernetesApiError",
            Error::Invalid(_) => "InvalidSpec",
            Error::Database { source, .. } if crate::database::is_unreachable(source) => {
                "DatabaseServerUnreachable"
            }
            Error::Database { .. } => "DatabaseError",
            Error::ServerNotFound(_) => "DatabaseServerNotFound",
            Error::AdminSecret { .. } => "AdminSecretInvalid",
            Error::NoServer(_) => "NoDatabaseServer",
            Error::Serialize(_) => "InternalError",
            Error::Finalizer(_) => "FinalizerFailed",
        }
    }
}
