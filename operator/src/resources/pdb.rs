//! The PodDisruptionBudget `shop`: a node drain takes one shop pod at a time. Built only
//! where the cluster serves `policy/v1` (Kubernetes 1.21 and later).

use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{metadata, selector, shop_labels, BuildInputs, SHOP};

pub fn pod_disruption_budget(inputs: &BuildInputs) -> PodDisruptionBudget {
    let name = &inputs.valid.name;
    PodDisruptionBudget {
        metadata: metadata(inputs, SHOP, shop_labels(name)),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(1)),
            selector: Some(selector(name)),
            ..PodDisruptionBudgetSpec::default()
        }),
        ..PodDisruptionBudget::default()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::fixtures::*;
    use super::*;

    #[test]
    fn one_shop_pod_may_be_disrupted_at_a_time() {
        let f = Fixture::new(full_tenant());
        let pdb = pod_disruption_budget(&f.inputs());
        assert_eq!(pdb.metadata.name.as_deref(), Some("shop"));
        assert_eq!(pdb.metadata.namespace.as_deref(), Some("tenant-devoxx"));
        assert_owned_by_devoxx(&pdb.metadata);
        assert_eq!(
            serde_json::to_value(pdb.spec).unwrap(),
            json!({
                "maxUnavailable": 1,
                "selector": { "matchLabels": {
                    "app.kubernetes.io/name": "shop", "boxoffice.dev/tenant": "devoxx" } },
            })
        );
    }
}
