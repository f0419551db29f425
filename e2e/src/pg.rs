//! A throwaway PostgreSQL 15 server on a free loopback port.
//!
//! `initdb` refuses to run as root, so when the tests run as root (as CI does) the server
//! runs as the unprivileged user `nobody`, in a temporary directory that user owns. The
//! superuser `postgres` is trusted on loopback: this server exists only for one test run.
//! With [`PgOptions::password_auth`] every other role must log in with its SCRAM password,
//! as on a shared server; with [`PgOptions::tls`] the server also speaks TLS with a
//! certificate from a CA made for it ([`PgServer::ca_pem`]).

use std::fs;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::net::{free_port, wait_for_tcp};

/// Settings for a new server.
#[derive(Debug, Clone)]
pub struct PgOptions {
    pub max_connections: u32,
    /// `false` trades durability for speed, which is right for functional tests only.
    pub fsync: bool,
    /// Extra `-c name=value` settings.
    pub settings: Vec<(String, String)>,
    /// `false` (default): every role is trusted on loopback. `true`: only `postgres` is;
    /// every other role logs in with its password (`scram-sha-256`).
    pub password_auth: bool,
    /// `true`: TLS on, with a server certificate for `127.0.0.1` (not `localhost`, so
    /// host-name checks can be seen to fail) signed by a CA made for this server. Plain
    /// connections are still accepted.
    pub tls: bool,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            max_connections: 300,
            fsync: false,
            settings: Vec::new(),
            password_auth: false,
            tls: false,
        }
    }
}

/// A running (or stopped, see [`PgServer::stop`]) PostgreSQL server owned by this process.
pub struct PgServer {
    dir: PathBuf,
    port: u16,
    options: PgOptions,
    owner: Option<(u32, u32)>,
    child: Option<Child>,
}

impl PgServer {
    /// Runs `initdb` in a fresh temporary directory and starts the server.
    pub fn start() -> Result<PgServer> {
        Self::start_with(PgOptions::default())
    }

    pub fn start_with(options: PgOptions) -> Result<PgServer> {
        let dir = unique_temp_dir()?;
        let owner = unprivileged_owner()?;
        if let Some((uid, gid)) = owner {
            chown(&dir, uid, gid)?;
        }
        let mut initdb = Command::new(pg_bin("initdb"));
        initdb
            .args(["-D"])
            .arg(dir.join("data"))
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-instructions",
            ])
            .args(["--locale=C.UTF-8"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        drop_privileges(&mut initdb, owner);
        let out = initdb.output().context("failed to run initdb")?;
        if !out.status.success() {
            bail!("initdb failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        if options.password_auth {
            write_owned(&dir.join("data/pg_hba.conf"), PASSWORD_HBA, owner)?;
        }
        if options.tls {
            make_certificates(&dir, owner)?;
        }

        let mut server = PgServer {
            dir,
            port: 0,
            options,
            owner,
            child: None,
        };
        // A free port can be taken between the check and the bind; retry with another.
        for _ in 0..5 {
            server.port = free_port()?;
            if server.spawn().is_ok() {
                return Ok(server);
            }
        }
        bail!(
            "PostgreSQL did not start; see {}",
            server.log_path().display()
        )
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A URL for the superuser on database `db`.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{}", self.port, db)
    }

    /// Creates database `name` and returns its URL.
    pub fn create_database(&self, name: &str) -> Result<String> {
        self.psql("postgres", &format!("CREATE DATABASE \"{name}\""))?;
        Ok(self.url(name))
    }

    /// Runs SQL through `psql` and returns its unaligned output.
    pub fn psql(&self, db: &str, sql: &str) -> Result<String> {
        let out = Command::new(pg_bin("psql"))
            .args([
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
            ])
            .args([
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-d",
                db,
                "-c",
                sql,
            ])
            .output()
            .context("failed to run psql")?;
        if !out.status.success() {
            bail!("psql failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// Stops the server (fast shutdown: connections are cut), keeping its data.
    pub fn stop(&mut self) -> Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        signal(child.id(), "INT");
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            if child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        child.kill()?;
        child.wait()?;
        Ok(())
    }

    /// Starts a stopped server again on the same port and data.
    pub fn restart(&mut self) -> Result<()> {
        if self.child.is_some() {
            return Ok(());
        }
        self.spawn()
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.join("postgres.log")
    }

    /// The PEM of the CA that signed the server's certificate, when started with `tls`.
    pub fn ca_pem(&self) -> Option<String> {
        if !self.options.tls {
            return None;
        }
        fs::read_to_string(self.dir.join("tls/ca.crt")).ok()
    }

    fn spawn(&mut self) -> Result<()> {
        let log = fs::File::create(self.log_path())?;
        if let Some((uid, gid)) = self.owner {
            chown(&self.log_path(), uid, gid)?;
        }
        let mut cmd = Command::new(pg_bin("postgres"));
        cmd.arg("-D")
            .arg(self.dir.join("data"))
            .args(["-p", &self.port.to_string()])
            .args(["-c", "listen_addresses=127.0.0.1"])
            .arg("-c")
            .arg(format!("unix_socket_directories={}", self.dir.display()))
            .arg("-c")
            .arg(format!("max_connections={}", self.options.max_connections))
            .arg("-c")
            .arg(format!(
                "fsync={}",
                if self.options.fsync { "on" } else { "off" }
            ));
        if self.options.tls {
            let tls = self.dir.join("tls");
            cmd.args(["-c", "ssl=on"])
                .arg("-c")
                .arg(format!(
                    "ssl_cert_file={}",
                    tls.join("server.crt").display()
                ))
                .arg("-c")
                .arg(format!("ssl_key_file={}", tls.join("server.key").display()));
        }
        for (name, value) in &self.options.settings {
            cmd.arg("-c").arg(format!("{name}={value}"));
        }
        cmd.stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        drop_privileges(&mut cmd, self.owner);
        let mut child = cmd.spawn().context("failed to start postgres")?;
        let addr: SocketAddr = ([127, 0, 0, 1], self.port).into();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            if let Some(status) = child.try_wait()? {
                bail!(
                    "postgres exited with {status}; see {}",
                    self.log_path().display()
                );
            }
            if wait_for_tcp(addr, Duration::from_millis(100)) && self.accepts_queries() {
                self.child = Some(child);
                return Ok(());
            }
        }
        let _ = child.kill();
        bail!("postgres did not accept connections within 30 s")
    }

    fn accepts_queries(&self) -> bool {
        Command::new(pg_bin("pg_isready"))
            .args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string()])
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let _ = self.stop();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Loopback access when only the superuser is trusted: the harness's `psql` stays
/// password-less, every other role proves its password.
const PASSWORD_HBA: &str = "\
local all all trust
host all postgres 127.0.0.1/32 trust
host all all 127.0.0.1/32 scram-sha-256
";

/// A CA and a server certificate for `127.0.0.1` (only), in `<dir>/tls`, made
/// with the `openssl` program; the key is readable by the server's user only.
fn make_certificates(dir: &Path, owner: Option<(u32, u32)>) -> Result<()> {
    let tls = dir.join("tls");
    fs::create_dir_all(&tls)?;
    let openssl = |args: &[&str]| -> Result<()> {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(&tls)
            .stdin(Stdio::null())
            .output()
            .context("failed to run openssl")?;
        if !out.status.success() {
            bail!("openssl failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(())
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=boxoffice test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
    ])?;
    openssl(&[
        "req",
        "-new",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    ])?;
    fs::write(
        tls.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )?;
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "server.ext",
        "-out",
        "server.crt",
    ])?;
    let key = tls.join("server.key");
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600))?;
    if let Some((uid, gid)) = owner {
        chown(&tls, uid, gid)?;
        for file in ["server.crt", "server.key", "ca.crt"] {
            chown(&tls.join(file), uid, gid)?;
        }
    }
    Ok(())
}

fn write_owned(path: &Path, contents: &str, owner: Option<(u32, u32)>) -> Result<()> {
    fs::write(path, contents).with_context(|| format!("failed to write {}", path.display()))?;
    if let Some((uid, gid)) = owner {
        chown(path, uid, gid)?;
    }
    Ok(())
}

/// A PostgreSQL 15 program: `$PG_BIN/<name>`, by default from Debian's package.
pub fn pg_bin(name: &str) -> PathBuf {
    let dir = std::env::var("PG_BIN").unwrap_or_else(|_| "/usr/lib/postgresql/15/bin".into());
    Path::new(&dir).join(name)
}

fn unique_temp_dir() -> Result<PathBuf> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!(
        "boxoffice-pg-{}-{}-{:08x}",
        std::process::id(),
        n,
        rand::random::<u32>()
    ));
    fs::create_dir_all(&dir).with_context(|| format!("failed to create {}", dir.display()))?;
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))?;
    Ok(dir)
}

/// `Some((uid, gid))` of `nobody` when running as root, `None` otherwise.
fn unprivileged_owner() -> Result<Option<(u32, u32)>> {
    let out = Command::new("id")
        .arg("-u")
        .output()
        .context("failed to run id")?;
    if String::from_utf8_lossy(&out.stdout).trim() != "0" {
        return Ok(None);
    }
    let passwd = fs::read_to_string("/etc/passwd")?;
    let line = passwd
        .lines()
        .find(|l| l.starts_with("nobody:"))
        .context("running as root and no user `nobody` to run PostgreSQL as")?;
    let fields: Vec<&str> = line.split(':').collect();
    Ok(Some((fields[2].parse()?, fields[3].parse()?)))
}

fn drop_privileges(cmd: &mut Command, owner: Option<(u32, u32)>) {
    if let Some((uid, gid)) = owner {
        // std clears supplementary groups when it changes the uid of a child of root.
        cmd.uid(uid).gid(gid);
    }
}

fn chown(path: &Path, uid: u32, gid: u32) -> Result<()> {
    std::os::unix::fs::chown(path, Some(uid), Some(gid))
        .with_context(|| format!("failed to chown {}", path.display()))
}

fn signal(pid: u32, name: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status();
}
