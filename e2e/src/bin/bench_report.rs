//! `bench-report`: gathers the files a `make bench` run left in its folder into one table,
//! one JSON document and a throughput chart.
//!
//! It reads, in `RUN`: `throughput-<clients>.json` (flash-sale, closed loop on the large
//! event) beside `alfio-<clients>.txt` (pgbench's output), `latency.json` (flash-sale, open
//! model) and `rush-<attendees>.json` (flash-sale, the standard rush at each size). Exits
//! non-zero when any run saw a 5xx, a transport error or failed its correctness check.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use boxoffice_e2e::load::{bar_chart, Bars};
use clap::Parser;
use serde_json::{json, Value};

#[derive(Debug, Parser)]
#[command(name = "bench-report", version, about = "Summarise a `make bench` run")]
struct Args {
    /// The run's folder.
    #[arg(long)]
    run: PathBuf,
    /// Where `<date>.json` and `<date>-throughput.svg` go.
    #[arg(long)]
    out: PathBuf,
    /// Name of the result files, usually today's date.
    #[arg(long)]
    name: String,
    /// Extra facts about the run (`key=value`), stored as they are.
    #[arg(long = "fact")]
    facts: Vec<String>,
}

fn main() -> anyhow::Result<ExitCode> {
    let args = Args::parse();
    let mut problems = Vec::new();

    let mut throughput = Vec::new();
    for (clients, ours) in numbered(&args.run, "throughput-")? {
        let alfio_text = std::fs::read_to_string(args.run.join(format!("alfio-{clients}.txt")))
            .unwrap_or_default();
        let alfio = pgbench_tps(&alfio_text);
        let rate = ours["reservationsPerSecond"].as_f64().unwrap_or(0.0);
        problems.extend(problems_of(
            &format!("throughput at {clients} clients"),
            &ours,
        ));
        throughput.push(json!({
            "clients": clients,
            "boxofficeReservationsPerSecond": round(rate),
            "boxofficeRequestsPerSecond": round(ours["requestsPerSecond"].as_f64().unwrap_or(0.0)),
            "boxofficeLatencyMs": ours["latencyMs"],
            "boxofficeOutcomes": ours["outcomes"],
            "boxofficeServerErrors": ours["serverErrors"],
            "checkPassed": ours["check"]["passed"],
            "alfioTps": alfio.map(round),
            "ratio": alfio.filter(|a| *a > 0.0).map(|a| round(rate / a)),
        }));
    }

    let latency = read(&args.run.join("latency.json")).ok();
    if let Some(l) = &latency {
        problems.extend(problems_of("open model", l));
    }
    let mut rushes = Vec::new();
    for (attendees, r) in numbered(&args.run, "rush-")? {
        problems.extend(problems_of(&format!("rush of {attendees} attendees"), &r));
        rushes.push(json!({
            "attendees": attendees,
            "requests": r["requests"],
            "outcomes": r["outcomes"],
            "seatsReserved": r["seatsReserved"],
            "soldOutAfterSeconds": r["lastReservationSeconds"],
            "durationSeconds": r["durationSeconds"],
            "requestsPerSecond": round(r["requestsPerSecond"].as_f64().unwrap_or(0.0)),
            "latencyMs": r["latencyMs"],
            "serverErrors": r["serverErrors"],
            "transportErrors": r["transportErrors"],
            "checkPassed": r["check"]["passed"],
        }));
    }

    print_table(&throughput, latency.as_ref(), &rushes);
    let facts: serde_json::Map<String, Value> = args
        .facts
        .iter()
        .filter_map(|f| f.split_once('='))
        .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
        .collect();
    let latency_summary = latency.as_ref().map(|l| {
        json!({
            "requests": l["requests"], "requestsPerSecond": l["requestsPerSecond"],
            "latencyMs": l["latencyMs"], "outcomes": l["outcomes"],
            "serverErrors": l["serverErrors"], "checkPassed": l["check"]["passed"],
        })
    });
    let result = json!({
        "name": args.name,
        "machine": {"cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)},
        "facts": facts,
        "throughput": throughput,
        "openModel": latency_summary,
        "rushes": rushes,
        "problems": problems,
    });
    std::fs::create_dir_all(&args.out)?;
    let json_path = args.out.join(format!("{}.json", args.name));
    std::fs::write(&json_path, serde_json::to_string_pretty(&result)? + "\n")?;
    let svg_path = args.out.join(format!("{}-throughput.svg", args.name));
    std::fs::write(&svg_path, throughput_chart(&throughput))?;
    println!(
        "\nwritten: {} and {}",
        json_path.display(),
        svg_path.display()
    );

    if problems.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    for p in &problems {
        eprintln!("bench: PROBLEM: {p}");
    }
    Ok(ExitCode::FAILURE)
}

/// `(n, json)` for every `<prefix><n>.json` in `dir`, by `n`.
fn numbered(dir: &Path, prefix: &str) -> anyhow::Result<Vec<(u64, Value)>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("failed to read {dir:?}"))? {
        let name = entry?.file_name().to_string_lossy().to_string();
        let n = name
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix(".json"))
            .and_then(|n| n.parse::<u64>().ok());
        if let Some(n) = n {
            found.push((n, read(&dir.join(&name))?));
        }
    }
    found.sort_by_key(|(n, _)| *n);
    Ok(found)
}

fn read(path: &Path) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("failed to read {path:?}"))?;
    serde_json::from_str(&text).with_context(|| format!("{path:?} is not flash-sale's JSON"))
}

/// What must never happen in a run: a 5xx, a transport error, a failed check.
fn problems_of(what: &str, run: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    for (field, name) in [
        ("serverErrors", "5xx answers"),
        ("transportErrors", "transport errors"),
    ] {
        let n = run[field].as_u64().unwrap_or(0);
        if n > 0 {
            problems.push(format!("{what}: {n} {name}"));
        }
    }
    if run["check"]["passed"] != Value::Bool(true) {
        problems.push(format!(
            "{what}: correctness check failed: {}",
            run["check"]["violations"]
        ));
    }
    problems
}

/// The `tps = …` figure of pgbench's output.
fn pgbench_tps(text: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.trim().strip_prefix("tps = "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

fn round(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

fn print_table(throughput: &[Value], latency: Option<&Value>, rushes: &[Value]) {
    let f = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
    // serde_json's Display ignores widths: counts are printed through a String.
    let n = |v: &Value| v.to_string();
    println!("\nthroughput, 2,000,000-seat event, closed loop");
    println!(
        "{:>8} {:>12} {:>8} {:>8} {:>5} {:>11} {:>7}",
        "clients", "reserved/s", "p50 ms", "p99 ms", "5xx", "alf.io tps", "ratio"
    );
    for t in throughput {
        println!(
            "{:>8} {:>12.0} {:>8.1} {:>8.1} {:>5} {:>11.0} {:>6.1}x",
            n(&t["clients"]),
            f(&t["boxofficeReservationsPerSecond"]),
            f(&t["boxofficeLatencyMs"]["p50"]),
            f(&t["boxofficeLatencyMs"]["p99"]),
            n(&t["boxofficeServerErrors"]),
            f(&t["alfioTps"]),
            f(&t["ratio"]),
        );
    }
    if let Some(l) = latency {
        println!(
            "\nopen model: {} requests at {:.0}/s: p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, \
             max {:.1} ms, 5xx {}, check {}",
            l["requests"],
            f(&l["requestsPerSecond"]),
            f(&l["latencyMs"]["p50"]),
            f(&l["latencyMs"]["p95"]),
            f(&l["latencyMs"]["p99"]),
            f(&l["latencyMs"]["max"]),
            l["serverErrors"],
            if l["check"]["passed"] == Value::Bool(true) {
                "passed"
            } else {
                "FAILED"
            },
        );
    }
    if rushes.is_empty() {
        return;
    }
    println!("\nthe rush: 2,000 seats in two categories, 20,000 requests, closed loop");
    println!(
        "{:>9} {:>9} {:>7} {:>9} {:>8} {:>8} {:>8} {:>5} {:>6}",
        "attendees", "req/s", "201", "seats", "sold out", "p50 ms", "p99 ms", "5xx", "check"
    );
    for r in rushes {
        println!(
            "{:>9} {:>9.0} {:>7} {:>9} {:>7.2}s {:>8.1} {:>8.1} {:>5} {:>6}",
            n(&r["attendees"]),
            f(&r["requestsPerSecond"]),
            n(&r["outcomes"]["201"]),
            n(&r["seatsReserved"]),
            f(&r["soldOutAfterSeconds"]),
            f(&r["latencyMs"]["p50"]),
            f(&r["latencyMs"]["p99"]),
            n(&r["serverErrors"]),
            if r["checkPassed"] == Value::Bool(true) {
                "ok"
            } else {
                "FAILED"
            },
        );
    }
}

fn throughput_chart(throughput: &[Value]) -> String {
    let values = |field: &str| -> Vec<f64> {
        throughput
            .iter()
            .map(|t| t[field].as_f64().unwrap_or(0.0))
            .collect()
    };
    bar_chart(&Bars {
        title: "Reservations committed per second, same PostgreSQL, same run".into(),
        unit: "reservations per second".into(),
        groups: throughput
            .iter()
            .map(|t| format!("{} clients", t["clients"]))
            .collect(),
        series: vec![
            (
                "Boxoffice over HTTP (4 shop processes)".into(),
                "#2e7d32".into(),
                values("boxofficeReservationsPerSecond"),
            ),
            (
                "alf.io's statement in pgbench".into(),
                "#9e9e9e".into(),
                values("alfioTps"),
            ),
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pgbench_tps() {
        let text = "number of failed transactions: 0 (0.000%)\n\
                    latency average = 41.8 ms\n\
                    tps = 381.234 (without initial connection time)\n";
        assert_eq!(pgbench_tps(text), Some(381.234));
        assert_eq!(pgbench_tps("pgbench: error: connection refused"), None);
    }

    #[test]
    fn a_5xx_or_a_failed_check_is_a_problem() {
        let clean = json!({"serverErrors": 0, "transportErrors": 0, "check": {"passed": true}});
        assert!(problems_of("x", &clean).is_empty());
        let bad = json!({"serverErrors": 2, "transportErrors": 0,
                         "check": {"passed": false, "violations": ["oversold categories: 1"]}});
        let found = problems_of("rush", &bad);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[1].contains("oversold"));
    }
}
