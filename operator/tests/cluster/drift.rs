//! Scenarios 5 and 6: hand edits to the operator's objects are undone, and a settled
//! cluster sees no write at all.

use std::time::{Duration, Instant};

use boxoffice_operator::crd::namespace_for;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::Api;

use crate::reading::recreated;
use crate::wait::Wait;
use crate::{kubectl, report, Suite};

impl Suite {
    /// Scenario 5: A deleted Deployment and NetworkPolicy come back, and `kubectl scale` is undone.
    pub(crate) async fn drift_corrected(&self) {
        let ns = namespace_for("devoxx");
        let deployments: Api<Deployment> = Api::namespaced(self.client.clone(), &ns);
        let policies: Api<NetworkPolicy> = Api::namespaced(self.client.clone(), &ns);

        let took = recreated(&deployments, "shop").await;
        report("deleted Deployment shop restored", took);
        let took = recreated(&policies, "default-deny").await;
        report("deleted NetworkPolicy default-deny restored", took);

        let before = deployments.get("shop").await.expect("read deployment");
        let generation = before.metadata.generation.unwrap_or_default();
        let edited = Instant::now();
        kubectl(
            &self.cluster,
            &["-n", &ns, "scale", "deployment/shop", "--replicas=1"],
        );
        let mut wait = Wait::new("replicas of Deployment shop back to 4", 60);
        loop {
            let d = deployments.get("shop").await.expect("read deployment");
            let replicas = d.spec.replicas;
            // The scale and the revert are two spec changes.
            if replicas == Some(4) && d.metadata.generation.unwrap_or_default() >= generation + 2 {
                break;
            }
            wait.tick(&(replicas, d.metadata.generation)).await;
        }
        report("kubectl scale --replicas=1 reverted to 4", edited.elapsed());
        let took = self
            .wait_all_ready("every tenant Ready again", Duration::from_secs(120))
            .await;
        report("tenants Ready again after the drift", took);
    }

    /// Scenario 6: Once settled, 30 s bring no write from the operator (its metric) and no change
    /// to any Tenant or child object (their resourceVersions).
    pub(crate) async fn steady_state_is_quiet(&self) {
        // Settle: everything Ready, and no write for 5 s in a row.
        self.wait_all_ready("every tenant Ready", Duration::from_secs(120))
            .await;
        let mut wait = Wait::new("5 s without a write by the operator", 90);
        let mut last = (self.writes(), Instant::now());
        loop {
            let now = self.writes();
            if now != last.0 {
                last = (now, Instant::now());
            } else if last.1.elapsed() >= Duration::from_secs(5) {
                break;
            }
            wait.tick(&now).await;
        }

        let writes = self.writes();
        let versions = self.resource_versions().await;
        assert!(versions.len() >= 30, "too few children found: {versions:?}");
        let quiet = Instant::now();
        while quiet.elapsed() < Duration::from_secs(30) {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let writes_after = self.writes();
        let versions_after = self.resource_versions().await;
        assert_eq!(
            writes_after,
            writes,
            "the operator wrote in steady state: {}",
            self.operator().metrics().unwrap_or_default()
        );
        let changed: Vec<_> = versions
            .iter()
            .filter(|(k, v)| versions_after.get(*k) != Some(*v))
            .map(|(k, _)| k)
            .collect();
        assert!(
            changed.is_empty(),
            "objects changed in steady state: {changed:?}"
        );
        println!(
            "[cluster]   {} writes before and after 30 s; {} objects unchanged",
            writes,
            versions.len()
        );
    }
}
