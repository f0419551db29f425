//! The operator against a real Kubernetes 1.20 control plane (`e2e/cluster/`): the Helm chart
//! rendered by Helm's engine and applied (CRDs, RBAC, ServiceAccount, Deployment), the
//! example manifests applied with kubectl, the operator binary running as the chart runs it
//! (with the token of the chart's ServiceAccount, so with exactly the chart's RBAC), and the
//! two PostgreSQL servers of the cluster holding the tenants' databases.
//!
//! One cluster serves the whole test; the scenarios run in a fixed order, each starting
//! from where the previous one left the tenants, and print how long they took. Each
//! scenario is a method of [`Suite`], the fixture kept here; the modules group them by
//! what they check. The test is skipped only when the Kubernetes binaries cannot be built
//! on this machine.

mod deletion;
mod drift;
mod isolation;
mod leader;
mod outage;
mod pause;
mod postgres;
mod rbac;
mod reading;
mod rotation;
mod secrets;
mod setup;
mod wait;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use boxoffice_e2e::chart::{install, OPERATOR_NAMESPACE, RELEASE};
use boxoffice_e2e::cluster::{Cluster, ClusterPg, OperatorProcess};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use crate::secrets::SeenSecrets;

const SHOP_IMAGE: &str = "registry.local/boxoffice/ticketing-service:test";
const TENANTS: [&str; 3] = ["devoxx", "jfokus", "voxxed-zurich"];
const NODES: [&str; 3] = ["node-1", "node-2", "node-3"];
const POLL: Duration = Duration::from_millis(250);
/// SQLSTATE of a failed password check.
const BAD_PASSWORD: &str = "28P01";
/// SQLSTATE of a missing privilege (here: `CONNECT` on another tenant's database).
const NO_PRIVILEGE: &str = "42501";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn operator_on_a_local_control_plane() {
    let started = Instant::now();
    if let Err(e) = tokio::task::block_in_place(Cluster::build) {
        eprintln!(
            "SKIPPED operator_on_a_local_control_plane: the Kubernetes binaries cannot be \
             built here (e2e/cluster/build.sh): {e:#}"
        );
        return;
    }
    let cluster = tokio::task::block_in_place(Cluster::start).expect("start the control plane");
    report("control plane up (up.sh)", started.elapsed());

    let suite = Suite::start(cluster).await;
    step(&suite, "1 ready", suite.tenants_become_ready()).await;
    step(&suite, "2 spread", suite.pods_spread_over_nodes()).await;
    step(&suite, "3 credentials", suite.credentials_isolated()).await;
    step(&suite, "4 servers", suite.servers_shared()).await;
    step(&suite, "5 drift", suite.drift_corrected()).await;
    step(&suite, "6 steady", suite.steady_state_is_quiet()).await;
    step(&suite, "7 rotation", suite.credentials_rotate()).await;
    step(&suite, "8 outage", suite.outage_contained()).await;
    step(&suite, "9 deletion", suite.deletion_policies()).await;
    step(&suite, "10 pause", suite.pause_holds_writes()).await;
    step(&suite, "11 leader", suite.leader_hands_over()).await;
    step(&suite, "12 forbidden", suite.forbidden_step_named()).await;
    step(&suite, "13 no secret in logs", suite.no_secret_in_logs()).await;
    drop(suite);
    report("whole test, cluster stopped", started.elapsed());
}

/// The running cluster, the operator replicas and an API client. Fields drop in order: the
/// operators stop before the cluster goes.
struct Suite {
    /// The replica that leads: the scenarios read its metrics.
    operator: Mutex<OperatorProcess>,
    /// Replicas started besides it, standing by or stopped; kept for their logs.
    replicas: Mutex<Vec<OperatorProcess>>,
    /// Every secret value read from the cluster so far.
    secrets: Mutex<SeenSecrets>,
    client: Client,
    cluster: Cluster,
    /// When the example Tenants were applied.
    applied: Instant,
    /// The chart as rendered for this cluster (CRDs included).
    chart: String,
}

impl Suite {
    /// Renders the chart and applies it (CRDs, RBAC, ServiceAccount, the operator's
    /// Deployment), applies the DatabaseServers (placeholders filled from the cluster's
    /// `pg-N.env`) and the three example Tenants with kubectl, then starts the operator with
    /// the token of the chart's ServiceAccount.
    async fn start(mut cluster: Cluster) -> Suite {
        let started = Instant::now();
        let (chart, applied) = tokio::task::block_in_place(|| install(&mut cluster, SHOP_IMAGE))
            .unwrap_or_else(|e| panic!("install the chart: {e:#}"));
        println!(
            "[cluster]   {}",
            applied.trim().replace('\n', "\n[cluster]   ")
        );
        report("chart rendered and applied", started.elapsed());

        let servers = std::fs::read_to_string(repo().join("examples/database-servers.yaml"))
            .expect("read examples/database-servers.yaml");
        let servers = fill_placeholders(&servers, cluster.servers());
        cluster
            .kubectl_stdin(&["apply", "-f", "-"], &servers)
            .expect("apply database servers");
        kubectl(
            &cluster,
            &["apply", "-f", path_str(&repo().join("examples/tenants"))],
        );
        let applied = Instant::now();

        let operator = tokio::task::block_in_place(|| {
            OperatorProcess::start(&cluster, operator_binary(), SHOP_IMAGE, &[])
        })
        .expect("start the operator");
        let client = admin_client(cluster.kubeconfig()).await;
        report("operator started and connected", applied.elapsed());
        Suite {
            operator: Mutex::new(operator),
            replicas: Mutex::new(Vec::new()),
            secrets: Mutex::new(SeenSecrets::default()),
            client,
            cluster,
            applied,
            chart,
        }
    }

    /// The leading replica. Never held across an `.await`.
    fn operator(&self) -> MutexGuard<'_, OperatorProcess> {
        self.operator.lock().expect("operator lock")
    }

    /// The other replicas. Never held across an `.await`.
    fn replicas(&self) -> MutexGuard<'_, Vec<OperatorProcess>> {
        self.replicas.lock().expect("replicas lock")
    }
}

/// Runs one scenario of `suite`, then notes the secrets the cluster holds at its end.
async fn step(suite: &Suite, name: &str, scenario: impl Future<Output = ()>) {
    let started = Instant::now();
    println!("[cluster] {name} ...");
    scenario.await;
    let took = started.elapsed();
    suite.remember_secrets().await;
    report(&format!("{name}: passed"), took);
}

fn operator_binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_boxoffice-operator"))
}

async fn admin_client(kubeconfig: &Path) -> Client {
    let kubeconfig = Kubeconfig::read_from(kubeconfig).expect("read kubeconfig");
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("kubeconfig");
    Client::try_from(config).expect("API client")
}

/// `examples/database-servers.yaml` with `${PGn_PORT}`, `${PGn_USER}`, `${PGn_PASSWORD}`
/// filled in from the cluster's servers.
fn fill_placeholders(manifest: &str, servers: &[ClusterPg]) -> String {
    let mut out = manifest.to_string();
    for pg in servers {
        let n = pg.name.trim_start_matches("pg-");
        out = out
            .replace(&format!("${{PG{n}_PORT}}"), &pg.port.to_string())
            .replace(&format!("${{PG{n}_USER}}"), &pg.user)
            .replace(&format!("${{PG{n}_PASSWORD}}"), &pg.password);
    }
    assert!(
        !out.contains("${"),
        "a placeholder is left unfilled:\n{out}"
    );
    out
}

fn kubectl(cluster: &Cluster, args: &[&str]) -> String {
    cluster.kubectl(args).unwrap_or_else(|e| panic!("{e:#}"))
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn unix_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos()
}

fn report(what: &str, took: Duration) {
    println!("[cluster] {what} ({:.1} s)", took.as_secs_f64());
}
