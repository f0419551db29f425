//! Fixtures for reconcile tests: real PostgreSQL servers for the database side, and a
//! mocked API server that expects the requests of one reconcile in order.
//!
//! This module holds the world a reconcile starts from: a [`TestServer`], Tenants in the
//! states the scenarios need ([`TenantFixture`]), the children the builders make, and the
//! objects the API server holds ([`Cluster`]), served with the fields a real API server
//! adds, so that "unchanged" is decided as against a real one. [`verifier`] answers the
//! requests; [`scenario`] says which requests each case expects.

mod scenario;
mod test_server;
mod verifier;

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::Resource;
use serde::Serialize;
use serde_json::{json, Value};

pub use scenario::Scenario;
pub use test_server::TestServer;
pub use verifier::{testcontext, Write};

use test_server::server_paths;

use super::tenant::status::{self, Observed, Verdict};
use super::tenant::FINALIZER;
use crate::crd::{DatabaseServer, DeletionPolicy, Tenant, TenantStatus};
use crate::resources::fixtures::settings;
use crate::resources::{
    build, BuildInputs, Credentials, DesiredObjects, ShopSecrets, FIELD_MANAGER,
};
use crate::validate::fixtures::{minimal_tenant, SHOP_IMAGE};
use crate::validate::validate_tenant;

pub const TENANT: &str = "devoxx";
pub const NAMESPACE: &str = "tenant-devoxx";
pub const DATABASE: &str = "tenant_devoxx";
pub const SERVER: &str = "pg-1";

/// Tenant `devoxx` with the required fields only, generation 1, as read from the API.
pub fn new_tenant() -> Tenant {
    minimal_tenant(TENANT)
}

/// The states of a Tenant the scenarios start from.
pub trait TenantFixture: Sized {
    fn finalized(self) -> Self;
    fn deleting(self, policy: DeletionPolicy) -> Self;
    fn paused(self) -> Self;
    fn with_status(self, status: TenantStatus) -> Self;
}

impl TenantFixture for Tenant {
    fn finalized(mut self) -> Self {
        self.metadata.finalizers = Some(vec![FINALIZER.into()]);
        self
    }

    fn deleting(mut self, policy: DeletionPolicy) -> Self {
        self.metadata.deletion_timestamp = Some(Time(Timestamp::now()));
        self.spec.deletion_policy = policy;
        self
    }

    /// Paused by a change of the spec, so at generation 2.
    fn paused(mut self) -> Self {
        self.spec.paused = true;
        self.metadata.generation = Some(2);
        self
    }

    fn with_status(mut self, status: TenantStatus) -> Self {
        self.status = Some(status);
        self
    }
}

/// The status of a tenant whose shop is up, with `policies` NetworkPolicies, as the
/// reconcile writes it.
pub fn settled_status(policies: usize) -> TenantStatus {
    let database = format!("database {DATABASE} on {SERVER}");
    let network = format!("{policies} NetworkPolicies, default deny");
    let observed = Observed {
        namespace: Some(Verdict::yes(
            "NamespaceActive",
            format!("namespace {NAMESPACE}"),
        )),
        database: Some(Verdict::yes("DatabaseProvisioned", database)),
        network: Some(Verdict::yes("PoliciesApplied", network)),
        workload: Some(Verdict::yes("ReplicasReady", "4/4 shop pods ready")),
        ready_override: None,
    };
    let long_ago = Time(Timestamp::from_second(1_700_000_000).expect("a valid time"));
    TenantStatus {
        observed_generation: Some(1),
        conditions: status::conditions(&[], &observed, Some(1), &long_ago),
        namespace: Some(NAMESPACE.into()),
        database_server: Some(SERVER.into()),
        database: Some(DATABASE.into()),
        credentials_secret: Some("shop-db".into()),
        admin_token_secret: Some("shop-admin".into()),
        ready_replicas: Some(4),
        credentials_rotation: None,
    }
}

/// The shop's admin token and signing key of a tenant provisioned earlier.
pub fn shop_secrets() -> ShopSecrets {
    ShopSecrets {
        admin_token: "token-0123".into(),
        ticket_signing_key: "key-4567".into(),
    }
}

/// What the reconcile builds for `tenant` on `server` with these credentials.
pub fn desired(
    tenant: &Tenant,
    server: &TestServer,
    password: &str,
    secrets: &ShopSecrets,
) -> DesiredObjects {
    built(
        tenant,
        &server.resource(),
        server.ca_pem(),
        password,
        secrets,
    )
}

/// The objects of `tenant` on `server` with these credentials, handing the shop `ca_pem`.
pub fn built(
    tenant: &Tenant,
    server: &DatabaseServer,
    ca_pem: Option<&str>,
    password: &str,
    secrets: &ShopSecrets,
) -> DesiredObjects {
    let valid = validate_tenant(tenant, SHOP_IMAGE).expect("a valid tenant");
    let credentials = Credentials {
        username: DATABASE.into(),
        password: password.into(),
        host: server.spec.host.clone(),
        port: server.spec.port,
        database: DATABASE.into(),
        ssl_mode: server.spec.ssl_mode,
        ca_pem: ca_pem.map(str::to_string),
    };
    build(&BuildInputs {
        tenant,
        valid: &valid,
        server,
        credentials: &credentials,
        secrets,
        settings: &settings(),
        serves_policy_v1: true,
    })
}

/// The children of `d` in the order the reconcile applies them: path and object.
pub fn children(d: &DesiredObjects) -> Vec<(String, Value)> {
    fn entry<K: Resource<DynamicType = ()> + Serialize>(object: &K) -> (String, Value) {
        let value = serde_json::to_value(object).expect("serialisable");
        (path_of(object), value)
    }
    let mut children = vec![entry(&d.namespace), entry(&d.resource_quota)];
    children.extend(d.network_policies.iter().map(entry));
    children.extend([
        entry(&d.service_account),
        entry(&d.db_secret),
        entry(&d.admin_secret),
        entry(&d.service),
        entry(&d.deployment),
    ]);
    children.extend(d.pod_disruption_budget.iter().map(entry));
    children.extend(d.ingress.iter().map(entry));
    children
}

/// The API path of an object.
pub fn path_of<K: Resource<DynamicType = ()>>(object: &K) -> String {
    let meta = object.meta();
    let name = meta.name.as_deref().unwrap_or_default();
    format!("{}/{name}", K::url_path(&(), meta.namespace.as_deref()))
}

/// What the mocked API server holds, by path, as it serves it.
#[derive(Clone, Debug, Default)]
pub struct Cluster {
    objects: BTreeMap<String, Value>,
}

impl Cluster {
    /// The tenant's server, its admin Secret and its CA Secret (if any).
    pub fn with_server(server: &TestServer) -> Cluster {
        let cluster = Cluster::default()
            .with(&server.resource())
            .with(&server.admin_secret());
        match server.ca_secret() {
            Some(ca) => cluster.with(&ca),
            None => cluster,
        }
    }

    /// The server, and every child as `desired` says, created earlier: the shop is up.
    pub fn settled(server: &TestServer, desired: &DesiredObjects) -> Cluster {
        let mut cluster = Cluster::with_server(server);
        for (path, object) in children(desired) {
            cluster.insert_existing(path, object);
        }
        cluster
    }

    /// Adds `object`, created earlier.
    pub fn with<K: Resource<DynamicType = ()> + Serialize>(mut self, object: &K) -> Cluster {
        let value = serde_json::to_value(object).expect("serialisable");
        self.insert_existing(path_of(object), value);
        self
    }

    fn get(&self, path: &str) -> Option<&Value> {
        self.objects.get(path)
    }

    pub fn without(mut self, path: &str) -> Cluster {
        self.objects.remove(path);
        self
    }

    /// Holds `object` as applied just now: a new object has no status yet.
    fn apply(&mut self, path: &str, object: Value) -> Value {
        let mut served = as_served(object);
        if let Some(status) = self.objects.get(path).and_then(|o| o.get("status")) {
            served["status"] = status.clone();
        }
        self.objects.insert(path.to_string(), served.clone());
        served
    }

    /// Holds `object` as created some time ago: a Deployment's pods are all ready.
    fn insert_existing(&mut self, path: String, object: Value) {
        let mut served = as_served(object);
        if served["kind"] == "Deployment" {
            let replicas = served["spec"]["replicas"].clone();
            served["status"] = json!({
                "observedGeneration": 1, "replicas": replicas, "readyReplicas": replicas,
                "updatedReplicas": replicas, "availableReplicas": replicas,
            });
        }
        self.objects.insert(path, served);
    }
}

/// `object` with what an API server adds: identity, some defaults, a namespace's phase.
fn as_served(mut object: Value) -> Value {
    let kind = object["kind"].as_str().unwrap_or_default().to_lowercase();
    let name = object["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let meta = &mut object["metadata"];
    meta["uid"] = json!(format!("uid-{kind}-{name}"));
    meta["resourceVersion"] = json!("1");
    meta["creationTimestamp"] = json!("2025-01-01T00:00:00Z");
    meta["managedFields"] = json!([{ "manager": FIELD_MANAGER, "operation": "Apply" }]);
    match kind.as_str() {
        "namespace" => {
            object["spec"] = json!({ "finalizers": ["kubernetes"] });
            object["status"] = json!({ "phase": "Active" });
        }
        "service" => {
            object["spec"]["clusterIP"] = json!("10.96.0.42");
            object["spec"]["sessionAffinity"] = json!("None");
        }
        "deployment" => {
            object["metadata"]["generation"] = json!(1);
            object["spec"]["revisionHistoryLimit"] = json!(10);
            object["spec"]["progressDeadlineSeconds"] = json!(600);
        }
        _ => {}
    }
    object
}
