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

    /// The message a status condition shows: for a refused API call, the server's own words
    /// (which name the verb, the resource and the operator's user) and where to fix it.
    pub fn condition_message(&self) -> String {
        let Error::Kube {
            action,
            kind,
            name,
            source,
        } = self
        else {
            return self.to_string();
        };
        match &**source {
            kube::Error::Api(s) if s.code == 403 => {
                // An apply that would create the object is checked against `create` as well,
                // and that refusal comes without a reason: "… is forbidden: ".
                let words = s.message.trim_end().trim_end_matches(':');
                let hint = if *action == "apply" && words.len() < s.message.trim_end().len() {
                    " (creating it takes the verb create)"
                } else {
                    ""
                };
                format!(
                    "forbidden to {action} {kind} {name}: {words}{hint}; the operator's RBAC \
                     must allow it"
                )
            }
            kube::Error::Api(s) => format!(
                "failed to {action} {kind} {name}: {} ({})",
                s.message, s.reason
            ),
            _ => self.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api_error(code: u16, reason: &str, message: &str) -> kube::Error {
        kube::Error::Api(Box::new(kube::core::Status {
            code,
            reason: reason.into(),
            message: message.into(),
            ..Default::default()
        }))
    }

    #[test]
    fn a_refused_call_is_forbidden_and_says_what_was_refused() {
        let refusal = "networkpolicies.networking.k8s.io \"default-deny\" is forbidden: User \
            \"system:serviceaccount:boxoffice-system:boxoffice-operator\" cannot patch resource \
            \"networkpolicies\" in API group \"networking.k8s.io\" in the namespace \"tenant-a\"";
        let source = api_error(403, "Forbidden", refusal);
        let e = Error::kube("apply", "NetworkPolicy", "tenant-a/default-deny", source);
        assert_eq!(e.reason(), "Forbidden");
        let message = e.condition_message();
        assert!(
            message.starts_with("forbidden to apply NetworkPolicy tenant-a/default-deny: "),
            "{message}"
        );
        assert!(message.contains("cannot patch resource"), "{message}");
        assert!(
            message.ends_with("the operator's RBAC must allow it"),
            "{message}"
        );
        assert!(!message.contains("Status {"), "no debug dump: {message}");
    }

    #[test]
    fn a_refused_create_by_apply_says_so() {
        let source = api_error(403, "Forbidden", "namespaces \"tenant-a\" is forbidden: ");
        let e = Error::kube("apply", "Namespace", "tenant-a", source);
        assert_eq!(
            e.condition_message(),
            "forbidden to apply Namespace tenant-a: namespaces \"tenant-a\" is forbidden \
             (creating it takes the verb create); the operator's RBAC must allow it"
        );
    }

    #[test]
    fn other_api_errors_keep_their_reason() {
        let source = api_error(409, "Conflict", "the object has been modified");
        let e = Error::kube("apply", "Deployment", "tenant-a/shop", source);
        assert_eq!(e.reason(), "KubernetesApiError");
        assert_eq!(
            e.condition_message(),
            "failed to apply Deployment tenant-a/shop: the object has been modified (Conflict)"
        );
    }
}
