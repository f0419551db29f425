use serde_json::json;

use super::*;
use crate::validate::fixtures::{minimal_tenant, tenant, SHOP_IMAGE};

fn check(spec: serde_json::Value) -> Result<ValidTenant, ValidationError> {
    validate_tenant(&tenant("devoxx", spec), SHOP_IMAGE)
}

fn message(spec: serde_json::Value) -> String {
    check(spec).expect_err("invalid").to_string()
}

fn shop(shop: serde_json::Value) -> serde_json::Value {
    json!({ "displayName": "Devoxx", "shop": shop })
}

#[test]
fn defaults_are_applied() {
    let valid = validate_tenant(&minimal_tenant("devoxx"), SHOP_IMAGE).unwrap();
    assert_eq!(valid.name, "devoxx");
    assert_eq!(valid.uid, "uid-devoxx");
    assert_eq!(valid.namespace, "tenant-devoxx");
    assert_eq!(valid.database, "tenant_devoxx");
    assert_eq!(valid.replicas, 4);
    assert_eq!(valid.memory, Quantity("1Gi".into()));
    assert_eq!(valid.memory_bytes, 1 << 30);
    assert_eq!(valid.cpu, Quantity("250m".into()));
    assert_eq!(valid.cpu_millis, 250);
    assert_eq!(valid.image, SHOP_IMAGE);
    assert_eq!(valid.ingress, None);
    assert_eq!(valid.database_server, None);
    assert_eq!(valid.deletion_policy, DeletionPolicy::Retain);
    assert!(!valid.paused);
}

#[test]
fn given_values_are_resolved() {
    let valid = check(json!({
        "displayName": "Voxxed Days Zürich",
        "databaseServer": "pg-2",
        "deletionPolicy": "Delete",
        "paused": true,
        "shop": {
            "replicas": 2, "memory": "1.5Gi", "cpu": 1, "image": "shop:2",
            "hostname": "tickets.voxxed.ch", "tls": { "secretName": "tickets-tls" },
            "ingressClassName": "nginx",
            "imagePullSecrets": [{ "name": "registry" }],
            "nodeSelector": { "pool": "shops" },
            "tolerations": [{ "key": "dedicated", "operator": "Equal", "value": "shops",
                              "effect": "NoSchedule" }],
        },
    }))
    .unwrap();
    assert_eq!(valid.database_server.as_deref(), Some("pg-2"));
    assert_eq!(valid.deletion_policy, DeletionPolicy::Delete);
    assert!(valid.paused);
    assert_eq!(valid.replicas, 2);
    assert_eq!(valid.memory, Quantity("1536Mi".into()), "canonical form");
    assert_eq!(valid.memory_bytes, 1536 << 20);
    assert_eq!(valid.cpu, Quantity("1".into()));
    assert_eq!(valid.cpu_millis, 1000);
    assert_eq!(valid.image, "shop:2");
    assert_eq!(
        valid.ingress,
        Some(ShopIngress {
            hostname: "tickets.voxxed.ch".into(),
            tls_secret_name: Some("tickets-tls".into()),
            class_name: Some("nginx".into()),
        })
    );
    assert_eq!(valid.image_pull_secrets[0].name, "registry");
    assert_eq!(valid.node_selector["pool"], "shops");
    assert_eq!(valid.tolerations.len(), 1);
}

#[test]
fn tenant_name_is_a_short_dns_label() {
    let long = "a".repeat(56);
    assert!(validate_tenant(&minimal_tenant(&long), SHOP_IMAGE).is_ok());
    for bad in [
        "a".repeat(57),
        "Devoxx".into(),
        "devoxx_be".into(),
        "-devoxx".into(),
    ] {
        let err = validate_tenant(&minimal_tenant(&bad), SHOP_IMAGE).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("metadata.name: {bad:?} is not a DNS label of at most 56 characters")
        );
    }
    let mut nameless = minimal_tenant("devoxx");
    nameless.metadata.name = None;
    assert_eq!(
        validate_tenant(&nameless, SHOP_IMAGE),
        Err(ValidationError::MissingName)
    );
}

#[test]
fn uid_is_required_for_owner_references() {
    let mut t = minimal_tenant("devoxx");
    t.metadata.uid = None;
    assert_eq!(
        validate_tenant(&t, SHOP_IMAGE),
        Err(ValidationError::MissingUid)
    );
}

#[test]
fn display_name_must_not_be_blank() {
    assert_eq!(
        message(json!({ "displayName": "  " })),
        "spec.displayName: must not be empty"
    );
}

#[test]
fn database_server_is_an_object_name() {
    let err = message(json!({ "displayName": "D", "databaseServer": "PG 1" }));
    assert_eq!(
        err,
        "spec.databaseServer: \"PG 1\" is not a valid object name"
    );
    let err = message(json!({ "displayName": "D", "databaseServer": "" }));
    assert_eq!(err, "spec.databaseServer: must not be empty");
}

#[test]
fn replicas_between_1_and_100() {
    assert_eq!(check(shop(json!({ "replicas": 1 }))).unwrap().replicas, 1);
    assert_eq!(
        check(shop(json!({ "replicas": 100 }))).unwrap().replicas,
        100
    );
    for bad in [0, -1, 101] {
        let err = message(shop(json!({ "replicas": bad })));
        assert_eq!(
            err,
            format!("spec.shop.replicas: {bad} is out of range 1..=100")
        );
    }
}

#[test]
fn memory_is_a_positive_whole_quantity_of_at_least_64mi() {
    assert_eq!(
        check(shop(json!({ "memory": "64Mi" })))
            .unwrap()
            .memory_bytes,
        64 << 20
    );
    // An integer is a decimal quantity; the API server keeps it in decimal form.
    let valid = check(shop(json!({ "memory": 268435456 }))).unwrap();
    assert_eq!(
        (valid.memory, valid.memory_bytes),
        (Quantity("268435456".into()), 256 << 20)
    );
    assert_eq!(
        check(shop(json!({ "memory": "1e9" }))).unwrap().memory,
        Quantity("1e9".into())
    );
    assert_eq!(
        message(shop(json!({ "memory": "1Xi" }))),
        "spec.shop.memory: \"1Xi\" is not a quantity"
    );
    assert_eq!(
        message(shop(json!({ "memory": "-1Gi" }))),
        "spec.shop.memory: \"-1Gi\" must be greater than zero"
    );
    assert_eq!(
        message(shop(json!({ "memory": "0" }))),
        "spec.shop.memory: \"0\" must be greater than zero"
    );
    assert_eq!(
        message(shop(json!({ "memory": "67108864.5" }))),
        "spec.shop.memory: \"67108864.5\" is not a whole number of bytes"
    );
    assert_eq!(
        message(shop(json!({ "memory": "63Mi" }))),
        "spec.shop.memory: \"63Mi\" is less than the minimum 64Mi"
    );
}

#[test]
fn cpu_is_a_positive_quantity() {
    assert_eq!(
        check(shop(json!({ "cpu": "0.5" }))).unwrap().cpu,
        Quantity("500m".into())
    );
    assert_eq!(
        check(shop(json!({ "cpu": "0.1m" }))).unwrap().cpu_millis,
        1,
        "rounds up"
    );
    assert_eq!(
        message(shop(json!({ "cpu": "lots" }))),
        "spec.shop.cpu: \"lots\" is not a quantity"
    );
    assert_eq!(
        message(shop(json!({ "cpu": "0m" }))),
        "spec.shop.cpu: \"0m\" must be greater than zero"
    );
    assert_eq!(
        message(shop(json!({ "cpu": -2 }))),
        "spec.shop.cpu: \"-2\" must be greater than zero"
    );
}

#[test]
fn image_defaults_to_the_operator_flag_and_must_not_be_empty() {
    assert_eq!(
        message(shop(json!({ "image": "" }))),
        "spec.shop.image: must not be empty"
    );
    assert_eq!(
        message(shop(json!({ "image": "shop :1" }))),
        "spec.shop.image: \"shop :1\" must not contain white space"
    );
    let err = validate_tenant(&minimal_tenant("devoxx"), "").unwrap_err();
    assert_eq!(err, ValidationError::NoImage);
    let pinned = tenant("devoxx", shop(json!({ "image": "shop:2" })));
    assert_eq!(validate_tenant(&pinned, "").unwrap().image, "shop:2");
}

#[test]
fn hostname_is_a_dns_name() {
    assert_eq!(
        message(shop(json!({ "hostname": "Tickets.Devoxx.be" }))),
        "spec.shop.hostname: \"Tickets.Devoxx.be\" is not a DNS name"
    );
    assert_eq!(
        message(shop(json!({ "hostname": "10.1.2.3" }))),
        "spec.shop.hostname: \"10.1.2.3\" is not a DNS name"
    );
    let valid = check(shop(json!({ "hostname": "tickets.devoxx.be" }))).unwrap();
    let ingress = valid.ingress.unwrap();
    assert_eq!((ingress.tls_secret_name, ingress.class_name), (None, None));
}

#[test]
fn tls_and_ingress_class_require_a_hostname() {
    assert_eq!(
        message(shop(json!({ "tls": { "secretName": "tls" } }))),
        "spec.shop.tls: requires spec.shop.hostname (there is no Ingress without one)"
    );
    assert_eq!(
        message(shop(json!({ "ingressClassName": "nginx" }))),
        "spec.shop.ingressClassName: requires spec.shop.hostname (there is no Ingress without one)"
    );
    assert_eq!(
        message(shop(
            json!({ "hostname": "a.be", "tls": { "secretName": "Bad_Name" } })
        )),
        "spec.shop.tls.secretName: \"Bad_Name\" is not a valid object name"
    );
}

#[test]
fn pull_secrets_and_node_selector_are_checked() {
    assert_eq!(
        message(shop(
            json!({ "imagePullSecrets": [{ "name": "ok" }, { "name": "" }] })
        )),
        "spec.shop.imagePullSecrets[1].name: must not be empty"
    );
    assert_eq!(
        message(shop(json!({ "nodeSelector": { "bad key": "x" } }))),
        "spec.shop.nodeSelector: \"bad key\" is not a valid label key"
    );
    assert_eq!(
        message(shop(json!({ "nodeSelector": { "pool": "not ok" } }))),
        "spec.shop.nodeSelector[pool]: \"not ok\" is not a valid label value"
    );
}

#[test]
fn tolerations_follow_the_api_rules() {
    let ok = [
        json!({ "operator": "Exists" }),
        json!({ "key": "k", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 30 }),
        json!({ "key": "k", "value": "v" }),
        json!({ "key": "k", "operator": "", "value": "v", "effect": "PreferNoSchedule" }),
    ];
    for toleration in ok {
        assert!(
            check(shop(json!({ "tolerations": [toleration] }))).is_ok(),
            "{toleration}"
        );
    }
    let bad = [
        (
            json!({ "value": "v" }),
            "an empty key requires operator Exists",
        ),
        (
            json!({ "key": "k", "operator": "Exists", "value": "v" }),
            "operator Exists takes no value",
        ),
        (
            json!({ "key": "k", "operator": "Lt", "value": "1" }),
            "operator \"Lt\" is not Equal or Exists",
        ),
        (
            json!({ "key": "k", "effect": "Sometimes" }),
            "effect \"Sometimes\" is not NoSchedule, PreferNoSchedule or NoExecute",
        ),
        (
            json!({ "key": "k", "effect": "NoSchedule", "tolerationSeconds": 5 }),
            "tolerationSeconds requires effect NoExecute",
        ),
        (
            json!({ "key": "bad key" }),
            "key \"bad key\" is not a valid label key",
        ),
    ];
    for (toleration, problem) in bad {
        let spec = shop(json!({ "tolerations": [{ "operator": "Exists" }, toleration] }));
        assert_eq!(
            message(spec),
            format!("spec.shop.tolerations[1]: {problem}")
        );
    }
}
