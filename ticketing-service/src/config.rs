//! Command line and environment.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(name = "ticketing-service", version, about = "A Boxoffice shop")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// Log format.
    #[arg(
        long,
        env = "LOG_FORMAT",
        value_enum,
        default_value = "json",
        global = true
    )]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Json,
    Text,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the shop's HTTP API.
    Serve(ServeArgs),
    /// Apply the database migrations and exit.
    Migrate(DatabaseArgs),
}

#[derive(Debug, clap::Args)]
pub struct DatabaseArgs {
    /// PostgreSQL URL of the shop's own database.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: String,
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,

    /// Bearer token of the admin API.
    #[arg(long, env = "ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: String,

    /// Address to listen on.
    #[arg(long, env = "LISTEN_ADDR", default_value = "0.0.0.0:8080")]
    pub listen_addr: SocketAddr,

    /// Most database connections this process holds.
    #[arg(long, env = "DB_POOL_SIZE", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub db_pool_size: u32,

    /// How long a request waits for a database connection before answering 503. Long
    /// enough to queue a rush behind a busy pool; an outage is answered at once anyway.
    #[arg(long, env = "DB_ACQUIRE_TIMEOUT_MS", default_value_t = 10000)]
    pub db_acquire_timeout_ms: u64,

    /// How often expired holds are swept.
    #[arg(long, env = "EXPIRY_SWEEP_INTERVAL_MS", default_value_t = 1000,
          value_parser = clap::value_parser!(u64).range(50..))]
    pub expiry_sweep_interval_ms: u64,

    /// How often held reservations without seat rows get them.
    #[arg(long, env = "SEAT_ASSIGN_INTERVAL_MS", default_value_t = 200,
          value_parser = clap::value_parser!(u64).range(10..))]
    pub seat_assign_interval_ms: u64,

    /// Key that signs tickets (used once tickets are issued).
    #[arg(long, env = "TICKET_SIGNING_KEY", hide_env_values = true)]
    pub ticket_signing_key: Option<String>,
}

impl ServeArgs {
    pub fn acquire_timeout(&self) -> Duration {
        Duration::from_millis(self.db_acquire_timeout_ms)
    }

    pub fn sweep_interval(&self) -> Duration {
        Duration::from_millis(self.expiry_sweep_interval_ms)
    }

    pub fn assign_interval(&self) -> Duration {
        Duration::from_millis(self.seat_assign_interval_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serve_reads_flags() {
        let cli = Cli::try_parse_from([
            "ticketing-service",
            "serve",
            "--database-url",
            "postgres://x@127.0.0.1/db",
            "--admin-token",
            "t",
            "--listen-addr",
            "127.0.0.1:9000",
            "--db-pool-size",
            "20",
        ])
        .unwrap();
        let Command::Serve(args) = cli.command else {
            panic!("not serve")
        };
        assert_eq!(args.db_pool_size, 20);
        assert_eq!(args.listen_addr.port(), 9000);
        assert_eq!(args.expiry_sweep_interval_ms, 1000);
    }

    #[test]
    fn a_pool_of_zero_is_refused() {
        let parsed = Cli::try_parse_from([
            "ticketing-service",
            "serve",
            "--database-url",
            "postgres://x@127.0.0.1/db",
            "--admin-token",
            "t",
            "--db-pool-size",
            "0",
        ]);
        assert!(parsed.is_err());
    }
}
