//! The platform operator's side: the local control plane, the operator running against it,
//! and everything read or changed through the cluster's own `kubectl`, as a person at a
//! terminal would (`apply -f examples/...`, `get -o json`, `annotate`, `delete`).
//!
//! kubectl runs as a child process, so every call here blocks; callers on the async
//! runtime go through [`Platform::kubectl`], which steps aside with `block_in_place`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use boxoffice_e2e::chart;
use boxoffice_e2e::cluster::{Cluster, ClusterPg, OperatorProcess};
use serde_json::Value;

/// What the operator is told the shop's image is; nothing pulls it here.
const SHOP_IMAGE: &str = "registry.local/boxoffice/ticketing-service:e2e";

/// The control plane with its two PostgreSQL servers, and the operator. Fields drop in
/// order: the operator stops before the cluster goes.
pub struct Platform {
    operator: OperatorProcess,
    cluster: Cluster,
}

impl Platform {
    /// Starts a fresh cluster, installs the operator's chart (CRDs and RBAC), starts the
    /// operator with the chart's ServiceAccount token, then applies the example DatabaseServers (placeholders filled from the cluster's `pg-N.env`) and
    /// every example Tenant.
    pub fn start(operator_binary: &Path) -> Platform {
        let mut cluster = Cluster::start().expect("start the local control plane");
        chart::install(&mut cluster, SHOP_IMAGE)
            .unwrap_or_else(|e| panic!("install the chart: {e:#}"));
        let run = |args: &[&str]| cluster.kubectl(args).unwrap_or_else(|e| panic!("{e:#}"));
        let operator = OperatorProcess::start(&cluster, operator_binary, SHOP_IMAGE, &[])
            .expect("start boxoffice-operator");

        let servers = std::fs::read_to_string(repo().join("examples/database-servers.yaml"))
            .expect("read examples/database-servers.yaml");
        cluster
            .kubectl_stdin(
                &["apply", "-f", "-"],
                &fill_placeholders(&servers, &cluster),
            )
            .unwrap_or_else(|e| panic!("{e:#}"));
        run(&["apply", "-f", path_str(&repo().join("examples/tenants"))]);
        Platform { operator, cluster }
    }

    /// Runs kubectl as the cluster admin and returns its stdout; panics with its stderr.
    pub fn kubectl(&self, args: &[&str]) -> String {
        tokio::task::block_in_place(|| self.cluster.kubectl(args))
            .unwrap_or_else(|e| panic!("{e:#}"))
    }

    /// Tenant `name` as `kubectl get tenant <name> -o json` shows it; `None` once gone.
    pub fn tenant(&self, name: &str) -> Option<TenantView> {
        let out = self.kubectl(&["get", "tenant", name, "--ignore-not-found", "-o", "json"]);
        (!out.trim().is_empty()).then(|| TenantView::parse(&out))
    }

    /// Every Tenant, from `kubectl get tenants -o json`.
    pub fn tenants(&self) -> Vec<TenantView> {
        let list: Value = serde_json::from_str(&self.kubectl(&["get", "tenants", "-o", "json"]))
            .expect("kubectl printed JSON");
        let items = list["items"].as_array().cloned().unwrap_or_default();
        items
            .iter()
            .map(|t| TenantView::parse(&t.to_string()))
            .collect()
    }

    /// Every key of a Secret in the tenant's namespace, decoded. One read, so the keys
    /// belong together even while the operator rewrites the Secret.
    pub fn secret(&self, tenant: &str, secret: &str) -> BTreeMap<String, String> {
        let ns = namespace(tenant);
        let out = self.kubectl(&["-n", &ns, "get", "secret", secret, "-o", "json"]);
        let secret_json: Value = serde_json::from_str(&out).expect("kubectl printed JSON");
        let data = secret_json["data"].as_object().cloned().unwrap_or_default();
        data.into_iter()
            .map(|(key, value)| {
                let bytes = BASE64
                    .decode(value.as_str().unwrap_or_default())
                    .unwrap_or_else(|e| panic!("{secret}/{key} of {tenant} is not base64: {e}"));
                let text = String::from_utf8(bytes).expect("a UTF-8 value");
                (key, text)
            })
            .collect()
    }

    /// What the shop's pods get from the Secrets the operator wrote.
    pub fn shop_secrets(&self, tenant: &str) -> ShopSecrets {
        let db = self.secret(tenant, "shop-db");
        let admin = self.secret(tenant, "shop-admin");
        let get = |secret: &BTreeMap<String, String>, key: &str| {
            let value = secret.get(key).cloned().unwrap_or_default();
            let keys: Vec<&String> = secret.keys().collect();
            assert!(!value.is_empty(), "{tenant}: no key {key}, only {keys:?}");
            value
        };
        ShopSecrets {
            database_url: get(&db, "uri"),
            password: get(&db, "password"),
            database: get(&db, "database"),
            admin_token: get(&admin, "token"),
            ticket_signing_key: get(&admin, "ticket-signing-key"),
        }
    }

    /// The tenant's Deployment `shop`, as `kubectl get -o json` prints it.
    pub fn deployment(&self, tenant: &str) -> Value {
        let ns = namespace(tenant);
        let out = self.kubectl(&["-n", &ns, "get", "deployment", "shop", "-o", "json"]);
        serde_json::from_str(&out).expect("kubectl printed JSON")
    }

    /// Whether namespace `name` still exists (terminating counts as existing).
    pub fn namespace_exists(&self, name: &str) -> bool {
        let out = self.kubectl(&["get", "namespace", name, "--ignore-not-found", "-o", "name"]);
        !out.trim().is_empty()
    }

    /// The cluster's PostgreSQL server `name`, with its admin role.
    pub fn pg(&self, name: &str) -> &ClusterPg {
        self.cluster.pg(name)
    }

    pub fn run_dir(&self) -> PathBuf {
        self.cluster.run_dir().to_path_buf()
    }

    /// Stops the operator (SIGTERM) and returns whether it is gone.
    pub fn stop_operator(&mut self) -> bool {
        self.operator.stop();
        !self.operator.is_running()
    }
}

/// The keys of `shop-db` and `shop-admin` a shop process is started with.
#[derive(Clone)]
pub struct ShopSecrets {
    pub database_url: String,
    pub password: String,
    pub database: String,
    pub admin_token: String,
    pub ticket_signing_key: String,
}

/// The parts of a Tenant the suite looks at.
#[derive(Debug, Clone)]
pub struct TenantView {
    pub name: String,
    pub generation: Option<i64>,
    pub observed_generation: Option<i64>,
    /// `Ready` condition: status, reason.
    pub ready: Option<(String, String)>,
    pub database_server: Option<String>,
    pub replicas: i64,
    pub ready_replicas: Option<i64>,
}

impl TenantView {
    fn parse(json: &str) -> TenantView {
        let t: Value = serde_json::from_str(json).expect("kubectl printed a Tenant as JSON");
        let status = &t["status"];
        let ready = status["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["type"] == "Ready")
            .map(|c| (text(&c["status"]), text(&c["reason"])));
        TenantView {
            name: text(&t["metadata"]["name"]),
            generation: t["metadata"]["generation"].as_i64(),
            observed_generation: status["observedGeneration"].as_i64(),
            ready,
            database_server: status["databaseServer"].as_str().map(str::to_string),
            replicas: t["spec"]["shop"]["replicas"].as_i64().unwrap_or(4),
            ready_replicas: status["readyReplicas"].as_i64(),
        }
    }

    /// kstatus "current": Ready=True for the generation the status describes, with every
    /// replica ready.
    pub fn is_ready(&self) -> bool {
        self.observed_generation == self.generation
            && self
                .ready
                .as_ref()
                .is_some_and(|(status, _)| status == "True")
            && self.ready_replicas == Some(self.replicas)
    }

    /// One line for a failure message.
    pub fn summary(&self) -> String {
        format!(
            "{} generation {:?} observed {:?}, Ready {:?}, {:?}/{} replicas ready",
            self.name,
            self.generation,
            self.observed_generation,
            self.ready,
            self.ready_replicas,
            self.replicas
        )
    }
}

/// `tenant-<name>`, where the operator puts everything of one tenant.
pub fn namespace(tenant: &str) -> String {
    format!("tenant-{tenant}")
}

/// `examples/database-servers.yaml` with `${PGn_PORT}`, `${PGn_USER}` and `${PGn_PASSWORD}`
/// replaced from the cluster's servers, as `envsubst` would.
fn fill_placeholders(manifest: &str, cluster: &Cluster) -> String {
    let mut out = manifest.to_string();
    for pg in cluster.servers() {
        let n = pg.name.trim_start_matches("pg-");
        for (key, value) in [
            ("PORT", pg.port.to_string()),
            ("USER", pg.user.clone()),
            ("PASSWORD", pg.password.clone()),
        ] {
            out = out.replace(&format!("${{PG{n}_{key}}}"), &value);
        }
    }
    assert!(!out.contains("${"), "a placeholder is left:\n{out}");
    out
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}
