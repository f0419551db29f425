use serde_json::{json, Value};

use super::super::fixtures::*;
use super::*;
use crate::validate::fixtures::{dns_server, minimal_tenant, server};

fn policies_on(server: crate::crd::DatabaseServer) -> Vec<Value> {
    let f = Fixture::on(minimal_tenant("devoxx"), server);
    network_policies(&f.inputs())
        .into_iter()
        .map(|p| serde_json::to_value(p).unwrap())
        .collect()
}

fn named<'a>(policies: &'a [Value], name: &str) -> &'a Value {
    policies
        .iter()
        .find(|p| p["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no policy {name}"))
}

fn shop_pods() -> Value {
    json!({ "matchLabels": {
        "app.kubernetes.io/name": "shop",
        "boxoffice.dev/tenant": "devoxx",
    } })
}

#[test]
fn default_deny_covers_every_pod_both_ways() {
    let policies = policies_on(crate::validate::fixtures::ip_server());
    let names: Vec<&str> = policies
        .iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, NETWORK_POLICY_NAMES);
    assert_eq!(
        named(&policies, "default-deny")["spec"],
        json!({ "podSelector": {}, "policyTypes": ["Ingress", "Egress"] })
    );
}

#[test]
fn shop_port_is_open_to_the_ingress_controller_and_monitoring_only() {
    let policies = policies_on(crate::validate::fixtures::ip_server());
    for (name, namespace) in [
        ("allow-ingress-controller", "ingress-nginx"),
        ("allow-monitoring", "monitoring"),
    ] {
        assert_eq!(
            named(&policies, name)["spec"],
            json!({
                "podSelector": shop_pods(),
                "policyTypes": ["Ingress"],
                "ingress": [{
                    "from": [{ "namespaceSelector": { "matchLabels": {
                        "kubernetes.io/metadata.name": namespace } } }],
                    "ports": [{ "protocol": "TCP", "port": 8080 }],
                }],
            }),
            "{name}"
        );
    }
}

#[test]
fn dns_is_allowed_over_udp_and_tcp_to_the_dns_namespaces() {
    let policies = policies_on(crate::validate::fixtures::ip_server());
    assert_eq!(
        named(&policies, "allow-dns")["spec"],
        json!({
            "podSelector": shop_pods(),
            "policyTypes": ["Egress"],
            "egress": [{
                "to": [{ "namespaceSelector": { "matchLabels": {
                    "kubernetes.io/metadata.name": "kube-system" } } }],
                "ports": [{ "protocol": "UDP", "port": 53 }, { "protocol": "TCP", "port": 53 }],
            }],
        })
    );
}

#[test]
fn ip_server_is_reached_by_its_address_on_its_port() {
    let policies = policies_on(crate::validate::fixtures::ip_server());
    assert_eq!(
        named(&policies, "allow-database")["spec"],
        json!({
            "podSelector": shop_pods(),
            "policyTypes": ["Egress"],
            "egress": [{
                "to": [{ "ipBlock": { "cidr": "10.0.12.7/32" } }],
                "ports": [{ "protocol": "TCP", "port": 5433 }],
            }],
        })
    );
}

#[test]
fn ipv6_server_gets_a_128_bit_block() {
    let v6 = server(
        "pg-6",
        json!({ "host": "fd00::7", "adminSecretRef": { "namespace": "a", "name": "b" } }),
    );
    let policies = policies_on(v6);
    let to = &named(&policies, "allow-database")["spec"]["egress"][0]["to"];
    assert_eq!(to, &json!([{ "ipBlock": { "cidr": "fd00::7/128" } }]));
}

#[test]
fn dns_name_server_is_reached_through_its_egress() {
    let policies = policies_on(dns_server());
    let rule = &named(&policies, "allow-database")["spec"]["egress"][0];
    assert_eq!(
        rule["to"],
        json!([
            { "ipBlock": { "cidr": "10.0.20.0/24" } },
            { "ipBlock": { "cidr": "fd00:20::/64" } },
            {
                "namespaceSelector": { "matchLabels": { "kubernetes.io/metadata.name": "databases" } },
                "podSelector": { "matchLabels": { "app": "postgresql" } },
            },
        ])
    );
    assert_eq!(rule["ports"], json!([{ "protocol": "TCP", "port": 5432 }]));
}

#[test]
fn egress_wins_over_an_ip_host() {
    // A ClusterIP is invisible to NetworkPolicies; the pods behind it are what matter.
    let service_ip = server(
        "pg-svc",
        json!({
            "host": "10.96.0.40",
            "adminSecretRef": { "namespace": "a", "name": "b" },
            "egress": { "cidrs": ["10.244.3.0/24"] },
        }),
    );
    let policies = policies_on(service_ip);
    let to = &named(&policies, "allow-database")["spec"]["egress"][0]["to"];
    assert_eq!(to, &json!([{ "ipBlock": { "cidr": "10.244.3.0/24" } }]));
}

#[test]
fn a_server_naming_no_destination_gets_no_allow_rule() {
    for spec in [
        json!({ "host": "pg.example.com", "adminSecretRef": { "namespace": "a", "name": "b" } }),
        json!({ "host": "10.0.0.1", "adminSecretRef": { "namespace": "a", "name": "b" },
                "egress": { "podSelector": { "matchLabels": { "app": "pg" } } } }),
    ] {
        let policies = policies_on(server("pg", spec));
        assert_eq!(policies.len(), 4);
        assert!(policies
            .iter()
            .all(|p| p["metadata"]["name"] != "allow-database"));
    }
}
