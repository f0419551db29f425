//! The `boxoffice-operator` binary: `crds` prints the CRDs, `run` runs the controllers.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use boxoffice_operator::controller::{self, Context, Metrics};
use boxoffice_operator::leader::{self, LeaseConfig};
use boxoffice_operator::resources::OperatorSettings;
use boxoffice_operator::settings::parse_selector;
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

#[derive(Debug, Parser)]
#[command(
    name = "boxoffice-operator",
    version,
    about = "Runs Boxoffice shops for Tenants"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log format: json or text.
    #[arg(long, env = "LOG_FORMAT", default_value = "json", global = true)]
    log_format: String,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the CustomResourceDefinitions as YAML.
    Crds,
    /// Run the controllers (kubeconfig or in-cluster configuration).
    Run(RunArgs),
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Image of `ticketing-service` for shops that do not name one.
    #[arg(long, env = "SHOP_IMAGE")]
    shop_image: String,
    /// Namespaces of the ingress controller (`key=value,...`): may reach the shops.
    #[arg(
        long,
        env = "INGRESS_NAMESPACE_SELECTOR",
        default_value = "kubernetes.io/metadata.name=ingress-nginx"
    )]
    ingress_namespace_selector: String,
    /// Namespaces of the monitoring system: may scrape the shops' metrics.
    #[arg(
        long,
        env = "MONITORING_NAMESPACE_SELECTOR",
        default_value = "kubernetes.io/metadata.name=monitoring"
    )]
    monitoring_namespace_selector: String,
    /// Namespaces of cluster DNS: the shops may send DNS queries there.
    #[arg(
        long,
        env = "DNS_NAMESPACE_SELECTOR",
        default_value = "kubernetes.io/metadata.name=kube-system"
    )]
    dns_namespace_selector: String,
    /// Address of /metrics, /healthz and /readyz.
    #[arg(long, env = "METRICS_ADDR", default_value = "0.0.0.0:8080")]
    metrics_addr: SocketAddr,
    /// Namespace of the leader Lease (the operator's own namespace).
    #[arg(long, env = "POD_NAMESPACE", default_value = "boxoffice-system")]
    namespace: String,
    /// This replica's name in the Lease.
    #[arg(long, env = "POD_NAME")]
    identity: Option<String>,
    /// Elect a leader among replicas (off: this replica always leads).
    #[arg(long, env = "LEADER_ELECTION", default_value_t = true, action = clap::ArgAction::Set)]
    leader_election: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if cli.log_format == "text" {
        logs.init();
    } else {
        logs.json().init();
    }
    match cli.command {
        Command::Crds => {
            print!("{}", boxoffice_operator::crd::crds_yaml());
            Ok(())
        }
        Command::Run(args) => run(args).await,
    }
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
    let settings = OperatorSettings {
        shop_image: args.shop_image.clone(),
        ingress_namespace_selector: parse_selector(&args.ingress_namespace_selector)
            .map_err(anyhow::Error::msg)
            .context("--ingress-namespace-selector")?,
        monitoring_namespace_selector: parse_selector(&args.monitoring_namespace_selector)
            .map_err(anyhow::Error::msg)
            .context("--monitoring-namespace-selector")?,
        dns_namespace_selector: parse_selector(&args.dns_namespace_selector)
            .map_err(anyhow::Error::msg)
            .context("--dns-namespace-selector")?,
    };
    let identity = args.identity.clone().unwrap_or_else(|| {
        let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
        format!("{}-{}", host.trim(), std::process::id())
    });
    let metrics = Arc::new(Metrics::new());
    let ready = Arc::new(AtomicBool::new(false));
    tokio::spawn(serve_health(
        args.metrics_addr,
        metrics.clone(),
        ready.clone(),
    ));

    let client = kube::Client::try_default()
        .await
        .context("no Kubernetes configuration")?;
    let serves_policy_v1 = serves_policy_v1(&client)
        .await
        .context("API discovery failed")?;
    tracing::info!(serves_policy_v1, identity = %identity, "connected to the API server");
    ready.store(true, Ordering::Relaxed);

    let lease = LeaseConfig {
        namespace: args.namespace.clone(),
        name: "boxoffice-operator".into(),
        identity: identity.clone(),
        duration: Duration::from_secs(15),
        renew_every: Duration::from_secs(2),
        renew_deadline: Duration::from_secs(10),
    };
    if args.leader_election {
        tokio::select! {
            _ = leader::acquire(&client, &lease) => {}
            _ = shutdown_signal() => return Ok(()),
        }
    }
    let ctx = Arc::new(Context::new(
        client.clone(),
        settings,
        metrics,
        serves_policy_v1,
        &identity,
    ));
    let lost = {
        let client = client.clone();
        let election = args.leader_election;
        let lease = lease.clone();
        async move {
            if election {
                leader::hold(&client, &lease).await;
                true
            } else {
                std::future::pending::<bool>().await
            }
        }
    };
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let controllers = tokio::spawn(controller::run(ctx, async move {
        let _ = stop_rx.await;
    }));
    let lost_lease = tokio::select! {
        lost = lost => lost,
        _ = shutdown_signal() => false,
    };
    let _ = stop_tx.send(());
    let _ = controllers.await;
    if args.leader_election && !lost_lease {
        leader::release(&client, &lease).await;
    }
    if lost_lease {
        anyhow::bail!("lost the leader lease; exiting so a fresh replica takes over");
    }
    Ok(())
}

/// Whether the cluster serves `policy/v1` (Kubernetes 1.21 and later).
async fn serves_policy_v1(client: &kube::Client) -> Result<bool, kube::Error> {
    let groups = client.list_api_groups().await?;
    Ok(groups
        .groups
        .iter()
        .filter(|g| g.name == "policy")
        .any(|g| g.versions.iter().any(|v| v.version == "v1")))
}

async fn serve_health(addr: SocketAddr, metrics: Arc<Metrics>, ready: Arc<AtomicBool>) {
    #[derive(Clone)]
    struct Health {
        metrics: Arc<Metrics>,
        ready: Arc<AtomicBool>,
    }
    let app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/readyz",
            get(|State(h): State<Health>| async move {
                if h.ready.load(Ordering::Relaxed) {
                    (StatusCode::OK, "ready")
                } else {
                    (
                        StatusCode::SERVICE_UNAVAILABLE,
                        "connecting to the API server",
                    )
                }
            }),
        )
        .route(
            "/metrics",
            get(|State(h): State<Health>| async move { h.metrics.render() }),
        )
        .with_state(Health { metrics, ready });
    match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => {
            tracing::info!(%addr, "serving /metrics, /healthz, /readyz");
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "health server stopped");
            }
        }
        Err(e) => tracing::error!(%addr, error = %e, "cannot serve /metrics"),
    }
}

async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = term => tracing::info!("SIGTERM received; stopping"),
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received; stopping"),
    }
}
