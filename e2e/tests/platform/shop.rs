//! One tenant's shop: `ticketing-service` processes standing for the Deployment's pods,
//! started with what the operator's Secrets hold, and the organizer's admin API.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use boxoffice_e2e::service::{ShopConfig, ShopProcess};
use serde_json::{json, Value};

use super::kubectl::ShopSecrets;
use super::poll;
use super::traffic::Endpoints;

/// Connections per process. The operator sizes the role's connection limit for pools of
/// 10 in (replicas + 2) pods; 5 leaves room for the suite's own SQL and a surge process.
const POOL_SIZE: u32 = 5;

/// Seats of one category of an event, from the admin stats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryStats {
    pub slug: String,
    pub seats: i64,
    pub free: i64,
    pub held: i64,
}

pub struct TenantShop {
    pub tenant: String,
    /// The event the organizer created.
    pub event: String,
    /// The processes in rotation, as a Service would route to them.
    pub endpoints: Arc<Endpoints>,
    config: ShopConfig,
    processes: Vec<ShopProcess>,
    log_dir: PathBuf,
    http: reqwest::Client,
}

impl TenantShop {
    /// Runs `ticketing-service migrate` (the init container), then starts `processes`
    /// `serve` processes and waits until each is ready.
    pub fn start(
        tenant: &str,
        binary: &Path,
        secrets: &ShopSecrets,
        processes: usize,
        log_dir: &Path,
    ) -> TenantShop {
        let config = shop_config(binary, secrets);
        let started = Instant::now();
        ShopProcess::migrate(&config).unwrap_or_else(|e| panic!("{tenant}: {e:#}"));
        poll::report(&format!("{tenant}: migrations ran"), started.elapsed());
        let started = Instant::now();
        let processes: Vec<ShopProcess> = (0..processes)
            .map(|_| ShopProcess::start(&config, log_dir).unwrap_or_else(|e| panic!("{e:#}")))
            .collect();
        poll::report(
            &format!("{tenant}: {} shop processes ready", processes.len()),
            started.elapsed(),
        );
        TenantShop {
            tenant: tenant.to_string(),
            event: format!("{tenant}-flash"),
            endpoints: Endpoints::new(processes.iter().map(ShopProcess::base_url).collect()),
            config,
            processes,
            log_dir: log_dir.to_path_buf(),
            http: reqwest::Client::builder()
                .timeout(poll::secs(30))
                .build()
                .expect("HTTP client"),
        }
    }

    /// Base URLs of the running processes.
    pub fn urls(&self) -> Vec<String> {
        self.processes.iter().map(ShopProcess::base_url).collect()
    }

    /// Sends an admin request with `token` to the first process: status and JSON body.
    pub async fn admin_as(
        &self,
        token: Option<&str>,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let url = format!("{}{path}", self.urls()[0]);
        let mut request = self.http.request(method, &url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let resp = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// An admin request with the tenant's own token.
    pub async fn admin(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let token = self.config.admin_token.clone();
        let (status, body) = self
            .admin_as(Some(&token), method.clone(), path, body)
            .await;
        assert!(
            (200..300).contains(&status),
            "{}: {method} {path} answered {status}: {body}",
            self.tenant
        );
        body
    }

    /// Creates the tenant's event, on sale now, with `categories` (slug, seats).
    pub async fn create_event(&self, categories: &[(&str, i64)]) {
        let categories: Vec<Value> = categories
            .iter()
            .map(|(slug, seats)| {
                json!({"slug": slug, "name": slug, "price": "550.00", "seats": seats})
            })
            .collect();
        let body = json!({
            "slug": self.event,
            "name": format!("{} flash sale", self.tenant),
            "timezone": "Europe/Brussels",
            "currency": "EUR",
            "startsAt": "2030-10-05T09:00",
            "endsAt": "2030-10-09T18:00",
            "maxTicketsPerReservation": 10,
            "categories": categories,
        });
        self.admin(reqwest::Method::POST, "/admin/v1/events", Some(body))
            .await;
    }

    /// Adds `n` seats to `category` of the event.
    pub async fn add_seats(&self, category: &str, n: i64) {
        let path = format!(
            "/admin/v1/events/{}/categories/{category}/seats",
            self.event
        );
        self.admin(reqwest::Method::POST, &path, Some(json!({"add": n})))
            .await;
    }

    pub async fn stats(&self) -> Vec<CategoryStats> {
        let path = format!("/admin/v1/events/{}/stats", self.event);
        let body = self.admin(reqwest::Method::GET, &path, None).await;
        let categories = body["categories"].as_array().cloned().unwrap_or_default();
        categories
            .iter()
            .map(|c| CategoryStats {
                slug: c["slug"].as_str().unwrap_or_default().to_string(),
                seats: c["seats"].as_i64().unwrap_or(-1),
                free: c["free"].as_i64().unwrap_or(-1),
                held: c["held"].as_i64().unwrap_or(-1),
            })
            .collect()
    }

    /// Replaces every process by one started with `secrets`, one at a time as the
    /// Deployment's rolling update does (a surge of one, none unavailable): migrate, start
    /// the new process, put it in rotation, take the old one out, let its requests finish,
    /// stop it. Returns how long each replacement took.
    pub async fn rolling_restart(&mut self, secrets: &ShopSecrets) -> Vec<Duration> {
        self.config = shop_config(&self.config.binary, secrets);
        let mut took = Vec::new();
        for _ in 0..self.processes.len() {
            let started = Instant::now();
            let fresh = tokio::task::block_in_place(|| {
                ShopProcess::migrate(&self.config)?;
                ShopProcess::start(&self.config, &self.log_dir)
            })
            .unwrap_or_else(|e| panic!("{}: new process: {e:#}", self.tenant));
            self.endpoints.add(fresh.base_url());
            let mut old = self.processes.remove(0);
            self.endpoints.drain(&old.base_url()).await;
            let clean = tokio::task::block_in_place(|| old.terminate(poll::secs(30)));
            assert!(
                clean.unwrap_or(false),
                "{}: the old process did not exit cleanly on SIGTERM:\n{}",
                self.tenant,
                old.log()
            );
            self.processes.push(fresh);
            took.push(started.elapsed());
        }
        took
    }

    /// Whether every process still runs.
    pub fn all_running(&mut self) -> bool {
        self.processes.iter_mut().all(ShopProcess::is_running)
    }

    /// Every process's whole log, one after the other.
    pub fn logs(&self) -> String {
        self.processes
            .iter()
            .map(|p| format!("--- {}\n{}", p.base_url(), p.log()))
            .collect()
    }

    /// The last `lines` lines of each process's log, for a failure message.
    pub fn log_tails(&self, lines: usize) -> String {
        self.processes
            .iter()
            .map(|p| {
                let log = p.log();
                let all: Vec<&str> = log.lines().collect();
                let tail = all[all.len().saturating_sub(lines)..].join("\n");
                format!("--- {} (last {lines} lines)\n{tail}\n", p.base_url())
            })
            .collect()
    }

    /// SIGTERM to every process; returns the base URLs of those that did not exit with 0.
    pub fn stop(&mut self) -> Vec<String> {
        let mut unclean = Vec::new();
        for mut p in self.processes.drain(..) {
            if !tokio::task::block_in_place(|| p.terminate(poll::secs(30))).unwrap_or(false) {
                unclean.push(p.base_url());
            }
        }
        unclean
    }
}

/// What the Deployment gives the `serve` container, from the Secrets; the pool is smaller
/// (see [`POOL_SIZE`]) and waiting for a connection may take longer than the default
/// 10 s, because this machine is shared with other test runs.
fn shop_config(binary: &Path, secrets: &ShopSecrets) -> ShopConfig {
    let mut config = ShopConfig::new(binary, &secrets.database_url, &secrets.admin_token);
    config.pool_size = POOL_SIZE;
    config.env = vec![
        (
            "TICKET_SIGNING_KEY".to_string(),
            secrets.ticket_signing_key.clone(),
        ),
        ("DB_ACQUIRE_TIMEOUT_MS".to_string(), "30000".to_string()),
        ("LOG_FORMAT".to_string(), "json".to_string()),
    ];
    config
}
