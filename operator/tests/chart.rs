//! The Helm chart (`charts/boxoffice-operator`) through Helm's own engine: strict lint, the
//! manifests it renders from its values, and the values its schema rejects. Its RBAC is
//! proven sufficient on a real API server by the cluster suite (`tests/cluster`).

use std::collections::BTreeSet;

use boxoffice_e2e::chart::{chart_dir, Helm};
use serde::Deserialize as _;
use serde_json::{json, Value};

const RELEASE: &str = "boxoffice-operator";
const NAMESPACE: &str = "boxoffice-system";

fn helm() -> Helm {
    Helm::ensure().unwrap_or_else(|e| panic!("Helm's SDK (e2e/scripts/helm-venv.sh): {e:#}"))
}

/// The rendered objects for `values`, as JSON.
fn render(helm: &Helm, values: &Value) -> Vec<Value> {
    let yaml = helm
        .render(&chart_dir(), RELEASE, NAMESPACE, values)
        .unwrap_or_else(|e| panic!("{e:#}"));
    serde_yaml::Deserializer::from_str(&yaml)
        .map(|doc| serde_yaml::Value::deserialize(doc).expect("rendered YAML parses"))
        .filter(|doc| !doc.is_null())
        .map(|doc| serde_json::to_value(doc).expect("YAML as JSON"))
        .collect()
}

fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} rendered"))
}

fn kinds(objects: &[Value]) -> BTreeSet<String> {
    objects
        .iter()
        .map(|o| {
            format!(
                "{}/{}",
                o["kind"].as_str().unwrap(),
                o["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect()
}

fn container(objects: &[Value]) -> &Value {
    &find(objects, "Deployment", RELEASE)["spec"]["template"]["spec"]["containers"][0]
}

fn args(objects: &[Value]) -> Vec<String> {
    container(objects)["args"]
        .as_array()
        .expect("args")
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn lint_is_clean_with_the_defaults_and_with_every_option_on() {
    let helm = helm();
    let everything = json!({
        "metrics": {"serviceMonitor": {"enabled": true, "labels": {"release": "prometheus"}}},
        "imagePullSecrets": [{"name": "regcred"}],
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "tolerations": [{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}],
        "podAnnotations": {"example.com/team": "platform"},
        "networkPolicy": {"extraEgress": [{"to": [{"ipBlock": {"cidr": "10.1.0.0/16"}}]}]},
    });
    for values in [json!({}), everything] {
        let lint = helm.lint(&chart_dir(), &values).expect("run lint");
        assert!(
            lint.ok(),
            "helm lint --strict with {values}:\n{}{}",
            lint.stdout,
            lint.stderr
        );
        assert!(
            lint.stdout.contains("1 chart(s) linted, 0 finding(s)"),
            "{}",
            lint.stdout
        );
    }
}

#[test]
fn the_defaults_render_an_operator_with_two_replicas_electing_a_leader() {
    let objects = render(&helm(), &json!({}));
    let expected: BTreeSet<String> = [
        "ClusterRole/boxoffice-operator",
        "ClusterRoleBinding/boxoffice-operator",
        "CustomResourceDefinition/databaseservers.boxoffice.dev",
        "CustomResourceDefinition/tenants.boxoffice.dev",
        "Deployment/boxoffice-operator",
        "NetworkPolicy/boxoffice-operator",
        "Role/boxoffice-operator-events",
        "Role/boxoffice-operator-leader-election",
        "RoleBinding/boxoffice-operator-events",
        "RoleBinding/boxoffice-operator-leader-election",
        "Service/boxoffice-operator-metrics",
        "ServiceAccount/boxoffice-operator",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(kinds(&objects), expected);

    let deployment = find(&objects, "Deployment", RELEASE);
    assert_eq!(deployment["spec"]["replicas"], 2);
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], RELEASE);
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod["securityContext"]["runAsUser"], 65532);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    let c = container(&objects);
    assert_eq!(c["image"], "localhost/boxoffice/boxoffice-operator:0.1.0");
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
    assert_eq!(c["securityContext"]["capabilities"]["drop"], json!(["ALL"]));
    assert_eq!(
        c["livenessProbe"]["httpGet"],
        json!({"path": "/healthz", "port": "metrics"})
    );
    assert_eq!(
        c["readinessProbe"]["httpGet"],
        json!({"path": "/readyz", "port": "metrics"})
    );
    assert_eq!(
        c["ports"][0],
        json!({"name": "metrics", "containerPort": 8080, "protocol": "TCP"})
    );
    assert!(c["resources"]["requests"]["memory"].is_string());
    assert!(c["resources"]["limits"]["memory"].is_string());
    assert_eq!(c["resources"]["limits"].get("cpu"), None, "no CPU limit");
    assert!(args(&objects).contains(&"--leader-election=true".to_string()));
    let env: Vec<&str> = c["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(env, ["POD_NAMESPACE", "POD_NAME", "RUST_LOG", "LOG_FORMAT"]);

    // Everything namespaced lives in the release namespace, except the Events Role: Events
    // about a cluster-scoped Tenant go to `default`.
    for o in &objects {
        let ns = o["metadata"]["namespace"].as_str();
        let kind = o["kind"].as_str().unwrap();
        let name = o["metadata"]["name"].as_str().unwrap();
        match kind {
            "ClusterRole" | "ClusterRoleBinding" | "CustomResourceDefinition" => {
                assert_eq!(ns, None, "{kind}")
            }
            _ if name.ends_with("-events") => assert_eq!(ns, Some("default"), "{kind} {name}"),
            _ => assert_eq!(ns, Some(NAMESPACE), "{kind} {name}"),
        }
    }
}

#[test]
fn every_flag_comes_from_the_value_named_like_it() {
    let values = json!({
        "shopImage": "registry.example:5000/shop/ticketing-service@sha256:0123abcd",
        "ingressNamespaceSelector": "team=edge,tier=ingress",
        "monitoringNamespaceSelector": "kubernetes.io/metadata.name=observability",
        "dnsNamespaceSelector": "kubernetes.io/metadata.name=dns",
        "metricsPort": 9090,
        "leaderElection": false,
        "replicas": 1,
        "logLevel": "debug,kube=info",
        "logFormat": "text",
        "image": {"repository": "registry.example:5000/boxoffice/operator", "tag": "1.2.3", "pullPolicy": "Always"},
        "metrics": {"serviceMonitor": {"enabled": true, "interval": "15s"}},
    });
    let objects = render(&helm(), &values);
    assert_eq!(
        args(&objects),
        [
            "run",
            "--shop-image=registry.example:5000/shop/ticketing-service@sha256:0123abcd",
            "--ingress-namespace-selector=team=edge,tier=ingress",
            "--monitoring-namespace-selector=kubernetes.io/metadata.name=observability",
            "--dns-namespace-selector=kubernetes.io/metadata.name=dns",
            "--metrics-addr=0.0.0.0:9090",
            "--leader-election=false",
        ]
    );
    let c = container(&objects);
    assert_eq!(c["image"], "registry.example:5000/boxoffice/operator:1.2.3");
    assert_eq!(c["imagePullPolicy"], "Always");
    assert_eq!(c["ports"][0]["containerPort"], 9090);
    assert_eq!(c["env"][2]["value"], "debug,kube=info");
    assert_eq!(c["env"][3]["value"], "text");
    assert_eq!(find(&objects, "Deployment", RELEASE)["spec"]["replicas"], 1);
    let service = find(&objects, "Service", "boxoffice-operator-metrics");
    assert_eq!(service["spec"]["ports"][0]["port"], 9090);
    let monitor = find(&objects, "ServiceMonitor", RELEASE);
    assert_eq!(monitor["spec"]["endpoints"][0]["interval"], "15s");
    assert_eq!(monitor["spec"]["endpoints"][0]["port"], "metrics");

    // The operator's own NetworkPolicy takes its selectors from the same values.
    let policy = &find(&objects, "NetworkPolicy", RELEASE)["spec"];
    assert_eq!(
        policy["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"],
        json!({"kubernetes.io/metadata.name": "observability"})
    );
    assert_eq!(policy["ingress"][0]["ports"][0]["port"], 9090);
    assert_eq!(
        policy["egress"][0]["to"][0]["namespaceSelector"]["matchLabels"],
        json!({"kubernetes.io/metadata.name": "dns"})
    );
}

#[test]
fn the_cluster_role_grants_no_more_than_the_operator_uses() {
    let objects = render(&helm(), &json!({}));
    let role = find(&objects, "ClusterRole", RELEASE);
    let mut granted = BTreeSet::new();
    for rule in role["rules"].as_array().unwrap() {
        assert_eq!(rule.get("resourceNames"), None);
        for group in rule["apiGroups"].as_array().unwrap() {
            for resource in rule["resources"].as_array().unwrap() {
                for verb in rule["verbs"].as_array().unwrap() {
                    granted.insert(format!(
                        "{}/{} {}",
                        group.as_str().unwrap(),
                        resource.as_str().unwrap(),
                        verb.as_str().unwrap()
                    ));
                }
            }
        }
    }
    // Server-side apply is a `patch`, checked against `create` too when it creates.
    let read_apply_watch = |group: &str, resource: &str| {
        ["get", "list", "watch", "create", "patch"].map(|v| format!("{group}/{resource} {v}"))
    };
    let mut expected: BTreeSet<String> = [
        "boxoffice.dev/tenants list",
        "boxoffice.dev/tenants watch",
        "boxoffice.dev/tenants patch",
        "boxoffice.dev/tenants/status patch",
        "boxoffice.dev/tenants/finalizers update",
        "boxoffice.dev/databaseservers get",
        "boxoffice.dev/databaseservers list",
        "boxoffice.dev/databaseservers watch",
        "boxoffice.dev/databaseservers/status patch",
        "policy/poddisruptionbudgets get",
        "policy/poddisruptionbudgets create",
        "policy/poddisruptionbudgets patch",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    for (group, resource) in [
        ("", "namespaces"),
        ("", "resourcequotas"),
        ("", "serviceaccounts"),
        ("", "services"),
        ("", "secrets"),
        ("networking.k8s.io", "networkpolicies"),
        ("networking.k8s.io", "ingresses"),
        ("apps", "deployments"),
    ] {
        expected.extend(read_apply_watch(group, resource));
    }
    assert_eq!(
        granted, expected,
        "a ClusterRole that grows needs a reason and this list"
    );

    let leases = find(&objects, "Role", "boxoffice-operator-leader-election");
    assert_eq!(
        leases["rules"],
        json!([
            {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]},
            {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
             "resourceNames": ["boxoffice-operator"], "verbs": ["get", "update"]},
        ])
    );
    let events = find(&objects, "Role", "boxoffice-operator-events");
    assert_eq!(
        events["rules"],
        json!([
            {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch"]},
            {"apiGroups": [""], "resources": ["events"], "verbs": ["create"]}
        ])
    );
}

#[test]
fn optional_objects_come_and_go_with_their_values() {
    let helm = helm();
    let off = render(
        &helm,
        &json!({"rbac": {"create": false}, "serviceAccount": {"create": false, "name": "mine"},
                "networkPolicy": {"enabled": false}, "metrics": {"service": {"enabled": false}}}),
    );
    let expected: BTreeSet<String> = [
        "CustomResourceDefinition/databaseservers.boxoffice.dev",
        "CustomResourceDefinition/tenants.boxoffice.dev",
        "Deployment/boxoffice-operator",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(kinds(&off), expected);
    let pod = &find(&off, "Deployment", RELEASE)["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], "mine");

    // A ServiceMonitor scrapes the metrics Service, so it cannot go without it.
    let values =
        json!({"metrics": {"service": {"enabled": false}, "serviceMonitor": {"enabled": true}}});
    let err = helm
        .render(&chart_dir(), RELEASE, NAMESPACE, &values)
        .expect_err("a ServiceMonitor without its Service");
    assert!(
        format!("{err:#}").contains("needs metrics.service.enabled"),
        "{err:#}"
    );
}

#[test]
fn the_schema_rejects_bad_values() {
    let helm = helm();
    let bad = [
        (json!({"replicas": 0}), "/replicas"),
        (json!({"replicas": "2"}), "/replicas"),
        (json!({"replics": 2}), "replics"),
        (json!({"leaderElection": false}), "/replicas"),
        (json!({"shopImage": ""}), "/shopImage"),
        (json!({"shopImage": "has spaces:1"}), "/shopImage"),
        (
            json!({"ingressNamespaceSelector": "no-value"}),
            "/ingressNamespaceSelector",
        ),
        (
            json!({"dnsNamespaceSelector": "a=b,"}),
            "/dnsNamespaceSelector",
        ),
        (json!({"metricsPort": 0}), "/metricsPort"),
        (json!({"metricsPort": 65536}), "/metricsPort"),
        (json!({"logFormat": "xml"}), "/logFormat"),
        (
            json!({"image": {"pullPolicy": "Sometimes"}}),
            "/image/pullPolicy",
        ),
        (json!({"image": {"tag": "v1 beta"}}), "/image/tag"),
        (
            json!({"serviceAccount": {"name": "Not_A_Name"}}),
            "/serviceAccount/name",
        ),
        (
            json!({"metrics": {"serviceMonitor": {"interval": "often"}}}),
            "/metrics/serviceMonitor/interval",
        ),
        (
            json!({"networkPolicy": {"apiServer": {"cidrs": ["10.0.0.1"], "ports": [443]}}}),
            "/networkPolicy/apiServer/cidrs/0",
        ),
        (
            json!({"networkPolicy": {"databaseServers": {"cidrs": [], "ports": [5432]}}}),
            "/networkPolicy/databaseServers/cidrs",
        ),
        (json!({"resources": {"limit": {"memory": "1Gi"}}}), "limit"),
    ];
    for (values, path) in bad {
        let out = helm.validate(&chart_dir(), &values).expect("run validate");
        assert_eq!(
            out.code, 2,
            "{values} was accepted: {}{}",
            out.stdout, out.stderr
        );
        assert!(
            out.stderr.contains(path),
            "{values}: the rejection names {path}: {}",
            out.stderr
        );
        let render = helm.render(&chart_dir(), RELEASE, NAMESPACE, &values);
        assert!(render.is_err(), "{values} rendered");
    }
    let good = [
        json!({}),
        json!({"leaderElection": false, "replicas": 1}),
        json!({"ingressNamespaceSelector": "a=b,c.example.com/d=e-f"}),
        json!({"shopImage": "registry:5000/a/b:1.0"}),
    ];
    for values in good {
        let out = helm.validate(&chart_dir(), &values).expect("run validate");
        assert!(out.ok(), "{values} was rejected: {}", out.stderr);
    }
}
