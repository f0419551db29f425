//! `serve` and `migrate`: start-up, readiness, graceful shutdown.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use sqlx::PgPool;
use tokio::sync::watch;

use crate::config::{DatabaseArgs, ServeArgs};
use crate::db;
use crate::http::{router, AppState, SigningMaster};
use crate::metrics::Metrics;
use crate::sweeper;

/// Serves until SIGTERM or SIGINT, then finishes in-flight requests and closes the pool.
pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    if args.admin_token.is_empty() {
        anyhow::bail!("ADMIN_TOKEN must not be empty");
    }
    let pool = db::lazy_pool(
        &args.database.database_url,
        args.db_pool_size,
        args.acquire_timeout(),
    )
    .context("invalid DATABASE_URL")?;
    let ready = Arc::new(AtomicBool::new(false));
    let (stop_tx, stop_rx) = watch::channel(false);

    tokio::spawn(wait_for_schema(
        pool.clone(),
        ready.clone(),
        stop_rx.clone(),
    ));
    let background = [
        tokio::spawn(sweeper::run_expiry(
            pool.clone(),
            args.sweep_interval(),
            stop_rx.clone(),
        )),
        tokio::spawn(sweeper::run_seat_assignment(
            pool.clone(),
            args.assign_interval(),
            stop_rx,
        )),
    ];

    let state = AppState {
        pool: pool.clone(),
        admin_token: args.admin_token.as_str().into(),
        metrics: Arc::new(Metrics::new()),
        ready,
        breaker: Arc::default(),
        payments: Arc::default(),
        signing: Arc::new(SigningMaster::new(args.ticket_signing_key.as_deref())),
    };
    let listener = tokio::net::TcpListener::bind(args.listen_addr)
        .await
        .with_context(|| format!("failed to listen on {}", args.listen_addr))?;
    tracing::info!(addr = %args.listen_addr, pool_size = args.db_pool_size, "serving");
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await?;

    tracing::info!("in-flight requests finished; closing the pool");
    let _ = stop_tx.send(true);
    for task in background {
        let _ = task.await;
    }
    pool.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Marks the process ready once the database holds the schema this binary expects.
async fn wait_for_schema(pool: PgPool, ready: Arc<AtomicBool>, mut stop: watch::Receiver<bool>) {
    let mut warned = false;
    loop {
        match db::is_migrated(&pool).await {
            Ok(true) => {
                ready.store(true, Ordering::Relaxed);
                tracing::info!("schema is migrated; ready");
                return;
            }
            Ok(false) if !warned => {
                tracing::warn!("schema not migrated yet; run `ticketing-service migrate`");
                warned = true;
            }
            Err(e) if !warned => {
                tracing::warn!(error = %e, "cannot check the schema yet");
                warned = true;
            }
            _ => {}
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.changed() => return,
        }
    }
}

async fn shutdown_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot listen for SIGTERM; stopping on Ctrl-C only");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received; shutting down"),
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received; shutting down"),
    }
}

/// Applies migrations, waiting up to a minute for the database to accept connections (an
/// init container may start before its database). A refused TLS handshake is not waited
/// out: a certificate the CA does not vouch for, or a server without TLS, stays so.
pub async fn migrate(args: DatabaseArgs) -> anyhow::Result<()> {
    let pool = db::lazy_pool(&args.database_url, 2, Duration::from_secs(5))
        .context("invalid DATABASE_URL")?;
    let start = Instant::now();
    loop {
        match db::migrate(&pool).await {
            Ok(()) => break,
            Err(sqlx::migrate::MigrateError::Execute(ref e))
                if start.elapsed() < Duration::from_secs(60)
                    && db::is_unavailable(e)
                    && !db::is_tls_refusal(e) =>
            {
                tracing::warn!(error = %e, "database not ready yet; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => return Err(e).context("migration failed"),
        }
    }
    let latest = db::MIGRATOR
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap_or_default();
    tracing::info!(
        version = latest,
        elapsed_ms = start.elapsed().as_millis() as u64,
        "migrated"
    );
    pool.close().await;
    Ok(())
}
