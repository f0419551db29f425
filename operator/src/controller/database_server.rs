//! The DatabaseServer reconcile: is the server reachable with its admin credentials, and
//! how many tenants live on it. Checked every 15 seconds; status written only on change.

use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::ResourceExt;
use serde_json::json;

use super::servers::connect_admin;
use super::{Context, Error};
use crate::crd::{DatabaseServer, DatabaseServerStatus, Tenant};
use crate::validate::validate_database_server;

const CHECK_EVERY: Duration = Duration::from_secs(15);

pub async fn reconcile(server: Arc<DatabaseServer>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = Instant::now();
    let result = check(&server, &ctx).await;
    let failure = result.as_ref().err().map(Error::reason);
    ctx.metrics
        .reconciled("databaseserver", started.elapsed().as_secs_f64(), failure);
    result
}

pub fn error_policy(server: Arc<DatabaseServer>, error: &Error, ctx: Arc<Context>) -> Action {
    let delay = ctx.backoff(&format!("databaseserver/{}", server.name_any()));
    tracing::warn!(server = %server.name_any(), error = %error, "database server check failed");
    Action::requeue(delay)
}

async fn check(server: &DatabaseServer, ctx: &Context) -> Result<Action, Error> {
    let name = server.name_any();
    let (reachable, reason, message) = match validate_database_server(server) {
        Err(e) => (false, "InvalidSpec".to_string(), e.to_string()),
        Ok(_) => match connect_admin(&ctx.client, server).await {
            Ok((admin, _)) => {
                let ping = admin.ping().await;
                admin.close().await;
                match ping {
                    Ok(()) => (
                        true,
                        "Reachable".into(),
                        "admin credentials accepted".into(),
                    ),
                    Err(e) => (false, "Unreachable".into(), e.to_string()),
                }
            }
            Err(e) => (false, e.reason().to_string(), e.to_string()),
        },
    };
    let tenants = Api::<Tenant>::all(ctx.client.clone())
        .list(&ListParams::default())
        .await
        .map_err(|e| Error::kube("list", "Tenant", "", e))?
        .items
        .iter()
        .filter(|t| {
            t.status.as_ref().and_then(|s| s.database_server.as_deref()) == Some(name.as_str())
        })
        .count() as i32;

    let previous = server.status.clone().unwrap_or_default();
    let status_word = if reachable { "True" } else { "False" };
    let last_transition_time = previous
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready" && c.status == status_word)
        .map(|c| c.last_transition_time.clone())
        .unwrap_or_else(|| Time(k8s_openapi::jiff::Timestamp::now()));
    let status = DatabaseServerStatus {
        observed_generation: server.metadata.generation,
        reachable: Some(reachable),
        tenants: Some(tenants),
        conditions: vec![Condition {
            type_: "Ready".into(),
            status: status_word.into(),
            reason,
            message,
            observed_generation: server.metadata.generation,
            last_transition_time,
        }],
    };
    if status != previous {
        if previous.reachable != Some(reachable) {
            tracing::info!(server = %name, reachable, "database server reachability changed");
        }
        Api::<DatabaseServer>::all(ctx.client.clone())
            .patch_status(
                &name,
                &PatchParams::default(),
                &Patch::Merge(&json!({"status": status})),
            )
            .await
            .map_err(|e| Error::kube("write status of", "DatabaseServer", &name, e))?;
        ctx.metrics.write("DatabaseServer/status");
    }
    Ok(Action::requeue(CHECK_EVERY))
}
