//! The Service `shop`: port 80 to the shop pods' `http` port.

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{metadata, selector_labels, shop_labels, BuildInputs, SHOP};

/// The Service's port, which the Ingress routes to.
pub const SERVICE_PORT: i32 = 80;

pub fn service(inputs: &BuildInputs) -> Service {
    let name = &inputs.valid.name;
    Service {
        metadata: metadata(inputs, SHOP, shop_labels(name)),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            selector: Some(selector_labels(name)),
            ports: Some(vec![ServicePort {
                name: Some("http".into()),
                port: SERVICE_PORT,
                target_port: Some(IntOrString::String("http".into())),
                protocol: Some("TCP".into()),
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::fixtures::*;
    use super::*;

    #[test]
    fn service_maps_port_80_to_http_of_the_shop_pods() {
        let f = Fixture::new(full_tenant());
        let s = service(&f.inputs());
        assert_eq!(s.metadata.name.as_deref(), Some("shop"));
        assert_eq!(s.metadata.namespace.as_deref(), Some("tenant-devoxx"));
        assert_owned_by_devoxx(&s.metadata);
        assert_eq!(
            serde_json::to_value(s.spec).unwrap(),
            json!({
                "type": "ClusterIP",
                "selector": { "app.kubernetes.io/name": "shop", "boxoffice.dev/tenant": "devoxx" },
                "ports": [{ "name": "http", "port": 80, "targetPort": "http", "protocol": "TCP" }],
            })
        );
    }
}
