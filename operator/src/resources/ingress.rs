//! The Ingress `shop`, when the Tenant has a hostname: the public API to the world, and
//! nothing else.
//!
//! Routed: `/api/` (Prefix), the attendees' API. Not routed: `/admin/` (the organizer's
//! API stays inside the cluster), `/metrics`, `/healthz`, `/readyz`. Ingress paths only
//! add routes, they cannot subtract one, so a `/` catch-all would expose all of those:
//! each public part gets its own prefix instead. The shop serves no pages outside
//! `/api/` today; pages it gains get their prefix added to [`PUBLIC_PREFIXES`].

use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule,
    IngressServiceBackend, IngressSpec, IngressTLS, ServiceBackendPort,
};

use super::service::SERVICE_PORT;
use super::{labels, metadata, BuildInputs, SHOP};
use crate::validate::ShopIngress;

/// The path prefixes the Ingress routes to the shop.
pub const PUBLIC_PREFIXES: [&str; 1] = ["/api/"];

pub fn ingress(inputs: &BuildInputs, shop: &ShopIngress) -> Ingress {
    let paths = PUBLIC_PREFIXES
        .iter()
        .map(|prefix| HTTPIngressPath {
            path: Some((*prefix).into()),
            path_type: "Prefix".into(),
            backend: IngressBackend {
                service: Some(IngressServiceBackend {
                    name: SHOP.into(),
                    port: Some(ServiceBackendPort {
                        number: Some(SERVICE_PORT),
                        name: None,
                    }),
                }),
                resource: None,
            },
        })
        .collect();
    Ingress {
        metadata: metadata(inputs, SHOP, labels(&inputs.valid.name)),
        spec: Some(IngressSpec {
            ingress_class_name: shop.class_name.clone(),
            rules: Some(vec![IngressRule {
                host: Some(shop.hostname.clone()),
                http: Some(HTTPIngressRuleValue { paths }),
            }]),
            tls: shop.tls_secret_name.as_ref().map(|secret| {
                vec![IngressTLS {
                    hosts: Some(vec![shop.hostname.clone()]),
                    secret_name: Some(secret.clone()),
                }]
            }),
            ..IngressSpec::default()
        }),
        ..Ingress::default()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::fixtures::*;
    use super::super::{build, BuildInputs};
    use crate::validate::fixtures::tenant;

    fn shop_ingress(f: &Fixture) -> serde_json::Value {
        let ingress = build(&f.inputs()).ingress.expect("an Ingress");
        assert_eq!(ingress.metadata.name.as_deref(), Some("shop"));
        assert_eq!(ingress.metadata.namespace.as_deref(), Some("tenant-devoxx"));
        assert_owned_by_devoxx(&ingress.metadata);
        serde_json::to_value(ingress.spec).unwrap()
    }

    #[test]
    fn routes_only_the_api_to_the_shop_service() {
        let f = Fixture::new(full_tenant());
        assert_eq!(
            shop_ingress(&f),
            json!({
                "ingressClassName": "nginx",
                "rules": [{ "host": "tickets.devoxx.be", "http": { "paths": [{
                    "path": "/api/",
                    "pathType": "Prefix",
                    "backend": { "service": { "name": "shop", "port": { "number": 80 } } },
                }] } }],
                "tls": [{ "hosts": ["tickets.devoxx.be"], "secretName": "tickets-devoxx-tls" }],
            })
        );
    }

    #[test]
    fn admin_and_metrics_are_not_routed() {
        let f = Fixture::new(full_tenant());
        let spec = shop_ingress(&f);
        for path in spec["rules"][0]["http"]["paths"].as_array().unwrap() {
            let prefix = path["path"].as_str().unwrap();
            assert_eq!(path["pathType"], "Prefix");
            for private in ["/admin/v1/events", "/metrics", "/healthz", "/readyz"] {
                assert!(!private.starts_with(prefix), "{prefix} exposes {private}");
            }
        }
        assert!(spec.get("defaultBackend").is_none());
    }

    #[test]
    fn hostname_without_tls_or_class() {
        let spec = json!({ "displayName": "D", "shop": { "hostname": "tickets.devoxx.be" } });
        let f = Fixture::new(tenant("devoxx", spec));
        let spec = shop_ingress(&f);
        assert!(spec.get("tls").is_none());
        assert!(spec.get("ingressClassName").is_none());
    }

    #[test]
    fn no_hostname_no_ingress() {
        let f = Fixture::new(crate::validate::fixtures::minimal_tenant("devoxx"));
        let inputs = BuildInputs {
            serves_policy_v1: true,
            ..f.inputs()
        };
        assert!(build(&inputs).ingress.is_none());
    }
}
