//! DatabaseServer validation: what the schema checks, and the rules it cannot express
//! (`verify-full` needs a CA, a host name needs `egress`, egress must name a destination).

use std::net::IpAddr;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::names::{is_cidr, is_dns_subdomain};
use super::ValidationError;
use crate::crd::{DatabaseServer, SecretReference, SslMode};

/// A DatabaseServer that passed validation.
#[derive(Clone, Debug, PartialEq)]
pub struct ValidDatabaseServer {
    pub name: String,
    pub host: String,
    /// The host, when it is an IP address.
    pub ip: Option<IpAddr>,
    pub port: i32,
    pub ssl_mode: SslMode,
    pub admin_secret_ref: SecretReference,
    pub ca_secret_ref: Option<SecretReference>,
    pub capacity: Option<i32>,
}

/// Checks a DatabaseServer.
pub fn validate_database_server(
    server: &DatabaseServer,
) -> Result<ValidDatabaseServer, ValidationError> {
    let name = server
        .metadata
        .name
        .clone()
        .ok_or(ValidationError::MissingName)?;
    let spec = &server.spec;

    if spec.host.is_empty() {
        return Err(ValidationError::Empty {
            field: "spec.host".into(),
        });
    }
    let ip = spec.host.parse::<IpAddr>().ok();
    if ip.is_none() && !is_dns_subdomain(&spec.host.to_ascii_lowercase()) {
        return Err(ValidationError::InvalidHost(spec.host.clone()));
    }
    if !(1..=65535).contains(&spec.port) {
        return Err(ValidationError::PortOutOfRange(spec.port));
    }
    secret_ref("spec.adminSecretRef", &spec.admin_secret_ref)?;
    match &spec.ca_secret_ref {
        Some(ca) => secret_ref("spec.caSecretRef", ca)?,
        None if spec.ssl_mode == SslMode::VerifyFull => {
            return Err(ValidationError::MissingCaSecret)
        }
        None => {}
    }
    if let Some(capacity) = spec.capacity.filter(|c| *c < 0) {
        return Err(ValidationError::NegativeCapacity(capacity));
    }

    match &spec.egress {
        None if ip.is_none() => return Err(ValidationError::MissingEgress(spec.host.clone())),
        None => {}
        Some(egress) => {
            for (index, cidr) in egress.cidrs.iter().enumerate() {
                if !is_cidr(cidr) {
                    return Err(ValidationError::InvalidCidr {
                        index,
                        value: cidr.clone(),
                    });
                }
            }
            match (&egress.namespace_selector, &egress.pod_selector) {
                (None, Some(_)) => return Err(ValidationError::PodSelectorWithoutNamespace),
                (Some(namespaces), _) if selects_everything(namespaces) => {
                    return Err(ValidationError::EmptyNamespaceSelector)
                }
                (None, None) if egress.cidrs.is_empty() => {
                    return Err(ValidationError::EmptyEgress)
                }
                _ => {}
            }
        }
    }

    Ok(ValidDatabaseServer {
        name,
        host: spec.host.clone(),
        ip,
        port: spec.port,
        ssl_mode: spec.ssl_mode,
        admin_secret_ref: spec.admin_secret_ref.clone(),
        ca_secret_ref: spec.ca_secret_ref.clone(),
        capacity: spec.capacity,
    })
}

fn secret_ref(field: &str, secret: &SecretReference) -> Result<(), ValidationError> {
    for (part, value, valid) in [
        (
            "namespace",
            &secret.namespace,
            is_namespace(&secret.namespace),
        ),
        ("name", &secret.name, is_dns_subdomain(&secret.name)),
    ] {
        let field = format!("{field}.{part}");
        if value.is_empty() {
            return Err(ValidationError::Empty { field });
        }
        if !valid {
            return Err(ValidationError::InvalidObjectName {
                field,
                value: value.clone(),
            });
        }
    }
    Ok(())
}

fn is_namespace(s: &str) -> bool {
    super::names::is_dns_label(s, 63)
}

/// An empty selector matches every namespace: egress to the database port of every pod.
fn selects_everything(selector: &LabelSelector) -> bool {
    selector.match_labels.as_ref().is_none_or(|l| l.is_empty())
        && selector
            .match_expressions
            .as_ref()
            .is_none_or(|e| e.is_empty())
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;
    use crate::validate::fixtures::{dns_server, ip_server, server};

    fn message(spec: Value) -> String {
        validate_database_server(&server("pg", spec))
            .expect_err("invalid")
            .to_string()
    }

    fn with(extra: Value) -> Value {
        let mut spec = json!({
            "host": "10.0.12.7",
            "adminSecretRef": { "namespace": "boxoffice-system", "name": "pg-admin" },
        });
        for (k, v) in extra.as_object().unwrap() {
            spec[k] = v.clone();
        }
        spec
    }

    #[test]
    fn ip_server_is_valid_without_egress() {
        let valid = validate_database_server(&ip_server()).unwrap();
        assert_eq!(valid.name, "pg-1");
        assert_eq!(valid.ip, Some("10.0.12.7".parse().unwrap()));
        assert_eq!(valid.port, 5433);
        assert_eq!(valid.ssl_mode, SslMode::Disable);
    }

    #[test]
    fn dns_server_with_egress_is_valid() {
        let valid = validate_database_server(&dns_server()).unwrap();
        assert_eq!(valid.ip, None);
        assert_eq!(valid.port, 5432, "default port");
        assert_eq!(valid.ssl_mode, SslMode::Require, "default sslMode");
    }

    #[test]
    fn host_must_be_an_ip_or_dns_name() {
        assert_eq!(
            message(with(json!({ "host": "" }))),
            "spec.host: must not be empty"
        );
        assert_eq!(
            message(with(json!({ "host": "db server" }))),
            "spec.host: \"db server\" is neither an IP address nor a DNS name"
        );
        assert!(
            validate_database_server(&server("pg", with(json!({ "host": "::1" }))))
                .unwrap()
                .ip
                .is_some()
        );
    }

    #[test]
    fn port_and_capacity_in_range() {
        assert_eq!(
            message(with(json!({ "port": 0 }))),
            "spec.port: 0 is out of range 1..=65535"
        );
        assert_eq!(
            message(with(json!({ "port": 70000 }))),
            "spec.port: 70000 is out of range 1..=65535"
        );
        assert_eq!(
            message(with(json!({ "capacity": -1 }))),
            "spec.capacity: -1 must not be negative"
        );
    }

    #[test]
    fn secret_refs_are_object_names() {
        assert_eq!(
            message(with(
                json!({ "adminSecretRef": { "namespace": "", "name": "a" } })
            )),
            "spec.adminSecretRef.namespace: must not be empty"
        );
        assert_eq!(
            message(with(
                json!({ "adminSecretRef": { "namespace": "a.b", "name": "a" } })
            )),
            "spec.adminSecretRef.namespace: \"a.b\" is not a valid object name"
        );
    }

    #[test]
    fn verify_full_needs_a_ca() {
        assert_eq!(
            message(with(json!({ "sslMode": "verify-full" }))),
            "spec.caSecretRef: required when spec.sslMode is verify-full"
        );
        let ca = json!({ "namespace": "boxoffice-system", "name": "pg-ca" });
        let spec = with(json!({ "sslMode": "verify-full", "caSecretRef": ca }));
        assert!(validate_database_server(&server("pg", spec)).is_ok());
    }

    #[test]
    fn egress_is_required_for_a_host_name() {
        assert_eq!(
            message(with(json!({ "host": "pg.example.com" }))),
            "spec.egress: required when spec.host (\"pg.example.com\") is not an IP address"
        );
        let spec =
            with(json!({ "host": "pg.example.com", "egress": { "cidrs": ["10.0.0.0/24"] } }));
        assert!(validate_database_server(&server("pg", spec)).is_ok());
    }

    #[test]
    fn egress_must_name_a_destination() {
        let err = message(with(json!({ "host": "pg.example.com", "egress": {} })));
        assert!(
            err.starts_with("spec.egress: names no destination"),
            "{err}"
        );
        let pods_only = json!({ "podSelector": { "matchLabels": { "app": "pg" } } });
        let err = message(with(json!({ "egress": pods_only })));
        assert!(
            err.starts_with("spec.egress.podSelector: requires"),
            "{err}"
        );
        let everything = json!({ "namespaceSelector": {} });
        let err = message(with(json!({ "egress": everything })));
        assert!(
            err.starts_with("spec.egress.namespaceSelector: selects every"),
            "{err}"
        );
    }

    #[test]
    fn egress_cidrs_parse() {
        let egress = json!({ "cidrs": ["10.0.0.0/24", "10.0.0.1"] });
        assert_eq!(
            message(with(json!({ "egress": egress }))),
            "spec.egress.cidrs[1]: \"10.0.0.1\" is not a CIDR (e.g. 10.0.12.7/32)"
        );
    }
}
