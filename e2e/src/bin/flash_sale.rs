//! `flash-sale`: replays a ticket rush against one or more shops, checks the shop's ledger
//! afterwards, and prints a JSON report; optionally draws the rush and its latencies as SVG.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use boxoffice_e2e::load::{self, CheckReport, CheckTarget, LoadModel, RushPlan, RushReport};
use clap::Parser;
use serde::Serialize;

#[derive(Debug, Parser)]
#[command(
    name = "flash-sale",
    version,
    about = "Replay a ticket rush against Boxoffice shops and check they sold no seat twice"
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
    /// Share (0–1) of the reservations that go on to contact details and confirmation.
    #[arg(long, default_value_t = 0.0)]
    checkout_share: f64,
    /// How those confirmations pay.
    #[arg(long, default_value = "offline", value_parser = ["offline", "onsite", "free"])]
    checkout_payment: String,
    /// The shop's admin token: after the rush, check the event's statistics add up.
    #[arg(long, env = "FLASH_SALE_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// The shop's database: after the rush, check the seat ledger and every 201.
    #[arg(long, env = "FLASH_SALE_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// How long the check waits for seat rows to catch up with the reservations.
    #[arg(long, default_value_t = 60.0)]
    settle_seconds: f64,
    /// Write `<PREFIX>-timeline.svg` and `<PREFIX>-latency.svg`.
    #[arg(long, value_name = "PREFIX")]
    charts: Option<PathBuf>,
    /// Title of the charts.
    #[arg(long, default_value = "flash sale")]
    title: String,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

#[derive(Serialize)]
struct Output<'a> {
    #[serde(flatten)]
    rush: &'a RushReport,
    check: &'a CheckReport,
}

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    let args = Args::parse();
    let model = match args.rate {
        Some(rate) => LoadModel::Open { rate },
        None => LoadModel::Closed {
            clients: args.clients,
        },
    };
    let shops: Vec<String> = args
        .shops
        .iter()
        .map(|s| s.trim_end_matches('/').to_string())
        .collect();
    let plan = RushPlan {
        shops: shops.clone(),
        event: args.event.clone(),
        categories: args.categories,
        min_quantity: args.min_quantity,
        max_quantity: args.max_quantity,
        model,
        max_requests: args.requests,
        max_duration: Duration::from_secs_f64(args.seconds),
        seed: args.seed,
        progress: !args.quiet,
        checkout_share: args.checkout_share,
        checkout_payment: args.checkout_payment,
    };
    let rush = load::run(plan).await?;

    let target = CheckTarget {
        admin: args.admin_token.map(|token| (shops[0].clone(), token)),
        database_url: args.database_url,
        event: args.event,
        settle: Duration::from_secs_f64(args.settle_seconds),
    };
    let check = load::check(&target, &rush.reserved, rush.reserved_reservations).await;

    if let Some(prefix) = &args.charts {
        let write = |suffix: &str, svg: String| {
            let path = PathBuf::from(format!("{}-{suffix}.svg", prefix.display()));
            std::fs::write(&path, svg).with_context(|| format!("failed to write {path:?}"))
        };
        write("timeline", load::rush_chart(&rush, &args.title))?;
        write("latency", load::latency_chart(&rush, &args.title))?;
    }
    let output = Output {
        rush: &rush,
        check: &check,
    };
    println!("{}", serde_json::to_string_pretty(&output)?);
    for violation in &check.violations {
        eprintln!("flash-sale: VIOLATION: {violation}");
    }
    Ok(if check.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
