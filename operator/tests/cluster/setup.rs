//! Scenarios 1 and 2: the example tenants come up, and their pods spread over the nodes.

use std::time::Duration;

use boxoffice_operator::crd::namespace_for;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};

use crate::wait::Wait;
use crate::{report, Suite, NODES, TENANTS};

impl Suite {
    /// Scenario 1: Every example Tenant reaches `Ready=True` for its current generation, with all
    /// its replicas ready.
    pub(crate) async fn tenants_become_ready(&self) {
        let took = self
            .wait_all_ready("every tenant Ready", Duration::from_secs(180))
            .await;
        report("all three tenants Ready after the operator started", took);
        report(
            "all three tenants Ready after kubectl apply",
            self.applied.elapsed(),
        );
    }

    /// Scenario 2: The scheduler spread each shop's pods over the three nodes with maxSkew 1: 2/1/1
    /// for devoxx's 4 replicas, 1/1/0 for the 2-replica shops.
    pub(crate) async fn pods_spread_over_nodes(&self) {
        for name in TENANTS {
            let replicas = self.replicas_of(name).await;
            if name == "devoxx" {
                assert_eq!(
                    replicas, 4,
                    "devoxx is the example with the default 4 replicas"
                );
            }
            let pods: Api<Pod> = Api::namespaced(self.client.clone(), &namespace_for(name));
            let mut wait = Wait::new(format!("{replicas} scheduled pods of {name}"), 60);
            let per_node = loop {
                let list = pods.list(&ListParams::default()).await.expect("list pods");
                let live: Vec<&Pod> = list
                    .items
                    .iter()
                    .filter(|p| p.metadata.deletion_timestamp.is_none())
                    .collect();
                let nodes: Vec<String> = live
                    .iter()
                    .filter_map(|p| p.spec.as_ref()?.node_name.clone())
                    .collect();
                if live.len() == replicas as usize && nodes.len() == live.len() {
                    break nodes;
                }
                wait.tick(&nodes).await;
            };
            let mut counts: Vec<usize> = NODES
                .iter()
                .map(|n| per_node.iter().filter(|p| p == n).count())
                .collect();
            counts.sort_unstable_by(|a, b| b.cmp(a));
            assert_eq!(
                counts,
                even_spread(replicas as usize, NODES.len()),
                "{name}: pods on nodes {per_node:?}, expected maxSkew 1 over {NODES:?}"
            );
            println!("[cluster]   {name}: {replicas} pods per node {counts:?}");
        }
    }
}

/// Pods per node, most first, for `replicas` spread with maxSkew 1 over `nodes`.
fn even_spread(replicas: usize, nodes: usize) -> Vec<usize> {
    (0..nodes)
        .map(|i| replicas / nodes + usize::from(i < replicas % nodes))
        .collect()
}

#[test]
fn spread_with_max_skew_one() {
    assert_eq!(even_spread(4, 3), [2, 1, 1]);
    assert_eq!(even_spread(2, 3), [1, 1, 0]);
    assert_eq!(even_spread(6, 3), [2, 2, 2]);
}
