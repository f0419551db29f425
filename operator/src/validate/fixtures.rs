//! Resources for tests, written as a user would write them.

use serde_json::{json, Value};

use crate::crd::{DatabaseServer, Tenant};

/// The operator's `--shop-image` in tests.
pub const SHOP_IMAGE: &str = "registry.example/boxoffice/ticketing-service:1.0.0";

/// A Tenant as read from the API server, from the `spec` given.
pub fn tenant(name: &str, spec: Value) -> Tenant {
    serde_json::from_value(json!({
        "apiVersion": "boxoffice.dev/v1alpha1",
        "kind": "Tenant",
        "metadata": { "name": name, "uid": format!("uid-{name}"), "generation": 1 },
        "spec": spec,
    }))
    .expect("a valid Tenant")
}

/// A Tenant with only the required fields.
pub fn minimal_tenant(name: &str) -> Tenant {
    tenant(name, json!({ "displayName": "Devoxx Belgium" }))
}

/// A DatabaseServer as read from the API server, from the `spec` given.
pub fn server(name: &str, spec: Value) -> DatabaseServer {
    serde_json::from_value(json!({
        "apiVersion": "boxoffice.dev/v1alpha1",
        "kind": "DatabaseServer",
        "metadata": { "name": name, "uid": format!("uid-{name}") },
        "spec": spec,
    }))
    .expect("a valid DatabaseServer")
}

/// A server addressed by IP, with no `egress`.
pub fn ip_server() -> DatabaseServer {
    server(
        "pg-1",
        json!({
            "host": "10.0.12.7",
            "port": 5433,
            "sslMode": "disable",
            "adminSecretRef": { "namespace": "boxoffice-system", "name": "pg-1-admin" },
        }),
    )
}

/// A server addressed by DNS name, reached through `egress`.
pub fn dns_server() -> DatabaseServer {
    server(
        "pg-2",
        json!({
            "host": "pg-2.databases.svc.cluster.local",
            "adminSecretRef": { "namespace": "boxoffice-system", "name": "pg-2-admin" },
            "egress": {
                "cidrs": ["10.0.20.0/24", "fd00:20::/64"],
                "namespaceSelector": { "matchLabels": { "kubernetes.io/metadata.name": "databases" } },
                "podSelector": { "matchLabels": { "app": "postgresql" } },
            },
        }),
    )
}
