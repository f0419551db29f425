//! The `ticketing-service` binary: `serve` or `migrate`.

use clap::Parser;
use ticketing_service::config::{Cli, Command, LogFormat};
use ticketing_service::server;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }

    let result = match cli.command {
        Command::Serve(args) => server::serve(args).await,
        Command::Migrate(args) => server::migrate(args).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "ticketing-service failed");
            std::process::ExitCode::FAILURE
        }
    }
}
