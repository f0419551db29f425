//! The controllers: Tenants (the shops) and DatabaseServers (their reachability).
//!
//! Both run only on the replica holding the leader Lease. Every child of a Tenant carries
//! an owner reference and the operator's labels, and is watched, so a deleted or edited
//! child brings its Tenant back to reconcile.

pub mod apply;
mod database_server;
mod error;
#[cfg(test)]
mod fixtures;
mod servers;
pub mod tenant;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, ResourceQuota, Secret, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use kube::runtime::controller::Action;
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{watcher, Controller};
use kube::{Api, Client, ResourceExt};

pub use error::Error;

use crate::crd::{DatabaseServer, Tenant};
pub use crate::metrics::Metrics;
use crate::resources::OperatorSettings;

/// Label every object the operator creates carries; watches select on it.
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by=boxoffice-operator";

/// Shared by every reconcile.
pub struct Context {
    pub client: Client,
    pub settings: OperatorSettings,
    pub metrics: Arc<Metrics>,
    pub recorder: Recorder,
    /// This replica's name, as Events report it.
    pub identity: String,
    /// Whether the cluster serves `policy/v1` (PodDisruptionBudgets are made only then).
    pub serves_policy_v1: bool,
    /// Placements decided but perhaps not yet visible in the Tenant list: tenant → server.
    pub claims: Mutex<BTreeMap<String, String>>,
    /// Failed reconciles in a row, per object, for growing backoff.
    failures: Mutex<HashMap<String, u32>>,
}

impl Context {
    pub fn new(
        client: Client,
        settings: OperatorSettings,
        metrics: Arc<Metrics>,
        serves_policy_v1: bool,
        identity: &str,
    ) -> Self {
        let reporter = Reporter {
            controller: "boxoffice-operator".into(),
            instance: Some(identity.into()),
        };
        Context {
            recorder: Recorder::new(client.clone(), reporter),
            identity: identity.into(),
            client,
            settings,
            metrics,
            serves_policy_v1,
            claims: Mutex::default(),
            failures: Mutex::default(),
        }
    }

    /// The delay before retrying `key` after a failure: 2 s, doubling, at most 5 minutes.
    pub fn backoff(&self, key: &str) -> Duration {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let n = failures.entry(key.to_string()).or_insert(0);
        *n = (*n + 1).min(16);
        backoff_delay(*n)
    }

    pub fn succeeded(&self, key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }
}

/// Exponential backoff: 2 s after the first failure, doubling, capped at 5 minutes.
pub fn backoff_delay(failures_in_a_row: u32) -> Duration {
    let seconds = 2u64.saturating_pow(failures_in_a_row.clamp(1, 16)).min(300);
    Duration::from_secs(seconds)
}

/// Runs both controllers until `shutdown` completes.
pub async fn run(ctx: Arc<Context>, shutdown: impl Future<Output = ()> + Send + Sync + 'static) {
    let client = ctx.client.clone();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };

    let children = watcher::Config::default().labels(MANAGED_BY);
    // Children are mapped to their owner by name only. `owns` would key a cluster-scoped
    // owner by the child's namespace too, and one Tenant would reconcile twice at once.
    let tenants = Controller::new(
        Api::<Tenant>::all(client.clone()),
        watcher::Config::default(),
    )
    .watches(
        Api::<Namespace>::all(client.clone()),
        children.clone(),
        owner_of,
    )
    .watches(
        Api::<ResourceQuota>::all(client.clone()),
        children.clone(),
        owner_of,
    )
    .watches(
        Api::<NetworkPolicy>::all(client.clone()),
        children.clone(),
        owner_of,
    )
    .watches(
        Api::<Secret>::all(client.clone()),
        children.clone(),
        owner_of,
    )
    .watches(
        Api::<ServiceAccount>::all(client.clone()),
        children.clone(),
        owner_of,
    )
    .watches(
        Api::<Service>::all(client.clone()),
        children.clone(),
        owner_of,
    )
    .watches(
        Api::<Deployment>::all(client.clone()),
        children.clone(),
        owner_of,
    )
    .watches(Api::<Ingress>::all(client.clone()), children, owner_of);
    let store = tenants.store();
    let tenants = tenants
        .watches(
            Api::<DatabaseServer>::all(client.clone()),
            watcher::Config::default(),
            move |server: DatabaseServer| {
                // A server coming back (or going) concerns the tenants placed on it.
                let name = server.name_any();
                store
                    .state()
                    .into_iter()
                    .filter(|t| {
                        t.status.as_ref().and_then(|s| s.database_server.as_deref())
                            == Some(name.as_str())
                    })
                    .map(|t| ObjectRef::from_obj(&*t))
                    .collect::<Vec<_>>()
            },
        )
        .graceful_shutdown_on(stopped(stop_rx.clone()))
        .run(tenant::reconcile, tenant::error_policy, ctx.clone())
        .for_each(|_| futures::future::ready(()));

    let servers = Controller::new(
        Api::<DatabaseServer>::all(client.clone()),
        watcher::Config::default(),
    )
    .graceful_shutdown_on(stopped(stop_rx))
    .run(
        database_server::reconcile,
        database_server::error_policy,
        ctx.clone(),
    )
    .for_each(|_| futures::future::ready(()));

    tracing::info!("controllers running");
    futures::join!(tenants, servers);
    tracing::info!("controllers stopped");
}

/// The Tenant owning a child object, keyed by name alone (Tenants are cluster-scoped).
fn owner_of<K: kube::Resource>(child: K) -> Option<ObjectRef<Tenant>> {
    child
        .meta()
        .owner_references
        .as_ref()?
        .iter()
        .find(|o| o.kind == "Tenant" && o.api_version.starts_with("boxoffice.dev/"))
        .map(|o| ObjectRef::new(&o.name))
}

/// Requeue after a success: soon while something is still coming up, otherwise a slow
/// drift check (children are watched, so most drift is seen at once anyway).
pub fn requeue(settled: bool) -> Action {
    if settled {
        Action::requeue(Duration::from_secs(300))
    } else {
        Action::requeue(Duration::from_secs(10))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff_delay(1), Duration::from_secs(2));
        assert_eq!(backoff_delay(2), Duration::from_secs(4));
        assert_eq!(backoff_delay(5), Duration::from_secs(32));
        assert_eq!(backoff_delay(12), Duration::from_secs(300));
    }
}
