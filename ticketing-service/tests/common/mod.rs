//! Fixtures for the shop's integration tests.
//!
//! Every test gets its own PostgreSQL server, migrated by the real `ticketing-service
//! migrate`, and one or more `ticketing-service serve` processes on loopback ([`Shop`]).
//! [`Api`] talks to them over HTTP and [`Answer`] holds what they said, with assertions for
//! the problem documents the API promises. `Shop::db` reads the tables directly, to check
//! what the HTTP API cannot show (see [`sql`]).

// Each test file uses a different part of these fixtures.
#![allow(dead_code, unused_imports)]

pub mod api;
pub mod checkout;
pub mod events;
pub mod sql;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use boxoffice_e2e::pg::{PgOptions, PgServer};
use boxoffice_e2e::service::{ShopConfig, ShopProcess};
use sqlx::postgres::{PgPool, PgPoolOptions};

pub use api::{Answer, Api};
pub use events::{category, event, items};

pub const ADMIN_TOKEN: &str = "integration-test-admin-token";

/// How a test's shop is started.
#[derive(Debug, Clone)]
pub struct ShopOptions {
    /// `ticketing-service serve` processes sharing the one database.
    pub processes: usize,
    pub pool_size: u32,
    /// Extra environment of every process, e.g. `EXPIRY_SWEEP_INTERVAL_MS`.
    pub env: Vec<(String, String)>,
    pub pg: PgOptions,
}

impl Default for ShopOptions {
    fn default() -> Self {
        ShopOptions {
            processes: 1,
            pool_size: 10,
            env: Vec::new(),
            pg: PgOptions::default(),
        }
    }
}

impl ShopOptions {
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.push((name.to_string(), value.to_string()));
        self
    }
}

/// A PostgreSQL server, its migrated shop database and the shop processes using it.
///
/// Fields drop in order: the processes stop before the database server does.
pub struct Shop {
    pub processes: Vec<ShopProcess>,
    pub api: Api,
    pub db: PgPool,
    pub db_url: String,
    pub pg: PgServer,
}

impl Shop {
    pub async fn start() -> Shop {
        Shop::start_with(ShopOptions::default()).await
    }

    /// Starts everything; needs a multi-threaded runtime, as the harness blocks while it waits.
    pub async fn start_with(options: ShopOptions) -> Shop {
        let (pg, db_url, processes) = tokio::task::block_in_place(|| {
            let pg = PgServer::start_with(options.pg.clone()).expect("start PostgreSQL");
            let db_url = pg
                .create_database("boxoffice")
                .expect("create the shop database");
            let mut config = ShopConfig::new(shop_binary(), &db_url, ADMIN_TOKEN);
            config.pool_size = options.pool_size;
            config.env = options.env.clone();
            config.env.push(("LOG_FORMAT".into(), "text".into()));
            ShopProcess::migrate(&config).expect("ticketing-service migrate");
            let processes: Vec<ShopProcess> = (0..options.processes)
                .map(|_| ShopProcess::start(&config, &log_dir()).expect("start ticketing-service"))
                .collect();
            (pg, db_url, processes)
        });

        let db = PgPoolOptions::new()
            .max_connections(4)
            .connect(&db_url)
            .await
            .expect("connect to the shop database");
        let api = Api::new(processes.iter().map(|p| p.base_url()).collect());
        Shop {
            processes,
            api,
            db,
            db_url,
            pg,
        }
    }

    /// The logs of every process, for failure messages.
    pub fn logs(&self) -> String {
        self.processes
            .iter()
            .map(|p| p.log())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

pub fn shop_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ticketing-service"))
}

pub fn log_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("shop-logs")
}

/// Polls `check` every `every` until it returns `Some`, or `deadline` passes.
pub async fn poll<T, F, Fut>(deadline: Duration, every: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(value) = check().await {
            return Some(value);
        }
        if start.elapsed() >= deadline {
            return None;
        }
        tokio::time::sleep(every).await;
    }
}
