//! The operator's Helm chart (`charts/boxoffice-operator`), rendered, linted and validated by
//! Helm's own engine, and installed on the local control plane with its own RBAC.
//!
//! Helm's Go SDK comes from PyPI (`helm-python-sdk`, which bundles it as a shared library)
//! in a virtualenv that `e2e/scripts/helm-venv.sh` makes once under `BOXOFFICE_CACHE`;
//! `e2e/scripts/helm.py` drives it. [`service_account_kubeconfig`] turns the token of the
//! chart's ServiceAccount into a kubeconfig, so the operator runs as the chart would run it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::cluster::Cluster;

/// The release name the suites install the chart as: its ServiceAccount, ClusterRole and
/// Deployment are named so.
pub const RELEASE: &str = "boxoffice-operator";
/// The namespace the suites install the chart into.
pub const OPERATOR_NAMESPACE: &str = "boxoffice-system";

/// Renders the chart with `shopImage`, applies it to `cluster` (CRDs, RBAC, ServiceAccount,
/// the operator's Deployment), waits for the CRDs and the rollout, and makes every operator
/// the cluster starts from now on run with the chart's ServiceAccount token. Returns the
/// rendered manifests and what `kubectl apply` printed.
pub fn install(cluster: &mut Cluster, shop_image: &str) -> Result<(String, String)> {
    let helm = Helm::ensure()?;
    let values = serde_json::json!({ "shopImage": shop_image });
    let chart = helm.render(&chart_dir(), RELEASE, OPERATOR_NAMESPACE, &values)?;
    cluster.kubectl(&["create", "namespace", OPERATOR_NAMESPACE])?;
    let applied = cluster
        .kubectl_stdin(&["apply", "-f", "-"], &chart)
        .context("apply the rendered chart")?;
    cluster.kubectl(&[
        "wait",
        "--for=condition=established",
        "--timeout=60s",
        "crd/tenants.boxoffice.dev",
        "crd/databaseservers.boxoffice.dev",
    ])?;
    // The API server admits the chart's pods (the local kubelets run no container).
    cluster.kubectl(&[
        "rollout",
        "status",
        &format!("deployment/{RELEASE}"),
        "-n",
        OPERATOR_NAMESPACE,
        "--timeout=60s",
    ])?;
    let kubeconfig = service_account_kubeconfig(cluster, OPERATOR_NAMESPACE, RELEASE)?;
    cluster.run_operators_as(kubeconfig);
    Ok((chart, applied))
}

/// `charts/boxoffice-operator` of this checkout.
pub fn chart_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../charts/boxoffice-operator")
}

fn scripts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts")
}

/// What one run of `helm.py` ended with.
#[derive(Debug)]
pub struct Outcome {
    /// 0 fine, 1 lint findings or a render error, 2 values rejected by the schema.
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    pub fn ok(&self) -> bool {
        self.code == 0
    }
}

/// Helm's engine, through the virtualenv's python.
pub struct Helm {
    python: PathBuf,
}

impl Helm {
    /// Makes the virtualenv when it is missing (once, about 15 s) and finds its python.
    pub fn ensure() -> Result<Helm> {
        let out = Command::new(scripts_dir().join("helm-venv.sh"))
            .stdin(Stdio::null())
            .output()
            .context("failed to run e2e/scripts/helm-venv.sh")?;
        if !out.status.success() {
            bail!(
                "helm-venv.sh failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        let python = PathBuf::from(stdout.lines().last().unwrap_or_default().trim());
        if !python.is_file() {
            bail!("helm-venv.sh printed no python: {stdout:?}");
        }
        Ok(Helm { python })
    }

    /// Strict `helm lint` of `chart` with `values` (JSON) over its defaults, for the
    /// Kubernetes version of the local control plane.
    pub fn lint(&self, chart: &Path, values: &serde_json::Value) -> Result<Outcome> {
        self.run(&["lint", path_str(chart)?, "--values", &values.to_string()])
    }

    /// `values` (JSON, merged over the chart's defaults) against `values.schema.json`.
    pub fn validate(&self, chart: &Path, values: &serde_json::Value) -> Result<Outcome> {
        self.run(&[
            "validate",
            path_str(chart)?,
            "--values",
            &values.to_string(),
        ])
    }

    /// The manifests `helm template --include-crds` would print for release `name` in
    /// `namespace`; an error when the values are rejected or a template fails.
    pub fn render(
        &self,
        chart: &Path,
        name: &str,
        namespace: &str,
        values: &serde_json::Value,
    ) -> Result<String> {
        let values = values.to_string();
        let args = [
            "render",
            path_str(chart)?,
            "--name",
            name,
            "--namespace",
            namespace,
            "--values",
            &values,
            "--include-crds",
        ];
        let out = self.run(&args)?;
        if !out.ok() {
            bail!("rendering failed ({}): {}", out.code, out.stderr.trim());
        }
        Ok(out.stdout)
    }

    fn run(&self, args: &[&str]) -> Result<Outcome> {
        let out = Command::new(&self.python)
            .arg(scripts_dir().join("helm.py"))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .context("failed to run e2e/scripts/helm.py")?;
        Ok(Outcome {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }
}

/// Writes a kubeconfig for ServiceAccount `namespace/name` of `cluster` (its token Secret,
/// which the token controller makes on Kubernetes 1.20, and the API server's CA) into the
/// cluster's run directory, and returns its path.
pub fn service_account_kubeconfig(
    cluster: &Cluster,
    namespace: &str,
    name: &str,
) -> Result<PathBuf> {
    let started = Instant::now();
    let secret = loop {
        let secret = cluster.kubectl(&[
            "get",
            "serviceaccount",
            name,
            "-n",
            namespace,
            "-o",
            "jsonpath={.secrets[0].name}",
        ])?;
        if !secret.trim().is_empty() {
            break secret.trim().to_string();
        }
        if started.elapsed() > Duration::from_secs(30) {
            bail!("ServiceAccount {namespace}/{name} got no token Secret in 30 s");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let token = cluster.kubectl(&[
        "get",
        "secret",
        &secret,
        "-n",
        namespace,
        "-o",
        "go-template={{.data.token | base64decode}}",
    ])?;
    if token.trim().is_empty() {
        bail!("Secret {namespace}/{secret} holds no token");
    }
    let env = cluster.env()?;
    let server = env.get("KUBE_APISERVER").context("no KUBE_APISERVER")?;
    let ca = env.get("KUBE_CA_FILE").context("no KUBE_CA_FILE")?;
    let user = format!("system:serviceaccount:{namespace}:{name}");
    let kubeconfig = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: boxoffice-local\n  cluster:\n    \
         server: {server}\n    certificate-authority: {ca}\nusers:\n- name: {user}\n  user:\n    \
         token: {token}\ncontexts:\n- name: boxoffice-local\n  context:\n    cluster: \
         boxoffice-local\n    user: {user}\ncurrent-context: boxoffice-local\n",
        token = token.trim()
    );
    let path = cluster
        .run_dir()
        .join(format!("{namespace}-{name}.kubeconfig"));
    write_private(&path, &kubeconfig)?;
    Ok(path)
}

/// Writes `text` to a new file only its owner may read.
fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("failed to write {}", path.display()))?;
    file.write_all(text.as_bytes())?;
    Ok(())
}

fn path_str(path: &Path) -> Result<&str> {
    path.to_str().context("a path that is not UTF-8")
}
