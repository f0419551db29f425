//! `DatabaseServer`: a shared PostgreSQL instance tenant databases may be placed on.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, LabelSelector};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::SecretReference;

/// Where the server is, how shops reach it, and the credentials that manage it. Shared
/// by several tenants, each with its own database and role.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "boxoffice.dev",
    version = "v1alpha1",
    kind = "DatabaseServer",
    plural = "databaseservers",
    singular = "databaseserver",
    shortname = "dbs",
    status = "DatabaseServerStatus",
    doc = "A PostgreSQL server that tenants' databases may be placed on. The operator creates one role and one database per tenant on it, with the admin credentials of `adminSecretRef`.",
    printcolumn = r#"{"name": "Host", "type": "string", "jsonPath": ".spec.host"}"#,
    printcolumn = r#"{"name": "Reachable", "type": "boolean", "jsonPath": ".status.reachable"}"#,
    printcolumn = r#"{"name": "Tenants", "type": "integer", "jsonPath": ".status.tenants"}"#,
    printcolumn = r#"{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseServerSpec {
    /// Host name or IP address of the server, as the shops reach it.
    #[schemars(length(min = 1, max = 253))]
    pub host: String,

    /// Port. Default 5432.
    #[serde(default = "default_port")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: i32,

    /// TLS towards the server: `disable`, `require` (encrypt, do not verify) or
    /// `verify-full` (verify the certificate and host name against `caSecretRef`).
    #[serde(default)]
    pub ssl_mode: SslMode,

    /// Secret with the CA certificate (key `ca.crt`); required for `verify-full`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_secret_ref: Option<SecretReference>,

    /// Secret with keys `username` and `password` of a role that may create roles and
    /// databases.
    pub admin_secret_ref: SecretReference,

    /// Most tenants placed on this server. No limit when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100000))]
    pub capacity: Option<i32>,

    /// How tenants' NetworkPolicies let shops reach this server. Required when `host` is
    /// not an IP address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub egress: Option<DatabaseEgress>,
}

fn default_port() -> i32 {
    5432
}

/// TLS mode towards a database server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SslMode {
    Disable,
    #[default]
    Require,
    VerifyFull,
}

impl SslMode {
    /// The libpq `sslmode` value.
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Require => "require",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// Where a database server is, in NetworkPolicy terms.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseEgress {
    /// CIDRs of the server (e.g. `10.0.12.7/32`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cidrs: Vec<String>,
    /// Namespaces the server runs in, when it runs in the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_selector: Option<LabelSelector>,
    /// Pods of the server, within those namespaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_selector: Option<LabelSelector>,
}

/// What the operator last saw of the server.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseServerStatus {
    /// The generation of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Whether the operator could connect with the admin credentials at its last check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reachable: Option<bool>,
    /// Tenants placed on this server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenants: Option<i32>,
    /// `Ready` with the reason and message of the last check.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}
