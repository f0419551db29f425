//! The tenant's NetworkPolicies: deny everything, then allow exactly what the shop needs.
//!
//! - `default-deny`: every pod of the namespace, no ingress and no egress.
//! - `allow-ingress-controller`: the shop port from the ingress controller's namespaces.
//! - `allow-monitoring`: the shop port, which serves `/metrics`, from the monitoring
//!   namespaces.
//! - `allow-dns`: UDP and TCP 53 to the cluster DNS namespaces.
//! - `allow-database`: the tenant's DatabaseServer, on its port, and nothing else.
//!
//! Nothing allows traffic from or to another tenant's namespace.

use std::net::IpAddr;

use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{labels, metadata, selector, BuildInputs, SHOP_PORT};
use crate::crd::DatabaseServerSpec;

pub const DEFAULT_DENY: &str = "default-deny";
pub const ALLOW_INGRESS_CONTROLLER: &str = "allow-ingress-controller";
pub const ALLOW_MONITORING: &str = "allow-monitoring";
pub const ALLOW_DNS: &str = "allow-dns";
pub const ALLOW_DATABASE: &str = "allow-database";

/// Every NetworkPolicy the operator may create in a tenant's namespace.
pub const NETWORK_POLICY_NAMES: [&str; 5] = [
    DEFAULT_DENY,
    ALLOW_INGRESS_CONTROLLER,
    ALLOW_MONITORING,
    ALLOW_DNS,
    ALLOW_DATABASE,
];

pub fn network_policies(inputs: &BuildInputs) -> Vec<NetworkPolicy> {
    let settings = inputs.settings;
    let mut policies = vec![
        policy(
            inputs,
            DEFAULT_DENY,
            LabelSelector::default(),
            NetworkPolicySpec {
                policy_types: Some(vec!["Ingress".into(), "Egress".into()]),
                ..NetworkPolicySpec::default()
            },
        ),
        shop_ingress_from(
            inputs,
            ALLOW_INGRESS_CONTROLLER,
            &settings.ingress_namespace_selector,
        ),
        shop_ingress_from(
            inputs,
            ALLOW_MONITORING,
            &settings.monitoring_namespace_selector,
        ),
        shop_egress_to(
            inputs,
            ALLOW_DNS,
            vec![namespaces(&settings.dns_namespace_selector)],
            vec![port("UDP", 53), port("TCP", 53)],
        ),
    ];
    // An egress rule with no peer would allow every destination: without one, the
    // default deny keeps the database unreachable instead.
    let peers = database_peers(&inputs.server.spec);
    if !peers.is_empty() {
        let server_port = port("TCP", inputs.server.spec.port);
        policies.push(shop_egress_to(
            inputs,
            ALLOW_DATABASE,
            peers,
            vec![server_port],
        ));
    }
    policies
}

/// Where the database server is: the `egress` the server gives, or else its IP.
///
/// `egress` wins over an IP host because an IP may be a Service's virtual IP, which a
/// NetworkPolicy never sees: policies match the pod addresses behind it.
fn database_peers(server: &DatabaseServerSpec) -> Vec<NetworkPolicyPeer> {
    let Some(egress) = &server.egress else {
        return match server.host.parse::<IpAddr>() {
            Ok(ip) => vec![ip_block(&host_cidr(ip))],
            Err(_) => Vec::new(),
        };
    };
    let mut peers: Vec<NetworkPolicyPeer> = egress.cidrs.iter().map(|c| ip_block(c)).collect();
    // A pod selector alone would mean pods of the tenant's own namespace: left out.
    if let Some(namespace_selector) = &egress.namespace_selector {
        peers.push(NetworkPolicyPeer {
            namespace_selector: Some(namespace_selector.clone()),
            pod_selector: egress.pod_selector.clone(),
            ..NetworkPolicyPeer::default()
        });
    }
    peers
}

fn host_cidr(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(ip) => format!("{ip}/32"),
        IpAddr::V6(ip) => format!("{ip}/128"),
    }
}

fn ip_block(cidr: &str) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        ip_block: Some(IPBlock {
            cidr: cidr.into(),
            except: None,
        }),
        ..NetworkPolicyPeer::default()
    }
}

fn namespaces(selector: &LabelSelector) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        namespace_selector: Some(selector.clone()),
        ..NetworkPolicyPeer::default()
    }
}

fn port(protocol: &str, port: i32) -> NetworkPolicyPort {
    NetworkPolicyPort {
        protocol: Some(protocol.into()),
        port: Some(IntOrString::Int(port)),
        end_port: None,
    }
}

fn shop_ingress_from(inputs: &BuildInputs, name: &str, from: &LabelSelector) -> NetworkPolicy {
    let spec = NetworkPolicySpec {
        policy_types: Some(vec!["Ingress".into()]),
        ingress: Some(vec![NetworkPolicyIngressRule {
            from: Some(vec![namespaces(from)]),
            ports: Some(vec![port("TCP", SHOP_PORT)]),
        }]),
        ..NetworkPolicySpec::default()
    };
    policy(inputs, name, selector(&inputs.valid.name), spec)
}

fn shop_egress_to(
    inputs: &BuildInputs,
    name: &str,
    to: Vec<NetworkPolicyPeer>,
    ports: Vec<NetworkPolicyPort>,
) -> NetworkPolicy {
    let spec = NetworkPolicySpec {
        policy_types: Some(vec!["Egress".into()]),
        egress: Some(vec![NetworkPolicyEgressRule {
            to: Some(to),
            ports: Some(ports),
        }]),
        ..NetworkPolicySpec::default()
    };
    policy(inputs, name, selector(&inputs.valid.name), spec)
}

fn policy(
    inputs: &BuildInputs,
    name: &str,
    pods: LabelSelector,
    spec: NetworkPolicySpec,
) -> NetworkPolicy {
    NetworkPolicy {
        metadata: metadata(inputs, name, labels(&inputs.valid.name)),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(pods),
            ..spec
        }),
    }
}

#[cfg(test)]
#[path = "network_policy_tests.rs"]
mod tests;
