//! `flash-sale`: replays a ticket rush against one or more shops and prints a JSON report.

use std::time::Duration;

use boxoffice_e2e::load::{run, LoadModel, RushPlan};
use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "flash-sale",
    version,
    about = "Replay a ticket rush against Boxoffice shops"
)]
struct Args {
    /// Shop base URL; repeat for several shops (used round robin).
    #[arg(long = "shop", required = true)]
    shops: Vec<String>,
    /// Event slug.
    #[arg(long)]
    event: String,
    /// Category slug; repeat to spread requests over several.
    #[arg(long = "category", required = true)]
    categories: Vec<String>,
    /// Concurrent attendees (closed loop).
    #[arg(long, default_value_t = 64, conflicts_with = "rate")]
    clients: usize,
    /// Requests per second (open model) instead of a closed loop.
    #[arg(long)]
    rate: Option<f64>,
    /// Stop after this many requests.
    #[arg(long, default_value_t = 10_000)]
    requests: u64,
    /// Stop after this many seconds.
    #[arg(long, default_value_t = 60.0)]
    seconds: f64,
    #[arg(long, default_value_t = 1)]
    min_quantity: u32,
    #[arg(long, default_value_t = 10)]
    max_quantity: u32,
    /// Seed of the attendees' choices, for a reproducible rush.
    #[arg(long, default_value_t = 2026)]
    seed: u64,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let model = match args.rate {
        Some(rate) => LoadModel::Open { rate },
        None => LoadModel::Closed {
            clients: args.clients,
        },
    };
    let plan = RushPlan {
        shops: args
            .shops
            .iter()
            .map(|s| s.trim_end_matches('/').to_string())
            .collect(),
        event: args.event,
        categories: args.categories,
        min_quantity: args.min_quantity,
        max_quantity: args.max_quantity,
        model,
        max_requests: args.requests,
        max_duration: Duration::from_secs_f64(args.seconds),
        seed: args.seed,
        progress: !args.quiet,
    };
    let report = run(plan).await?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
