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

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSONSchemaProps, JSONSchemaPropsOrArray, JSONSchemaPropsOrBool,
};
use kube::CustomResourceExt;
use serde::{Deserialize, Serialize};

/// API group of both resources.
pub const GROUP: &str = "boxoffice.dev";

/// Longest Tenant name: `tenant-<name>` must stay a valid namespace name (63).
pub const MAX_TENANT_NAME: usize = 56;

/// A DNS label, as namespaces are named.
pub const DNS_LABEL_PATTERN: &str = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";

/// A DNS subdomain, as most objects and host names are named.
pub const DNS_SUBDOMAIN_PATTERN: &str =
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";

/// A non-negative Kubernetes quantity (`250m`, `1Gi`, `1.5`, `1e9`). It applies to the
/// string form only; the operator checks integers, and everything else, again.
pub const QUANTITY_PATTERN: &str =
    r"^\+?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?[0-9]+))?$";

/// A Secret in a given namespace.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SecretReference {
    /// Namespace of the Secret.
    #[schemars(length(min = 1, max = 63), pattern(DNS_LABEL_PATTERN))]
    pub namespace: String,
    /// Name of the Secret.
    #[schemars(length(min = 1, max = 253), pattern(DNS_SUBDOMAIN_PATTERN))]
    pub name: String,
}

/// Schema of an optional quantity: an integer or a string matching [`QUANTITY_PATTERN`].
fn quantity_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "x-kubernetes-int-or-string": true,
        "pattern": QUANTITY_PATTERN,
    })
}

/// The CRDs as one multi-document YAML, as `crds/` holds them.
pub fn crds_yaml() -> String {
    let mut out = String::new();
    for mut crd in [
        with_name_rule(Tenant::crd(), MAX_TENANT_NAME),
        DatabaseServer::crd(),
    ] {
        for version in &mut crd.spec.versions {
            if let Some(schema) = version
                .schema
                .as_mut()
                .and_then(|s| s.open_api_v3_schema.as_mut())
            {
                tidy(schema);
            }
        }
        out.push_str("---\n");
        // Serialising a CRD built from our own types cannot fail.
        out.push_str(&serde_yaml::to_string(&crd).expect("CRD serialises to YAML"));
    }
    out
}

/// Adds the name rule to the schema: the one place a CRD may restrict `metadata`.
fn with_name_rule(mut crd: CustomResourceDefinition, max: usize) -> CustomResourceDefinition {
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
            pattern: Some(DNS_LABEL_PATTERN.into()),
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

/// Readies a schema for `kubectl explain`, everywhere in it:
///
/// - joins the lines of each paragraph of a description: doc comments wrap at the
///   source's width, `kubectl explain` wraps at the terminal's;
/// - drops `nullable: true`, which the optional fields get: Kubernetes 1.20 publishes
///   nullable fields without a type (`kubectl explain` shows `<>`). Our types never
///   serialise a null, and the API server prunes a null a user writes.
fn tidy(schema: &mut JSONSchemaProps) {
    if let Some(description) = &mut schema.description {
        *description = reflow(description);
    }
    schema.nullable = None;
    for child in schema.properties.iter_mut().flat_map(|p| p.values_mut()) {
        tidy(child);
    }
    if let Some(JSONSchemaPropsOrBool::Schema(child)) = &mut schema.additional_properties {
        tidy(child);
    }
    match &mut schema.items {
        Some(JSONSchemaPropsOrArray::Schema(child)) => tidy(child),
        Some(JSONSchemaPropsOrArray::Schemas(children)) => children.iter_mut().for_each(tidy),
        None => {}
    }
}

/// Single line breaks become spaces; blank lines (paragraphs) and list items stay.
fn reflow(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        let starts_block = line.is_empty() || line.starts_with("- ") || line.starts_with("* ");
        if i > 0 {
            let previous_blank = out.ends_with('\n');
            out.push(if starts_block || previous_blank {
                '\n'
            } else {
                ' '
            });
        }
        out.push_str(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflow_joins_wrapped_lines_and_keeps_paragraphs_and_lists() {
        assert_eq!(reflow("one line"), "one line");
        assert_eq!(reflow("wrapped\nsentence."), "wrapped sentence.");
        assert_eq!(
            reflow("first.\n\nsecond\nparagraph."),
            "first.\n\nsecond paragraph."
        );
        assert_eq!(reflow("values:\n - `a`\n - `b`"), "values:\n- `a`\n- `b`");
    }

    #[test]
    fn generated_schema_carries_patterns_and_flowing_descriptions() {
        let yaml = crds_yaml();
        assert!(yaml.contains("pattern: ^\\+?(([0-9]+"), "quantity pattern");
        assert!(yaml.contains("x-kubernetes-int-or-string: true"));
        assert!(
            !yaml.contains("Auto-generated"),
            "a written description at the root"
        );
        assert!(yaml.contains("the operator picks the reachable server with the fewest tenants"));
        assert!(
            !yaml.contains("nullable"),
            "kubectl explain on 1.20 shows types"
        );
    }
}
