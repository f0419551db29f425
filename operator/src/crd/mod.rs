//! The custom resources, group `boxoffice.dev`, version `v1alpha1`, both cluster-scoped.
//!
//! The Rust types are the source of truth: `boxoffice-operator crds` prints the YAML that
//! `crds/` holds. The schema checks what OpenAPI can (lengths, ranges, enums, patterns);
//! Kubernetes 1.20 does not run CEL rules, so [`crate::validate`] checks the rest again in
//! the operator.

mod database_server;
mod tenant;

pub use database_server::*;
pub use tenant::*;

use kube::CustomResourceExt;
use serde::{Deserialize, Serialize};

/// API group of both resources.
pub const GROUP: &str = "boxoffice.dev";

/// Longest Tenant name: `tenant-<name>` must stay a valid namespace name (63).
pub const MAX_TENANT_NAME: usize = 56;

/// A Secret in a given namespace.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SecretReference {
    /// Namespace of the Secret.
    #[schemars(length(min = 1, max = 63))]
    pub namespace: String,
    /// Name of the Secret.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

/// The CRDs as one multi-document YAML, as `crds/` holds them.
pub fn crds_yaml() -> String {
    let mut out = String::new();
    for crd in [
        with_name_rule(Tenant::crd(), MAX_TENANT_NAME),
        DatabaseServer::crd(),
    ] {
        out.push_str("---\n");
        // Serialising a CRD built from our own types cannot fail.
        out.push_str(&serde_yaml::to_string(&crd).expect("CRD serialises to YAML"));
    }
    out
}

/// Adds the name rule to the schema: the one place a CRD may restrict `metadata`.
fn with_name_rule(
    mut crd: k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
    max: usize,
) -> k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSONSchemaProps;
    for version in &mut crd.spec.versions {
        let Some(schema) = version
            .schema
            .as_mut()
            .and_then(|s| s.open_api_v3_schema.as_mut())
        else {
            continue;
        };
        let name = JSONSchemaProps {
            type_: Some("string".into()),
            max_length: Some(max as i64),
            pattern: Some("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$".into()),
            ..Default::default()
        };
        let metadata = JSONSchemaProps {
            type_: Some("object".into()),
            properties: Some([("name".to_string(), name)].into()),
            ..Default::default()
        };
        schema
            .properties
            .get_or_insert_with(Default::default)
            .insert("metadata".into(), metadata);
    }
    crd
}
