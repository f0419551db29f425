//! The tenant's namespace `tenant-<name>`.

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::{labels, owner_reference, BuildInputs};

/// `tenant-<name>`, labelled with the platform's labels, its own name (Kubernetes 1.20
/// does not add `kubernetes.io/metadata.name`; later versions add the same value), and
/// the `restricted` Pod Security level, which the shop's pods meet (enforced from
/// Kubernetes 1.23 on, ignored before).
pub fn namespace(inputs: &BuildInputs) -> Namespace {
    let valid = inputs.valid;
    let mut labels = labels(&valid.name);
    labels.insert(
        "kubernetes.io/metadata.name".into(),
        valid.namespace.clone(),
    );
    labels.insert(
        "pod-security.kubernetes.io/enforce".into(),
        "restricted".into(),
    );
    Namespace {
        metadata: ObjectMeta {
            name: Some(valid.namespace.clone()),
            labels: Some(labels),
            owner_references: Some(vec![owner_reference(inputs)]),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::validate::fixtures::minimal_tenant;

    #[test]
    fn namespace_is_named_labelled_and_owned() {
        let f = Fixture::new(minimal_tenant("voxxed-zurich"));
        let ns = namespace(&f.inputs());
        assert_eq!(ns.metadata.name.as_deref(), Some("tenant-voxxed-zurich"));
        assert_eq!(ns.metadata.namespace, None, "cluster-scoped");
        let labels = ns.metadata.labels.unwrap();
        assert_eq!(
            labels["kubernetes.io/metadata.name"],
            "tenant-voxxed-zurich"
        );
        assert_eq!(labels["boxoffice.dev/tenant"], "voxxed-zurich");
        assert_eq!(labels["app.kubernetes.io/managed-by"], "boxoffice-operator");
        assert_eq!(labels["app.kubernetes.io/part-of"], "boxoffice");
        assert_eq!(labels["pod-security.kubernetes.io/enforce"], "restricted");
        assert_eq!(ns.spec, None);
        let owner = &ns.metadata.owner_references.unwrap()[0];
        assert_eq!(
            (owner.kind.as_str(), owner.name.as_str()),
            ("Tenant", "voxxed-zurich")
        );
    }

    #[test]
    fn owner_is_the_tenant_controller() {
        let f = Fixture::new(full_tenant());
        assert_owned_by_devoxx(&namespace(&f.inputs()).metadata);
    }
}
