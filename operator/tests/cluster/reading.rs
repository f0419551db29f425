//! Reading the cluster: tenants, their conditions and children, and the operator's
//! metrics; waits on them.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::time::{Duration, Instant};

use boxoffice_operator::controller::MANAGED_BY;
use boxoffice_operator::crd::{namespace_for, DatabaseServer, Tenant};
use boxoffice_operator::resources::CREDENTIALS_HASH_ANNOTATION;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, ResourceQuota, Secret, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use k8s_openapi::NamespaceResourceScope;
use kube::api::{DeleteParams, ListParams};
use kube::{Api, Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;

use crate::postgres::DbCredentials;
use crate::secrets::DB_PASSWORD;
use crate::wait::Wait;
use crate::{Suite, TENANTS};

impl Suite {
    pub(crate) async fn tenant(&self, name: &str) -> Option<Tenant> {
        Api::<Tenant>::all(self.client.clone())
            .get_opt(name)
            .await
            .expect("read tenant")
    }

    pub(crate) async fn replicas_of(&self, name: &str) -> i32 {
        let t = self.tenant(name).await.expect("tenant");
        t.spec
            .shop
            .replicas
            .unwrap_or(boxoffice_operator::crd::DEFAULT_REPLICAS)
    }

    /// Waits until every tenant of [`TENANTS`] still present is Ready for its current
    /// generation with all its replicas ready; returns how long that took.
    pub(crate) async fn wait_all_ready(&self, what: &str, limit: Duration) -> Duration {
        let api: Api<Tenant> = Api::all(self.client.clone());
        let mut wait = Wait::new(what, limit.as_secs());
        loop {
            let list = api
                .list(&ListParams::default())
                .await
                .expect("list tenants");
            let pending: Vec<String> = list
                .items
                .iter()
                .filter(|t| {
                    let want = t.spec.shop.replicas.unwrap_or(4);
                    let ready = t.status.as_ref().and_then(|s| s.ready_replicas);
                    !is_ready(t) || ready != Some(want)
                })
                .map(summary)
                .collect();
            if pending.is_empty() && !list.items.is_empty() {
                return wait.elapsed();
            }
            wait.tick(&pending).await;
        }
    }

    /// `(Ready, DatabaseReady)` of each tenant; `-` when absent.
    pub(crate) async fn conditions_of(&self, names: &[&str]) -> BTreeMap<String, (String, String)> {
        let mut out = BTreeMap::new();
        for name in names {
            let t = self.tenant(name).await.expect("tenant");
            let get = |kind| {
                condition_of(conditions(&t), kind).map_or("-".to_string(), |c| c.status.clone())
            };
            out.insert(name.to_string(), (get("Ready"), get("DatabaseReady")));
        }
        out
    }

    pub(crate) async fn placements(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for name in TENANTS {
            let t = self.tenant(name).await.expect("tenant");
            let server = t.status.and_then(|s| s.database_server).expect("placed");
            out.insert(name.to_string(), server);
        }
        out
    }

    pub(crate) async fn wait_server_reachable(&self, name: &str, reachable: bool) {
        let servers: Api<DatabaseServer> = Api::all(self.client.clone());
        let mut wait = Wait::new(format!("DatabaseServer {name} reachable={reachable}"), 60);
        loop {
            let status = servers.get(name).await.expect("read server").status;
            let seen = status.and_then(|s| s.reachable);
            if seen == Some(reachable) {
                return;
            }
            wait.tick(&seen).await;
        }
    }

    pub(crate) async fn wait_tenant_gone(&self, name: &str) {
        let mut wait = Wait::new(format!("Tenant {name} deleted"), 120);
        while let Some(t) = self.tenant(name).await {
            wait.tick(&summary(&t)).await;
        }
    }

    pub(crate) async fn wait_namespace_gone(&self, tenant: &str) {
        let namespaces: Api<Namespace> = Api::all(self.client.clone());
        let ns = namespace_for(tenant);
        let mut wait = Wait::new(format!("namespace {ns} deleted"), 120);
        while let Some(n) = namespaces.get_opt(&ns).await.expect("read namespace") {
            wait.tick(&n.status.and_then(|s| s.phase)).await;
        }
    }

    /// The tenant's Secret `shop-db`; its password is remembered.
    pub(crate) async fn db_credentials(&self, tenant: &str) -> DbCredentials {
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), &namespace_for(tenant));
        let secret = secrets.get("shop-db").await.expect("read Secret shop-db");
        let data = secret.data.unwrap_or_default();
        let get = |key: &str| {
            let value = data
                .get(key)
                .unwrap_or_else(|| panic!("shop-db has no key {key}"));
            String::from_utf8(value.0.clone()).expect("utf-8 value")
        };
        let password = get("password");
        self.remember(DB_PASSWORD, tenant, &password);
        DbCredentials {
            host: get("host"),
            port: get("port").parse().expect("port"),
            username: get("username"),
            password,
            database: get("database"),
            uri: get("uri"),
        }
    }

    /// The resourceVersion of every Tenant and every object the operator made for them.
    pub(crate) async fn resource_versions(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let tenants = Api::<Tenant>::all(self.client.clone());
        for t in tenants
            .list(&ListParams::default())
            .await
            .expect("list tenants")
        {
            out.insert(
                format!("Tenant/{}", t.name_any()),
                t.resource_version().unwrap_or_default(),
            );
            let ns = namespace_for(&t.name_any());
            let namespace = Api::<Namespace>::all(self.client.clone()).get(&ns).await;
            let namespace = namespace.expect("read namespace");
            out.insert(
                format!("Namespace/{ns}"),
                namespace.resource_version().unwrap_or_default(),
            );
            versions::<ResourceQuota>(&self.client, &ns, &mut out).await;
            versions::<NetworkPolicy>(&self.client, &ns, &mut out).await;
            versions::<ServiceAccount>(&self.client, &ns, &mut out).await;
            versions::<Secret>(&self.client, &ns, &mut out).await;
            versions::<Service>(&self.client, &ns, &mut out).await;
            versions::<Deployment>(&self.client, &ns, &mut out).await;
            versions::<Ingress>(&self.client, &ns, &mut out).await;
        }
        out
    }

    pub(crate) fn writes(&self) -> f64 {
        self.operator().writes_total().expect("read /metrics")
    }

    pub(crate) fn writes_of(&self, kind: &str) -> f64 {
        let metrics = self.operator().metrics().expect("read /metrics");
        let prefix = format!("boxoffice_operator_writes_total{{kind=\"{kind}\"}} ");
        metrics
            .lines()
            .filter_map(|l| l.strip_prefix(&prefix)?.trim().parse::<f64>().ok())
            .sum()
    }
}

/// The resourceVersions of the operator's objects of kind `K` in namespace `ns`.
pub(crate) async fn versions<K>(client: &Client, ns: &str, out: &mut BTreeMap<String, String>)
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Clone
        + Debug
        + DeserializeOwned,
{
    let api: Api<K> = Api::namespaced(client.clone(), ns);
    let list = api
        .list(&ListParams::default().labels(MANAGED_BY))
        .await
        .expect("list children");
    for o in list {
        let key = format!("{}/{ns}/{}", K::kind(&()), o.name_any());
        out.insert(key, o.resource_version().unwrap_or_default());
    }
}

/// Deletes `name` and waits until an object of that name with another uid exists.
pub(crate) async fn recreated<K>(api: &Api<K>, name: &str) -> Duration
where
    K: Resource<DynamicType = ()> + Clone + Debug + DeserializeOwned,
{
    let uid = api.get(name).await.expect("read object").uid();
    let started = Instant::now();
    api.delete(name, &DeleteParams::default())
        .await
        .expect("delete object");
    let mut wait = Wait::new(format!("{} {name} recreated", K::kind(&())), 60);
    loop {
        let current = api.get_opt(name).await.expect("read object");
        if current
            .as_ref()
            .is_some_and(|o| o.uid().is_some() && o.uid() != uid)
        {
            return started.elapsed();
        }
        wait.tick(&current.map(|o| o.uid())).await;
    }
}

pub(crate) fn conditions(t: &Tenant) -> &[Condition] {
    t.status.as_ref().map_or(&[], |s| s.conditions.as_slice())
}

pub(crate) fn condition_of<'a>(conditions: &'a [Condition], kind: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == kind)
}

/// kstatus "current and Ready": `Ready=True` for the generation the status describes.
pub(crate) fn is_ready(t: &Tenant) -> bool {
    let generation = t.metadata.generation;
    let ready = condition_of(conditions(t), "Ready");
    t.status.as_ref().and_then(|s| s.observed_generation) == generation
        && ready.is_some_and(|c| c.status == "True" && c.observed_generation == generation)
}

/// One line for a failure message: generation and every condition.
pub(crate) fn summary(t: &Tenant) -> String {
    let status = t.status.clone().unwrap_or_default();
    let conditions: Vec<String> = status
        .conditions
        .iter()
        .map(|c| format!("{}={} ({}: {})", c.type_, c.status, c.reason, c.message))
        .collect();
    format!(
        "{} gen {:?} observed {:?} readyReplicas {:?}: {}",
        t.name_any(),
        t.metadata.generation,
        status.observed_generation,
        status.ready_replicas,
        conditions.join(", ")
    )
}

pub(crate) fn credentials_hash(d: &Deployment) -> Option<String> {
    let template = d.spec.template.metadata.as_ref()?;
    template
        .annotations
        .as_ref()?
        .get(CREDENTIALS_HASH_ANNOTATION)
        .cloned()
}
