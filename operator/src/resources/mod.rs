//! The objects one Tenant becomes, built from its validated spec: plain functions from
//! inputs to `k8s-openapi` objects, one module per kind. Pure: nothing here reads or
//! writes the API or the database, so every object is unit-tested as data.
//!
//! Every object gets the platform's labels ([`labels`]) and an owner reference to the
//! Tenant (controller, blocking deletion); the namespaced ones live in `tenant-<name>`.

mod credentials;
mod deployment;
mod ingress;
mod namespace;
mod network_policy;
mod pdb;
mod quota;
mod secret;
mod service;
mod service_account;

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, ResourceQuota, Secret, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};
use kube::Resource;

pub use credentials::{credentials_hash, Credentials, ShopSecrets};
pub use deployment::{connection_limit, CREDENTIALS_HASH_ANNOTATION, DB_POOL_SIZE, SHOP_PORT};
pub use network_policy::NETWORK_POLICY_NAMES;
pub use quota::max_pods;
pub use secret::ROTATION_ACTED_ON;

use crate::crd::{DatabaseServer, Tenant};
use crate::validate::ValidTenant;

/// Field manager of every server-side apply.
pub const FIELD_MANAGER: &str = "boxoffice-operator";

/// Name of the Deployment, Service, ServiceAccount, PodDisruptionBudget and Ingress.
pub const SHOP: &str = "shop";
/// Name of the Secret with the database credentials.
pub const DB_SECRET: &str = "shop-db";
/// Name of the Secret with the admin token and the ticket signing key.
pub const ADMIN_SECRET: &str = "shop-admin";
/// Name of the ResourceQuota.
pub const RESOURCE_QUOTA: &str = "shop";

/// Label naming the tenant an object belongs to.
pub const TENANT_LABEL: &str = "boxoffice.dev/tenant";

/// The operator's flags that shape what it builds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OperatorSettings {
    /// `--shop-image`: the image of tenants whose spec names none.
    pub shop_image: String,
    /// `--ingress-namespace-selector`: namespaces of the ingress controller. Like every
    /// selector here, an empty one matches every namespace.
    pub ingress_namespace_selector: LabelSelector,
    /// `--monitoring-namespace-selector`: namespaces allowed to scrape `/metrics`.
    pub monitoring_namespace_selector: LabelSelector,
    /// `--dns-namespace-selector`: namespaces of the cluster DNS.
    pub dns_namespace_selector: LabelSelector,
}

/// Everything the objects are built from.
pub struct BuildInputs<'a> {
    /// The owner of every object.
    pub tenant: &'a Tenant,
    pub valid: &'a ValidTenant,
    /// The server holding the tenant's database: where the shop's egress goes.
    pub server: &'a DatabaseServer,
    pub credentials: &'a Credentials,
    pub secrets: &'a ShopSecrets,
    pub settings: &'a OperatorSettings,
    /// Whether the cluster serves `policy/v1` (Kubernetes 1.21 and later).
    pub serves_policy_v1: bool,
}

/// Every object of a tenant, as the operator wants it. `Debug` shows names only: two of
/// the objects are Secrets.
#[derive(Clone, PartialEq)]
pub struct DesiredObjects {
    pub namespace: Namespace,
    pub resource_quota: ResourceQuota,
    /// Named as in [`NETWORK_POLICY_NAMES`]; the database one is missing when the server
    /// names no destination (the default deny then holds).
    pub network_policies: Vec<NetworkPolicy>,
    pub db_secret: Secret,
    pub admin_secret: Secret,
    pub service_account: ServiceAccount,
    pub deployment: Deployment,
    pub service: Service,
    /// Only where the cluster serves `policy/v1`.
    pub pod_disruption_budget: Option<PodDisruptionBudget>,
    /// Only when the spec has a hostname.
    pub ingress: Option<Ingress>,
}

impl fmt::Debug for DesiredObjects {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = |meta: &ObjectMeta| meta.name.clone().unwrap_or_default();
        f.debug_struct("DesiredObjects")
            .field("namespace", &name(&self.namespace.metadata))
            .field("resource_quota", &name(&self.resource_quota.metadata))
            .field(
                "network_policies",
                &self
                    .network_policies
                    .iter()
                    .map(|p| name(&p.metadata))
                    .collect::<Vec<_>>(),
            )
            .field("db_secret", &name(&self.db_secret.metadata))
            .field("admin_secret", &name(&self.admin_secret.metadata))
            .field("service_account", &name(&self.service_account.metadata))
            .field("deployment", &name(&self.deployment.metadata))
            .field("service", &name(&self.service.metadata))
            .field(
                "pod_disruption_budget",
                &self
                    .pod_disruption_budget
                    .as_ref()
                    .map(|p| name(&p.metadata)),
            )
            .field("ingress", &self.ingress.as_ref().map(|i| name(&i.metadata)))
            .finish()
    }
}

/// Builds every object of a tenant.
pub fn build(inputs: &BuildInputs) -> DesiredObjects {
    let valid = inputs.valid;
    DesiredObjects {
        namespace: namespace::namespace(inputs),
        resource_quota: quota::resource_quota(inputs),
        network_policies: network_policy::network_policies(inputs),
        db_secret: secret::db_secret(inputs),
        admin_secret: secret::admin_secret(inputs),
        service_account: service_account::service_account(inputs),
        deployment: deployment::deployment(inputs),
        service: service::service(inputs),
        pod_disruption_budget: inputs
            .serves_policy_v1
            .then(|| pdb::pod_disruption_budget(inputs)),
        ingress: valid
            .ingress
            .as_ref()
            .map(|ingress| ingress::ingress(inputs, ingress)),
    }
}

/// The labels of every object of a tenant.
pub fn labels(tenant_name: &str) -> BTreeMap<String, String> {
    [
        ("app.kubernetes.io/managed-by", FIELD_MANAGER),
        ("app.kubernetes.io/part-of", "boxoffice"),
        (TENANT_LABEL, tenant_name),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// The labels that select a tenant's shop pods. A Deployment's selector cannot change,
/// so it holds only these two, which never do.
fn selector_labels(tenant_name: &str) -> BTreeMap<String, String> {
    [
        ("app.kubernetes.io/name", SHOP),
        (TENANT_LABEL, tenant_name),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// The labels of the shop's pods and of the objects about them.
fn shop_labels(tenant_name: &str) -> BTreeMap<String, String> {
    let mut labels = labels(tenant_name);
    labels.extend(selector_labels(tenant_name));
    labels
}

fn selector(tenant_name: &str) -> LabelSelector {
    LabelSelector {
        match_labels: Some(selector_labels(tenant_name)),
        ..LabelSelector::default()
    }
}

/// The Tenant as controlling owner; deleting the Tenant deletes the object.
fn owner_reference(inputs: &BuildInputs) -> OwnerReference {
    OwnerReference {
        api_version: Tenant::api_version(&()).into_owned(),
        kind: Tenant::kind(&()).into_owned(),
        name: inputs.valid.name.clone(),
        uid: inputs.valid.uid.clone(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// Metadata of a namespaced object of the tenant: name, namespace, labels, owner.
fn metadata(inputs: &BuildInputs, name: &str, labels: BTreeMap<String, String>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        namespace: Some(inputs.valid.namespace.clone()),
        labels: Some(labels),
        owner_references: Some(vec![owner_reference(inputs)]),
        ..ObjectMeta::default()
    }
}

#[cfg(test)]
pub(crate) mod fixtures;

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;

    #[test]
    fn labels_name_the_platform_and_the_tenant() {
        let labels = labels("devoxx");
        assert_eq!(labels.len(), 3);
        assert_eq!(labels["app.kubernetes.io/managed-by"], "boxoffice-operator");
        assert_eq!(labels["app.kubernetes.io/part-of"], "boxoffice");
        assert_eq!(labels["boxoffice.dev/tenant"], "devoxx");
    }

    #[test]
    fn every_namespaced_object_is_in_the_tenant_namespace_labelled_and_owned() {
        let f = Fixture::new(full_tenant());
        let objects = build(&f.inputs());
        let mut metas: Vec<&ObjectMeta> = vec![
            &objects.resource_quota.metadata,
            &objects.db_secret.metadata,
            &objects.admin_secret.metadata,
            &objects.service_account.metadata,
            &objects.deployment.metadata,
            &objects.service.metadata,
        ];
        metas.extend(objects.network_policies.iter().map(|p| &p.metadata));
        metas.push(&objects.pod_disruption_budget.as_ref().unwrap().metadata);
        metas.push(&objects.ingress.as_ref().unwrap().metadata);
        assert_eq!(metas.len(), 13);
        for meta in metas {
            let name = meta.name.as_deref().unwrap();
            assert_eq!(meta.namespace.as_deref(), Some("tenant-devoxx"), "{name}");
            let labels = meta.labels.as_ref().unwrap();
            for (k, v) in super::labels("devoxx") {
                assert_eq!(labels.get(&k), Some(&v), "{name}: {k}");
            }
            assert_owned_by_devoxx(meta);
        }
        assert_owned_by_devoxx(&objects.namespace.metadata);
    }

    #[test]
    fn optional_objects_follow_spec_and_cluster() {
        let f = Fixture::new(full_tenant());
        let objects = build(&f.inputs());
        assert!(objects.ingress.is_some() && objects.pod_disruption_budget.is_some());

        let f = Fixture::new(crate::validate::fixtures::minimal_tenant("devoxx"));
        let objects = build(&BuildInputs {
            serves_policy_v1: false,
            ..f.inputs()
        });
        assert!(objects.ingress.is_none(), "no hostname, no Ingress");
        assert!(
            objects.pod_disruption_budget.is_none(),
            "no policy/v1, no PDB"
        );
    }

    #[test]
    fn debug_output_holds_no_secret() {
        let f = Fixture::new(full_tenant());
        let shown = format!("{:?}", build(&f.inputs()));
        assert!(
            shown.contains("shop-db") && shown.contains("allow-dns"),
            "{shown}"
        );
        // Secret data would show as `ByteString([..])`, the URI or the token as text.
        for leak in [
            "ByteString",
            "data: ",
            "postgres://",
            f.secrets.admin_token.as_str(),
        ] {
            assert!(!shown.contains(leak), "{shown}");
        }
    }

    #[test]
    fn building_twice_gives_the_same_objects() {
        let f = Fixture::new(full_tenant());
        assert_eq!(build(&f.inputs()), build(&f.inputs()));
    }
}
