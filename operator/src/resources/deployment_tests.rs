use serde_json::{json, Value};

use super::super::credentials::tests::{verify_full_credentials, CA_PEM};
use super::super::fixtures::*;
use super::super::secret::db_secret;
use super::super::Credentials;
use super::*;
use crate::crd::SslMode;
use crate::validate::fixtures::{minimal_tenant, SHOP_IMAGE};

fn built(f: &Fixture) -> Value {
    serde_json::to_value(deployment(&f.inputs())).unwrap()
}

fn pod(d: &Value) -> &Value {
    &d["spec"]["template"]["spec"]
}

fn selector_json() -> Value {
    json!({ "matchLabels": {
        "app.kubernetes.io/name": "shop",
        "boxoffice.dev/tenant": "devoxx",
    } })
}

fn secret_env(name: &str, secret: &str, key: &str) -> Value {
    json!({ "name": name, "valueFrom": { "secretKeyRef": {
        "name": secret, "key": key, "optional": false } } })
}

#[test]
fn deployment_is_named_labelled_and_selects_the_shop_pods() {
    let f = Fixture::new(minimal_tenant("devoxx"));
    let d = built(&f);
    assert_eq!(d["metadata"]["name"], "shop");
    assert_eq!(d["metadata"]["namespace"], "tenant-devoxx");
    assert_eq!(d["spec"]["replicas"], 4);
    assert_eq!(d["spec"]["selector"], selector_json());
    let pod_labels = &d["spec"]["template"]["metadata"]["labels"];
    assert_eq!(
        pod_labels,
        &json!({
            "app.kubernetes.io/managed-by": "boxoffice-operator",
            "app.kubernetes.io/name": "shop",
            "app.kubernetes.io/part-of": "boxoffice",
            "boxoffice.dev/tenant": "devoxx",
        })
    );
    assert_eq!(d["metadata"]["labels"], *pod_labels);
    assert_eq!(
        d["spec"]["strategy"],
        json!({ "type": "RollingUpdate", "rollingUpdate": { "maxSurge": 1, "maxUnavailable": 0 } })
    );
}

#[test]
fn shop_container_runs_serve_with_its_environment() {
    let f = Fixture::new(minimal_tenant("devoxx"));
    let d = built(&f);
    let containers = pod(&d)["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 1);
    let c = &containers[0];
    assert_eq!(c["name"], "ticketing-service");
    assert_eq!(c["image"], SHOP_IMAGE);
    assert_eq!(c["args"], json!(["serve"]));
    assert_eq!(
        c["ports"],
        json!([{ "name": "http", "containerPort": 8080, "protocol": "TCP" }])
    );
    assert_eq!(
        c["env"],
        json!([
            secret_env("DATABASE_URL", "shop-db", "uri"),
            secret_env("ADMIN_TOKEN", "shop-admin", "token"),
            { "name": "LISTEN_ADDR", "value": "0.0.0.0:8080" },
            { "name": "DB_POOL_SIZE", "value": "10" },
            secret_env("TICKET_SIGNING_KEY", "shop-admin", "ticket-signing-key"),
            { "name": "RUST_LOG", "value": "info" },
        ])
    );
    let text = c["env"].to_string();
    assert!(!text.contains(&f.credentials.password), "no secret inline");
}

#[test]
fn probes_hit_readyz_and_healthz_on_the_http_port() {
    let f = Fixture::new(minimal_tenant("devoxx"));
    let d = built(&f);
    let c = &pod(&d)["containers"][0];
    assert_eq!(
        c["readinessProbe"]["httpGet"],
        json!({ "path": "/readyz", "port": "http", "scheme": "HTTP" })
    );
    assert_eq!(
        c["livenessProbe"]["httpGet"],
        json!({ "path": "/healthz", "port": "http", "scheme": "HTTP" })
    );
    let liveness_window = c["livenessProbe"]["periodSeconds"].as_i64().unwrap()
        * c["livenessProbe"]["failureThreshold"].as_i64().unwrap();
    assert!(
        liveness_window >= 60,
        "a busy pod is not restarted within a minute"
    );
}

#[test]
fn memory_request_equals_limit_and_there_is_no_cpu_limit() {
    let spec = json!({ "displayName": "D", "shop": { "memory": "1.5Gi", "cpu": "0.5" } });
    let f = Fixture::new(crate::validate::fixtures::tenant("devoxx", spec));
    let d = built(&f);
    let expected = json!({
        "requests": { "cpu": "500m", "memory": "1536Mi" },
        "limits": { "memory": "1536Mi" },
    });
    assert_eq!(pod(&d)["containers"][0]["resources"], expected);
    assert_eq!(pod(&d)["initContainers"][0]["resources"], expected);
    assert!(pod(&d)["containers"][0]["resources"]["limits"]
        .get("cpu")
        .is_none());
}

#[test]
fn migrate_runs_first_with_the_database_url() {
    let f = Fixture::new(minimal_tenant("devoxx"));
    let d = built(&f);
    let init = pod(&d)["initContainers"].as_array().unwrap();
    assert_eq!(init.len(), 1);
    assert_eq!(init[0]["name"], "migrate");
    assert_eq!(init[0]["image"], SHOP_IMAGE);
    assert_eq!(init[0]["args"], json!(["migrate"]));
    assert_eq!(
        init[0]["env"][0],
        secret_env("DATABASE_URL", "shop-db", "uri")
    );
    assert_eq!(
        init[0]["securityContext"],
        pod(&d)["containers"][0]["securityContext"]
    );
    assert_eq!(
        init[0]["volumeMounts"],
        json!([{ "name": "tmp", "mountPath": "/tmp" }])
    );
}

#[test]
fn security_context_is_restricted() {
    let f = Fixture::new(minimal_tenant("devoxx"));
    let d = built(&f);
    let p = pod(&d);
    assert_eq!(
        p["securityContext"],
        json!({ "runAsNonRoot": true, "runAsUser": 65532, "runAsGroup": 65532,
                "seccompProfile": { "type": "RuntimeDefault" } })
    );
    assert_eq!(
        p["containers"][0]["securityContext"],
        json!({
            "runAsNonRoot": true, "runAsUser": 65532, "runAsGroup": 65532,
            "readOnlyRootFilesystem": true, "allowPrivilegeEscalation": false,
            "capabilities": { "drop": ["ALL"] },
            "seccompProfile": { "type": "RuntimeDefault" },
        })
    );
    assert_eq!(
        p["volumes"],
        json!([{ "name": "tmp", "emptyDir": { "sizeLimit": "64Mi" } }])
    );
    assert_eq!(p["containers"][0]["volumeMounts"][0]["mountPath"], "/tmp");
    assert_eq!(p["serviceAccountName"], "shop");
    assert_eq!(p["automountServiceAccountToken"], false);
    assert_eq!(p["enableServiceLinks"], false);
}

#[test]
fn pods_spread_over_nodes() {
    let f = Fixture::new(minimal_tenant("devoxx"));
    let d = built(&f);
    let p = pod(&d);
    assert_eq!(
        p["topologySpreadConstraints"],
        json!([{ "maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                 "whenUnsatisfiable": "DoNotSchedule", "labelSelector": selector_json() }])
    );
    assert_eq!(
        p["affinity"],
        json!({ "podAntiAffinity": { "preferredDuringSchedulingIgnoredDuringExecution": [{
            "weight": 100,
            "podAffinityTerm": { "labelSelector": selector_json(),
                                 "topologyKey": "kubernetes.io/hostname" },
        }] } })
    );
}

#[test]
fn scheduling_fields_come_from_the_spec() {
    let f = Fixture::new(minimal_tenant("devoxx"));
    let d = built(&f);
    for field in ["imagePullSecrets", "nodeSelector", "tolerations"] {
        assert!(
            pod(&d).get(field).is_none(),
            "{field} absent when not given"
        );
    }

    let f = Fixture::new(full_tenant());
    let d = built(&f);
    let p = pod(&d);
    assert_eq!(
        p["imagePullSecrets"],
        json!([{ "name": "registry-credentials" }])
    );
    assert_eq!(p["nodeSelector"], json!({ "node.example/pool": "shops" }));
    assert_eq!(
        p["tolerations"],
        json!([{ "key": "dedicated", "operator": "Equal", "value": "shops",
                 "effect": "NoSchedule" }])
    );
    assert_eq!(
        p["containers"][0]["image"],
        "registry.example/ticketing-service:2.0.0"
    );
    assert_owned_by_devoxx(&deployment(&f.inputs()).metadata);
}

#[test]
fn credentials_hash_is_on_the_pod_template_and_a_rotation_changes_it() {
    let mut f = Fixture::new(minimal_tenant("devoxx"));
    let before = built(&f);
    let annotations = &before["spec"]["template"]["metadata"]["annotations"];
    assert_eq!(
        annotations["boxoffice.dev/credentials-hash"],
        credentials_hash(&f.credentials)
    );
    assert_eq!(
        annotations["kubectl.kubernetes.io/default-container"],
        "ticketing-service"
    );

    f.credentials = Credentials {
        password: "rotated".into(),
        ..f.credentials.clone()
    };
    let after = built(&f);
    let hash = |d: &Value| d["spec"]["template"]["metadata"]["annotations"].clone();
    assert_ne!(hash(&before), hash(&after));
    // Nothing else of the pod template changes: the rollout is the rotation's only effect.
    assert_eq!(pod(&before), pod(&after));
}

/// The value of query parameter `name` of `uri`, percent-decoded.
fn query_value(uri: &str, name: &str) -> Option<String> {
    let (_, query) = uri.split_once('?')?;
    let value = query
        .split('&')
        .find_map(|pair| pair.strip_prefix(&format!("{name}=")))?;
    let mut out = Vec::new();
    let mut bytes = value.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hex: String = bytes.by_ref().take(2).map(char::from).collect();
            out.push(u8::from_str_radix(&hex, 16).ok()?);
        } else {
            out.push(b);
        }
    }
    String::from_utf8(out).ok()
}

#[test]
fn under_verify_full_both_containers_mount_the_ca_key_alone_where_the_uri_points() {
    let mut f = Fixture::new(minimal_tenant("devoxx"));
    f.credentials = verify_full_credentials();
    let d = built(&f);
    let p = pod(&d);

    let volumes = p["volumes"].as_array().unwrap();
    assert_eq!(volumes.len(), 2);
    assert_eq!(
        volumes[1],
        json!({ "name": "db-ca", "secret": {
            "secretName": "shop-db",
            "items": [{ "key": "ca.crt", "path": "ca.crt" }],
            "defaultMode": 0o444,
            "optional": false,
        } })
    );
    let mount = json!({ "name": "db-ca", "mountPath": "/etc/boxoffice/db", "readOnly": true });
    for c in [&p["initContainers"][0], &p["containers"][0]] {
        assert_eq!(
            c["volumeMounts"],
            json!([{ "name": "tmp", "mountPath": "/tmp" }, mount]),
            "{}",
            c["name"]
        );
        // The root file system stays read-only: the CA is a volume of its own.
        assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
        assert_eq!(c["env"][0], secret_env("DATABASE_URL", "shop-db", "uri"));
    }

    // The file the URI names is the key the volume projects, and `shop-db` holds it.
    let item = &volumes[1]["secret"]["items"][0];
    let mounted = format!(
        "{}/{}",
        mount["mountPath"].as_str().unwrap(),
        item["path"].as_str().unwrap()
    );
    let uri = f.credentials.uri();
    assert_eq!(query_value(&uri, "sslrootcert"), Some(mounted));
    let secret = db_secret(&f.inputs());
    let key = item["key"].as_str().unwrap();
    let data = secret.data.unwrap();
    assert_eq!(data[key].0, CA_PEM.as_bytes());
    assert_eq!(data["uri"].0, uri.as_bytes());
}

#[test]
fn without_a_ca_nothing_of_shop_db_is_mounted() {
    for ssl_mode in [SslMode::Disable, SslMode::Require, SslMode::VerifyFull] {
        let mut f = Fixture::new(minimal_tenant("devoxx"));
        f.credentials = Credentials {
            ssl_mode,
            ca_pem: (ssl_mode != SslMode::VerifyFull).then(|| CA_PEM.into()),
            ..verify_full_credentials()
        };
        let d = built(&f);
        let p = pod(&d);
        assert_eq!(
            p["volumes"],
            json!([{ "name": "tmp", "emptyDir": { "sizeLimit": "64Mi" } }]),
            "{ssl_mode:?}"
        );
        for c in [&p["initContainers"][0], &p["containers"][0]] {
            assert_eq!(
                c["volumeMounts"],
                json!([{ "name": "tmp", "mountPath": "/tmp" }])
            );
        }
    }
}

#[test]
fn a_new_ca_rolls_the_pods_and_changes_nothing_else() {
    let mut f = Fixture::new(minimal_tenant("devoxx"));
    f.credentials = verify_full_credentials();
    let before = built(&f);
    f.credentials.ca_pem = Some(CA_PEM.replace("test", "renewed"));
    let after = built(&f);
    let hash = |d: &Value| d["spec"]["template"]["metadata"]["annotations"].clone();
    assert_ne!(hash(&before), hash(&after));
    assert_eq!(
        hash(&after)["boxoffice.dev/credentials-hash"],
        credentials_hash(&f.credentials)
    );
    assert_eq!(pod(&before), pod(&after));
}

#[test]
fn connection_limit_covers_every_pod_the_quota_admits() {
    assert_eq!(connection_limit(4), 60);
    assert_eq!(connection_limit(1), 30);
    for replicas in [1, 4, 100] {
        assert_eq!(
            connection_limit(replicas),
            max_pods(replicas) * DB_POOL_SIZE
        );
        assert!(connection_limit(replicas) >= (replicas + 1) * DB_POOL_SIZE + 2);
    }
}
