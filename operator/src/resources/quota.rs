//! The ResourceQuota of the tenant's namespace, sized from the shop spec.
//!
//! The arithmetic, per pod: the shop container requests `cpu` and `memory` and is limited
//! to `memory`; the `migrate` init container asks the same. A pod's effective request is
//! the larger of its largest init container and the sum of its app containers, so the
//! init container adds nothing: each pod counts `cpu`, `memory` (request) and `memory`
//! (limit) once.
//!
//! Pods: `replicas`, one surge pod of a rolling update (`maxSurge: 1`), and one pod still
//! terminating, which the quota keeps counting until its grace period is over. That is
//! [`max_pods`]; the quota is that many pods' worth of each resource. A rollout faster
//! than pods terminate waits for the quota rather than overrunning the database's
//! connection limit, which [`super::connection_limit`] sizes from the same count.

use k8s_openapi::api::core::v1::{ResourceQuota, ResourceQuotaSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::{labels, metadata, BuildInputs, RESOURCE_QUOTA};
use crate::validate::quantity;

/// Most shop pods the namespace holds at once: the replicas, a surge pod and one
/// terminating.
pub fn max_pods(replicas: i32) -> i32 {
    replicas + 2
}

pub fn resource_quota(inputs: &BuildInputs) -> ResourceQuota {
    let valid = inputs.valid;
    let pods = max_pods(valid.replicas);
    let n = u128::try_from(pods).unwrap_or(0);
    let memory = quantity::bytes(valid.memory_bytes * n);
    let hard = [
        ("pods", pods.to_string()),
        ("requests.cpu", quantity::millicores(valid.cpu_millis * n)),
        ("requests.memory", memory.clone()),
        ("limits.memory", memory),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), Quantity(v)))
    .collect();
    ResourceQuota {
        metadata: metadata(inputs, RESOURCE_QUOTA, labels(&valid.name)),
        spec: Some(ResourceQuotaSpec {
            hard: Some(hard),
            ..ResourceQuotaSpec::default()
        }),
        ..ResourceQuota::default()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::fixtures::*;
    use super::*;
    use crate::validate::fixtures::{minimal_tenant, tenant};

    fn hard(f: &Fixture) -> Vec<(String, String)> {
        let quota = resource_quota(&f.inputs());
        assert_eq!(quota.metadata.name.as_deref(), Some("shop"));
        let hard = quota.spec.unwrap().hard.unwrap();
        hard.into_iter().map(|(k, v)| (k, v.0)).collect()
    }

    fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
        expected
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_leave_room_for_a_surge_and_a_terminating_pod() {
        // 4 replicas + 1 surge + 1 terminating = 6 pods of 250m and 1Gi.
        let f = Fixture::new(minimal_tenant("devoxx"));
        assert_eq!(
            hard(&f),
            pairs(&[
                ("limits.memory", "6Gi"),
                ("pods", "6"),
                ("requests.cpu", "1500m"),
                ("requests.memory", "6Gi"),
            ])
        );
    }

    #[test]
    fn sized_from_the_shop_spec() {
        let spec =
            json!({ "displayName": "J", "shop": { "replicas": 2, "memory": "768Mi", "cpu": "1" } });
        let f = Fixture::new(tenant("jfokus", spec));
        assert_eq!(
            hard(&f),
            pairs(&[
                ("limits.memory", "3Gi"),
                ("pods", "4"),
                ("requests.cpu", "4"),
                ("requests.memory", "3Gi"),
            ])
        );
    }

    #[test]
    fn decimal_memory_is_summed_in_bytes() {
        let spec = json!({ "displayName": "J", "shop": { "replicas": 1, "memory": "100M" } });
        let f = Fixture::new(tenant("jfokus", spec));
        let hard = hard(&f);
        assert!(
            hard.contains(&("requests.memory".into(), "300M".into())),
            "{hard:?}"
        );
    }

    #[test]
    fn max_pods_counts_surge_and_terminating() {
        assert_eq!(max_pods(1), 3);
        assert_eq!(max_pods(4), 6);
    }
}
