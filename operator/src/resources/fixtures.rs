//! Inputs for the builders' tests: a tenant, its server and credentials, the flags.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use serde_json::json;

use super::credentials::tests::credentials;
use super::{BuildInputs, Credentials, OperatorSettings, ShopSecrets};
use crate::crd::{DatabaseServer, Tenant};
use crate::validate::fixtures::{ip_server, tenant, SHOP_IMAGE};
use crate::validate::{validate_tenant, ValidTenant};

/// Owns what [`BuildInputs`] borrows.
pub struct Fixture {
    pub tenant: Tenant,
    pub valid: ValidTenant,
    pub server: DatabaseServer,
    pub credentials: Credentials,
    pub secrets: ShopSecrets,
    pub settings: OperatorSettings,
}

impl Fixture {
    /// The tenant on the IP-addressed server `pg-1`.
    pub fn new(tenant: Tenant) -> Self {
        Self::on(tenant, ip_server())
    }

    pub fn on(tenant: Tenant, server: DatabaseServer) -> Self {
        let valid = validate_tenant(&tenant, SHOP_IMAGE).expect("a valid tenant");
        Fixture {
            tenant,
            valid,
            server,
            credentials: credentials(),
            secrets: ShopSecrets {
                admin_token: "admin-token".into(),
                ticket_signing_key: "signing-key".into(),
            },
            settings: settings(),
        }
    }

    /// On a cluster that serves `policy/v1`.
    pub fn inputs(&self) -> BuildInputs<'_> {
        BuildInputs {
            tenant: &self.tenant,
            valid: &self.valid,
            server: &self.server,
            credentials: &self.credentials,
            secrets: &self.secrets,
            settings: &self.settings,
            serves_policy_v1: true,
        }
    }
}

pub fn selector(key: &str, value: &str) -> LabelSelector {
    LabelSelector {
        match_labels: Some([(key.to_string(), value.to_string())].into()),
        ..LabelSelector::default()
    }
}

pub fn settings() -> OperatorSettings {
    OperatorSettings {
        shop_image: SHOP_IMAGE.into(),
        ingress_namespace_selector: selector("kubernetes.io/metadata.name", "ingress-nginx"),
        monitoring_namespace_selector: selector("kubernetes.io/metadata.name", "monitoring"),
        dns_namespace_selector: selector("kubernetes.io/metadata.name", "kube-system"),
    }
}

/// `devoxx` with every shop field set.
pub fn full_tenant() -> Tenant {
    tenant(
        "devoxx",
        json!({
            "displayName": "Devoxx Belgium",
            "databaseServer": "pg-1",
            "shop": {
                "replicas": 4,
                "memory": "1Gi",
                "cpu": "250m",
                "image": "registry.example/ticketing-service:2.0.0",
                "hostname": "tickets.devoxx.be",
                "tls": { "secretName": "tickets-devoxx-tls" },
                "ingressClassName": "nginx",
                "imagePullSecrets": [{ "name": "registry-credentials" }],
                "nodeSelector": { "node.example/pool": "shops" },
                "tolerations": [{ "key": "dedicated", "operator": "Equal", "value": "shops",
                                  "effect": "NoSchedule" }],
            },
        }),
    )
}

pub fn assert_owned_by_devoxx(meta: &ObjectMeta) {
    let owners = meta.owner_references.as_ref().expect("owner references");
    assert_eq!(owners.len(), 1);
    let owner = &owners[0];
    assert_eq!(owner.api_version, "boxoffice.dev/v1alpha1");
    assert_eq!(owner.kind, "Tenant");
    assert_eq!(owner.name, "devoxx");
    assert_eq!(owner.uid, "uid-devoxx");
    assert_eq!(owner.controller, Some(true));
    assert_eq!(owner.block_owner_deletion, Some(true));
}
