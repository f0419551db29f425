//! The local Kubernetes control plane of `e2e/cluster/` and the operator running against it.
//!
//! [`Cluster::start`] runs `up.sh` with `BOXOFFICE_RUN` set to a fresh directory under
//! `/tmp`, so it never meets a cluster someone else started, and reads the env files it
//! writes. Dropping the [`Cluster`] runs `down.sh`, which stops every process of that
//! cluster by its recorded pid. [`OperatorProcess`] runs `boxoffice-operator` as a child
//! process with the cluster's admin kubeconfig, or the one [`Cluster::run_operators_as`]
//! set (the chart's ServiceAccount, say); it is stopped when dropped. Several
//! replicas can run side by side, each with its own log and metrics port.
//!
//! After a failure (a panicking test) the component logs and the operators' logs are kept
//! in the run directory, whose path is printed.

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};

use crate::net::free_port;

/// Where `up.sh`, `down.sh`, `build.sh` and `pg.sh` live.
fn scripts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("cluster")
}

/// One PostgreSQL server of the cluster, as its `pg-N.env` file describes it.
#[derive(Debug, Clone)]
pub struct ClusterPg {
    /// `pg-1` or `pg-2`, the name of its DatabaseServer in the examples too.
    pub name: String,
    pub host: String,
    pub port: u16,
    /// The admin role (`CREATEROLE`, `CREATEDB`).
    pub user: String,
    pub password: String,
    /// Where the superuser `postgres` logs in without a password.
    pub socket_dir: PathBuf,
}

/// A running local control plane, stopped with `down.sh` when dropped.
pub struct Cluster {
    run_dir: PathBuf,
    kubeconfig: PathBuf,
    kubectl: PathBuf,
    servers: Vec<ClusterPg>,
    /// What operators started from now on connect with; the admin kubeconfig when `None`.
    operator_kubeconfig: Option<PathBuf>,
}

impl Cluster {
    /// Builds the Kubernetes binaries, or finds them cached (`build.sh`; about 5 minutes
    /// when cold, a second when cached). An error means this machine cannot have the
    /// control plane at all.
    pub fn build() -> Result<PathBuf> {
        let out = Command::new(scripts_dir().join("build.sh"))
            .stdin(Stdio::null())
            .output()
            .context("failed to run e2e/cluster/build.sh")?;
        if !out.status.success() {
            bail!(
                "build.sh failed ({}): {}",
                out.status,
                tail(&out.stderr, 20)
            );
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        let bin = PathBuf::from(stdout.lines().last().unwrap_or_default().trim());
        if !bin.join("kubectl").is_file() {
            bail!("build.sh printed no bin directory with kubectl: {stdout:?}");
        }
        Ok(bin)
    }

    /// Starts a fresh cluster (`up.sh`, about 10 s) in a new directory under `/tmp`.
    pub fn start() -> Result<Cluster> {
        let run_dir = unique_run_dir()?;
        // Until the Cluster exists, nothing else would stop a half-started one.
        let stop_on_error = |e: anyhow::Error| {
            let _ = run_script(&run_dir, "down.sh", &[]);
            e
        };
        let out = run_script(&run_dir, "up.sh", &[]).map_err(stop_on_error)?;
        if !out.status.success() {
            bail!(
                "up.sh failed ({}); logs in {}: {}",
                out.status,
                run_dir.join("cluster-failed-logs").display(),
                tail(&out.stderr, 30)
            );
        }
        let state = run_dir.join("cluster");
        let cluster_env = read_env_file(&state.join("cluster.env")).map_err(stop_on_error)?;
        let get = |key: &str| -> Result<PathBuf> {
            Ok(PathBuf::from(
                cluster_env.get(key).with_context(|| format!("no {key}"))?,
            ))
        };
        let kubeconfig = get("KUBECONFIG").map_err(stop_on_error)?;
        let kubectl = get("KUBECTL").map_err(stop_on_error)?;
        let mut servers = Vec::new();
        for name in ["pg-1", "pg-2"] {
            let pg = read_pg_env(name, &state.join(format!("{name}.env")));
            servers.push(pg.map_err(stop_on_error)?);
        }
        Ok(Cluster {
            run_dir,
            kubeconfig,
            kubectl,
            servers,
            operator_kubeconfig: None,
        })
    }

    /// The admin kubeconfig (`system:masters`).
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// Operators started from now on connect with `kubeconfig` instead of as admin.
    pub fn run_operators_as(&mut self, kubeconfig: PathBuf) {
        self.operator_kubeconfig = Some(kubeconfig);
    }

    /// The kubeconfig operators connect with.
    pub fn operator_kubeconfig(&self) -> &Path {
        self.operator_kubeconfig
            .as_deref()
            .unwrap_or(&self.kubeconfig)
    }

    /// `cluster.env`: `KUBE_APISERVER`, `KUBE_CA_FILE`, `KUBECTL` and the rest.
    pub fn env(&self) -> Result<BTreeMap<String, String>> {
        read_env_file(&self.run_dir.join("cluster/cluster.env"))
    }

    /// `BOXOFFICE_RUN` of this cluster; its state is in `cluster/` below it.
    pub fn run_dir(&self) -> &Path {
        &self.run_dir
    }

    /// The PostgreSQL servers, `pg-1` then `pg-2`.
    pub fn servers(&self) -> &[ClusterPg] {
        &self.servers
    }

    /// The PostgreSQL server `name` (`pg-1`, `pg-2`).
    pub fn pg(&self, name: &str) -> &ClusterPg {
        self.servers
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("the cluster has no PostgreSQL server {name}"))
    }

    /// Runs the cluster's `kubectl` (`$KUBECTL`, matching the server) as admin and returns
    /// its stdout; a failure carries its stderr.
    pub fn kubectl(&self, args: &[&str]) -> Result<String> {
        self.kubectl_with_stdin(args, None)
    }

    /// Like [`Cluster::kubectl`], with `input` on stdin (for `apply -f -`).
    pub fn kubectl_stdin(&self, args: &[&str], input: &str) -> Result<String> {
        self.kubectl_with_stdin(args, Some(input))
    }

    fn kubectl_with_stdin(&self, args: &[&str], input: Option<&str>) -> Result<String> {
        let mut cmd = Command::new(&self.kubectl);
        cmd.arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--request-timeout=30s")
            .args(args)
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().context("failed to run kubectl")?;
        if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
            stdin
                .write_all(input.as_bytes())
                .context("failed to write kubectl's stdin")?;
        }
        let out = child
            .wait_with_output()
            .context("failed to wait for kubectl")?;
        if !out.status.success() {
            bail!(
                "kubectl {} failed ({}): {}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Stops PostgreSQL server `name` (fast shutdown) with `pg.sh`, keeping its data.
    pub fn stop_pg(&self, name: &str) -> Result<()> {
        self.pg_script("stop", name)
    }

    /// Starts PostgreSQL server `name` again on the same port, data and credentials.
    pub fn start_pg(&self, name: &str) -> Result<()> {
        self.pg_script("start", name)
    }

    fn pg_script(&self, command: &str, name: &str) -> Result<()> {
        let out = run_script(&self.run_dir, "pg.sh", &[command, name])?;
        if !out.status.success() {
            bail!(
                "pg.sh {command} {name} failed ({}): {}",
                out.status,
                tail(&out.stderr, 20)
            );
        }
        Ok(())
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let failed = std::thread::panicking();
        if failed {
            // down.sh removes the state directory, logs included.
            let logs = self.run_dir.join("cluster/logs");
            let kept = self.run_dir.join("cluster-logs");
            let _ = Command::new("cp").arg("-r").arg(&logs).arg(&kept).status();
        }
        match run_script(&self.run_dir, "down.sh", &[]) {
            Ok(out) if out.status.success() => {}
            Ok(out) => eprintln!("down.sh failed ({}): {}", out.status, tail(&out.stderr, 20)),
            Err(e) => eprintln!("down.sh did not run: {e:#}"),
        }
        if failed {
            eprintln!(
                "local control plane logs kept in {}",
                self.run_dir.display()
            );
        } else if self.run_dir.join("cluster").exists() {
            eprintln!(
                "down.sh left {} behind",
                self.run_dir.join("cluster").display()
            );
        } else {
            let _ = fs::remove_dir_all(&self.run_dir);
        }
    }
}

/// `boxoffice-operator run` as a child process of the test, with the cluster's operator
/// kubeconfig ([`Cluster::operator_kubeconfig`]).
pub struct OperatorProcess {
    child: Option<Child>,
    log: PathBuf,
    metrics_addr: SocketAddr,
}

impl OperatorProcess {
    /// Starts `binary run --shop-image <shop_image> --metrics-addr 127.0.0.1:<free port>`
    /// plus `extra_args`, logging (JSON) to `operator.log` in the cluster's run directory,
    /// and waits until `/readyz` answers 200 (it is connected to the API server).
    pub fn start(
        cluster: &Cluster,
        binary: &Path,
        shop_image: &str,
        extra_args: &[&str],
    ) -> Result<OperatorProcess> {
        Self::start_named(cluster, "operator", binary, shop_image, extra_args)
    }

    /// Like [`OperatorProcess::start`], logging to `<name>.log` instead: one name per
    /// replica, so replicas running side by side write separate logs.
    pub fn start_named(
        cluster: &Cluster,
        name: &str,
        binary: &Path,
        shop_image: &str,
        extra_args: &[&str],
    ) -> Result<OperatorProcess> {
        let log = cluster.run_dir().join(format!("{name}.log"));
        let file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)?;
        let port = free_port()?;
        let metrics_addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let child = Command::new(binary)
            .arg("run")
            .args(["--shop-image", shop_image])
            .arg("--metrics-addr")
            .arg(metrics_addr.to_string())
            .args(extra_args)
            .env("KUBECONFIG", cluster.operator_kubeconfig())
            .env("RUST_LOG", "info")
            .env("LOG_FORMAT", "json")
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file)
            .spawn()
            .with_context(|| format!("failed to start {}", binary.display()))?;
        let mut operator = OperatorProcess {
            child: Some(child),
            log,
            metrics_addr,
        };

        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if let Some(child) = operator.child.as_mut() {
                if let Some(status) = child.try_wait()? {
                    operator.child = None;
                    bail!(
                        "the operator exited with {status}: {}",
                        operator.log_tail(20)
                    );
                }
            }
            if matches!(http_get(metrics_addr, "/readyz"), Ok((200, _))) {
                return Ok(operator);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        bail!(
            "the operator was not ready within 30 s: {}",
            operator.log_tail(20)
        )
    }

    /// The process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn metrics_addr(&self) -> SocketAddr {
        self.metrics_addr
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The last `lines` lines of the operator's log.
    pub fn log_tail(&self, lines: usize) -> String {
        tail(&fs::read(&self.log).unwrap_or_default(), lines)
    }

    /// The body of `/metrics`.
    pub fn metrics(&self) -> Result<String> {
        match http_get(self.metrics_addr, "/metrics")? {
            (200, body) => Ok(body),
            (status, body) => bail!("/metrics answered {status}: {body}"),
        }
    }

    /// `boxoffice_operator_writes_total`, summed over every kind.
    pub fn writes_total(&self) -> Result<f64> {
        Ok(metric_sum(
            &self.metrics()?,
            "boxoffice_operator_writes_total",
        ))
    }

    /// Whether the process still runs.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// SIGTERM, then SIGKILL after 10 s; how it exited, or `None` when it was already
    /// stopped.
    pub fn stop(&mut self) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        child.wait().ok()
    }
}

impl Drop for OperatorProcess {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            eprintln!(
                "operator log: {}\n{}",
                self.log.display(),
                self.log_tail(40)
            );
        }
    }
}

/// The sum of every sample of metric `name` in a Prometheus text exposition.
pub fn metric_sum(exposition: &str, name: &str) -> f64 {
    exposition
        .lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// A plain HTTP/1.0 GET on loopback: status and body.
fn http_get(addr: SocketAddr, path: &str) -> Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .context("no end of HTTP headers")?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("no HTTP status")?;
    Ok((status, body.to_string()))
}

/// Runs one of the cluster scripts with `BOXOFFICE_RUN=run_dir`.
fn run_script(run_dir: &Path, script: &str, args: &[&str]) -> Result<Output> {
    Command::new(scripts_dir().join(script))
        .args(args)
        .env("BOXOFFICE_RUN", run_dir)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("failed to run e2e/cluster/{script}"))
}

/// A new directory under `/tmp` for one cluster. Mode 0755: the PostgreSQL servers run as
/// an unprivileged user that must reach their data below it.
fn unique_run_dir() -> Result<PathBuf> {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let dir = PathBuf::from(format!(
        "/tmp/boxoffice-cluster-test-{}-{:x}",
        std::process::id(),
        nanos
    ));
    fs::DirBuilder::new()
        .mode(0o755)
        .create(&dir)
        .with_context(|| format!("failed to create {}", dir.display()))?;
    // The umask may have taken bits away.
    fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
    Ok(dir)
}

/// `KEY=VALUE` lines of a shell-sourceable env file (no quoting is used in them).
fn read_env_file(path: &Path) -> Result<BTreeMap<String, String>> {
    let text =
        fs::read_to_string(path).with_context(|| format!("failed to read {}", path.display()))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect())
}

fn read_pg_env(name: &str, path: &Path) -> Result<ClusterPg> {
    let env = read_env_file(path)?;
    let get = |key: &str| {
        env.get(key)
            .cloned()
            .with_context(|| format!("no {key} in {}", path.display()))
    };
    Ok(ClusterPg {
        name: name.to_string(),
        host: get("PGHOST")?,
        port: get("PGPORT")?.parse().context("PGPORT")?,
        user: get("PGUSER")?,
        password: get("PGPASSWORD")?,
        socket_dir: PathBuf::from(get("PG_SOCKET_DIR")?),
    })
}

fn tail(bytes: &[u8], lines: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_every_kind_of_a_metric() {
        let text = "# HELP boxoffice_operator_writes Writes\n\
                    boxoffice_operator_writes_total{kind=\"Secret\"} 6\n\
                    boxoffice_operator_writes_total{kind=\"Tenant/status\"} 10\n\
                    boxoffice_operator_writes_totally_else 100\n\
                    boxoffice_operator_reconciles_total{controller=\"tenant\"} 3\n";
        assert_eq!(metric_sum(text, "boxoffice_operator_writes_total"), 16.0);
    }

    #[test]
    fn reads_shell_env_files() {
        let dir = std::env::temp_dir().join(format!("boxoffice-env-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let file = dir.join("pg-1.env");
        fs::write(
            &file,
            "# comment\nPGHOST=127.0.0.1\nPGPORT=25432\nPGUSER=boxoffice_admin\n\
             PGPASSWORD=abc=def\nPG_SOCKET_DIR=/tmp/x\n",
        )
        .unwrap();
        let pg = read_pg_env("pg-1", &file).unwrap();
        fs::remove_dir_all(&dir).unwrap();
        assert_eq!(pg.port, 25432);
        assert_eq!(pg.password, "abc=def");
        assert_eq!(pg.socket_dir, PathBuf::from("/tmp/x"));
    }
}
