//! `Tenant`: one event organizer and everything its shop runs on.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{LocalObjectReference, Toleration};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Default shop replicas.
pub const DEFAULT_REPLICAS: i32 = 4;
/// Default memory of a shop pod (request = limit).
pub const DEFAULT_MEMORY: &str = "1Gi";
/// Default CPU request of a shop pod (never a limit).
pub const DEFAULT_CPU: &str = "250m";

/// What an organizer gets: where its database lives, its shop, and what deleting it does.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "boxoffice.dev",
    version = "v1alpha1",
    kind = "Tenant",
    plural = "tenants",
    singular = "tenant",
    shortname = "tenant",
    status = "TenantStatus",
    doc = "An event organizer on the platform. The operator gives it a namespace `tenant-<name>`, a database on one of the DatabaseServers, and a running shop.",
    printcolumn = r#"{"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name": "Server", "type": "string", "jsonPath": ".status.databaseServer"}"#,
    printcolumn = r#"{"name": "Replicas", "type": "integer", "jsonPath": ".status.readyReplicas"}"#,
    printcolumn = r#"{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct TenantSpec {
    /// The organizer's name, as attendees see it.
    #[schemars(length(min = 1, max = 200))]
    pub display_name: String,

    /// The DatabaseServer to put the tenant's database on. When empty, the operator picks
    /// the reachable server with the fewest tenants and records it in
    /// `status.databaseServer`. Either way, a tenant never moves to another server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253), pattern(super::DNS_SUBDOMAIN_PATTERN))]
    pub database_server: Option<String>,

    /// The shop: its pods, their image and resources, and its Ingress. Every field has a
    /// default.
    #[serde(default)]
    pub shop: ShopSpec,

    /// What happens to the database when the Tenant is deleted: `Retain` keeps database and
    /// role (a Tenant of the same name adopts them later), `Delete` drops both.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,

    /// While true the operator writes nothing for this tenant (no child object, no database
    /// change); deleting the Tenant still cleans up. Status reads `Ready=Unknown`, reason
    /// `Paused`.
    #[serde(default)]
    pub paused: bool,
}

/// The shop: a Deployment of `ticketing-service` and what routes to it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ShopSpec {
    /// Shop pods, spread over nodes, 1 to 100. Default 4.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100))]
    pub replicas: Option<i32>,

    /// Memory of each pod, request and limit alike: a quantity such as `512Mi` or `2Gi`, at
    /// least `64Mi`. Default `1Gi`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::quantity_schema")]
    pub memory: Option<Quantity>,

    /// CPU request of each pod, a quantity such as `250m` or `2`; never a limit, so a rush
    /// can use idle cores. Default `250m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::quantity_schema")]
    pub cpu: Option<Quantity>,

    /// `ticketing-service` image. Default: the operator's `--shop-image`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512))]
    pub image: Option<String>,

    /// Host name of an Ingress for the shop (routes `/api/` and the shop pages only, never
    /// `/admin/` or `/metrics`). No Ingress without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253), pattern(super::DNS_SUBDOMAIN_PATTERN))]
    pub hostname: Option<String>,

    /// TLS for the Ingress; requires `hostname`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<ShopTls>,

    /// Ingress class of the Ingress; requires `hostname`. Default: the cluster's default
    /// class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253), pattern(super::DNS_SUBDOMAIN_PATTERN))]
    pub ingress_class_name: Option<String>,

    /// Pull secrets for the shop's image, in the tenant's namespace.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_pull_secrets: Vec<LocalObjectReference>,

    /// Node selector of the shop's pods.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,

    /// Tolerations of the shop's pods.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
}

/// TLS of the shop's Ingress.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ShopTls {
    /// Secret (in the tenant's namespace) holding the certificate, e.g. one cert-manager
    /// writes.
    #[schemars(length(min = 1, max = 253), pattern(super::DNS_SUBDOMAIN_PATTERN))]
    pub secret_name: String,
}

/// What deleting a Tenant does to its database.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum DeletionPolicy {
    /// Keep the database and its role.
    #[default]
    Retain,
    /// Drop the database (closing its connections) and the role.
    Delete,
}

/// What the operator last saw and did. Follows kstatus: `Ready` plus
/// `observedGeneration`, so `kubectl wait --for=condition=Ready`, Flux and Argo CD work.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantStatus {
    /// The generation of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,

    /// `Ready`, `NamespaceReady`, `DatabaseReady`, `NetworkIsolated`, `WorkloadReady`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,

    /// The tenant's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,

    /// The DatabaseServer holding the tenant's database; set once, before anything is
    /// created, and never changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_server: Option<String>,

    /// Name of the tenant's database (and role).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,

    /// Secret with the database credentials, in the tenant's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_secret: Option<String>,

    /// Secret with the shop's admin token, in the tenant's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_token_secret: Option<String>,

    /// Shop pods ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_replicas: Option<i32>,

    /// The last value of the `boxoffice.dev/rotate-credentials` annotation acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_rotation: Option<String>,
}

/// Annotation on a Tenant whose every new value rotates its database credentials.
pub const ROTATE_ANNOTATION: &str = "boxoffice.dev/rotate-credentials";

impl Tenant {
    /// The value of [`ROTATE_ANNOTATION`], if any.
    pub fn rotation_requested(&self) -> Option<&str> {
        self.metadata
            .annotations
            .as_ref()?
            .get(ROTATE_ANNOTATION)
            .map(String::as_str)
    }

    /// The tenant's namespace.
    pub fn namespace_name(&self) -> String {
        namespace_for(&self.metadata.name.clone().unwrap_or_default())
    }
}

/// `tenant-<name>`.
pub fn namespace_for(tenant: &str) -> String {
    format!("tenant-{tenant}")
}

/// `tenant_<name with '-' as '_'>`: the database and role of a tenant.
pub fn database_for(tenant: &str) -> String {
    format!("tenant_{}", tenant.replace('-', "_"))
}
