//! `ticketing-service` processes started for a test or a benchmark.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::net::free_port;

/// A binary of this workspace (`ticketing-service`, `boxoffice-operator`) for a test of
/// another package, which Cargo does not point to: it sits in `target/<profile>/`, next to
/// the running test's own `deps/` folder. Panics, saying how to build it, when it is not
/// there.
pub fn workspace_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test binary sits in target/<profile>/deps");
    let path = profile.join(name);
    assert!(
        path.is_file(),
        "{} is missing: `cargo test --workspace` builds it, or run `cargo build --bins` first",
        path.display()
    );
    path
}

/// One running shop process on a free loopback port.
pub struct ShopProcess {
    child: Option<Child>,
    port: u16,
    log: PathBuf,
}

/// What a shop process is started with.
#[derive(Debug, Clone)]
pub struct ShopConfig {
    pub binary: PathBuf,
    pub database_url: String,
    pub admin_token: String,
    pub pool_size: u32,
    /// Extra environment variables, e.g. `RUST_LOG`.
    pub env: Vec<(String, String)>,
}

impl ShopConfig {
    pub fn new(binary: impl Into<PathBuf>, database_url: &str, admin_token: &str) -> Self {
        ShopConfig {
            binary: binary.into(),
            database_url: database_url.to_string(),
            admin_token: admin_token.to_string(),
            pool_size: 10,
            env: Vec::new(),
        }
    }
}

impl ShopProcess {
    /// Runs `ticketing-service migrate` once and waits for it.
    pub fn migrate(config: &ShopConfig) -> Result<()> {
        let out = Command::new(&config.binary)
            .arg("migrate")
            .env("DATABASE_URL", &config.database_url)
            .env("RUST_LOG", "warn")
            .output()
            .context("failed to run ticketing-service migrate")?;
        if !out.status.success() {
            bail!("migrate failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(())
    }

    /// Starts `ticketing-service serve` and waits until `/readyz` answers 200.
    pub fn start(config: &ShopConfig, log_dir: &Path) -> Result<ShopProcess> {
        fs::create_dir_all(log_dir)?;
        let port = free_port()?;
        let log = log_dir.join(format!("shop-{port}.log"));
        let file = fs::File::create(&log)?;
        let mut cmd = Command::new(&config.binary);
        cmd.arg("serve")
            .env("DATABASE_URL", &config.database_url)
            .env("ADMIN_TOKEN", &config.admin_token)
            .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("DB_POOL_SIZE", config.pool_size.to_string())
            .env("RUST_LOG", "info")
            .envs(config.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file);
        let child = cmd.spawn().context("failed to start ticketing-service")?;
        let mut shop = ShopProcess {
            child: Some(child),
            port,
            log,
        };
        shop.wait_ready(Duration::from_secs(30))?;
        Ok(shop)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Kills the process at once (SIGKILL), as a crash or an OOM kill would, and reaps it.
    pub fn kill(&mut self) -> Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill().context("failed to kill ticketing-service")?;
            child.wait()?;
        }
        Ok(())
    }

    /// Sends SIGTERM and waits for a graceful exit; returns whether it exited cleanly.
    pub fn terminate(&mut self, deadline: Duration) -> Result<bool> {
        let Some(mut child) = self.child.take() else {
            return Ok(true);
        };
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let start = Instant::now();
        while start.elapsed() < deadline {
            if let Some(status) = child.try_wait()? {
                return Ok(status.success());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        child.kill()?;
        child.wait()?;
        Ok(false)
    }

    fn wait_ready(&mut self, deadline: Duration) -> Result<()> {
        let url = format!("{}/readyz", self.base_url());
        let start = Instant::now();
        while start.elapsed() < deadline {
            if !self.is_running() {
                bail!("ticketing-service exited early:\n{}", self.log());
            }
            if let Ok(resp) = blocking_get(&url) {
                if resp == 200 {
                    return Ok(());
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!(
            "ticketing-service not ready within {deadline:?}:\n{}",
            self.log()
        )
    }
}

impl Drop for ShopProcess {
    fn drop(&mut self) {
        let _ = self.terminate(Duration::from_secs(10));
    }
}

/// A minimal HTTP/1.0 GET returning the status code, so readiness checks need no runtime.
fn blocking_get(url: &str) -> Result<u16> {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").context("only http URLs")?;
    let (host, path) = rest.split_once('/').context("URL without path")?;
    let mut stream = std::net::TcpStream::connect(host)?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    write!(stream, "GET /{path} HTTP/1.0\r\nHost: {host}\r\n\r\n")?;
    let mut buf = String::new();
    stream.read_to_string(&mut buf)?;
    let status = buf.split_whitespace().nth(1).context("no status line")?;
    Ok(status.parse()?)
}
