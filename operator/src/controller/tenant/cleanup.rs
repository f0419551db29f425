//! Deleting a Tenant: the database by deletion policy, then the finalizer goes and the
//! namespace follows through its owner reference.

use kube::api::Api;
use kube::runtime::controller::Action;
use kube::ResourceExt;

use super::super::servers::connect_admin;
use super::super::{Context, Error};
use super::event_warning as event;
use crate::crd::{DatabaseServer, DeletionPolicy, Tenant};

/// Runs even for a paused or invalid Tenant, and is idempotent: a Tenant that never got a
/// database drops none, and a database already gone is no error.
pub async fn cleanup(tenant: &Tenant, ctx: &Context) -> Result<Action, Error> {
    let name = tenant.name_any();
    ctx.claims
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&name);
    let status = tenant.status.clone().unwrap_or_default();
    let (Some(server_name), Some(database)) = (status.database_server, status.database) else {
        tracing::info!(tenant = %name, "deleted; it never had a database");
        return Ok(Action::await_change());
    };
    if tenant.spec.deletion_policy == DeletionPolicy::Retain {
        tracing::info!(tenant = %name, server = %server_name, %database,
            "deleted; database and role retained");
        return Ok(Action::await_change());
    }

    let server = Api::<DatabaseServer>::all(ctx.client.clone())
        .get_opt(&server_name)
        .await
        .map_err(|e| Error::kube("read", "DatabaseServer", &server_name, e))?;
    let Some(server) = server else {
        // The server's object is gone, and with it the way to reach the database: waiting
        // would keep the Tenant terminating forever. Say so loudly and let it go.
        tracing::warn!(tenant = %name, server = %server_name, %database,
            "DatabaseServer no longer exists; database not dropped");
        event(
            ctx,
            tenant,
            "DatabaseNotDropped",
            &format!("DatabaseServer {server_name} no longer exists; drop {database} by hand"),
        )
        .await;
        return Ok(Action::await_change());
    };
    let (admin, _) = connect_admin(&ctx.client, &server).await?;
    let dropped = admin
        .drop_tenant_database(&database)
        .await
        .map_err(|source| Error::Database {
            server: server_name.clone(),
            source,
        });
    admin.close().await;
    let dropped = dropped?;
    tracing::info!(tenant = %name, server = %server_name, %database,
        database_dropped = dropped.database, role_dropped = dropped.role, "deleted; database dropped");
    Ok(Action::await_change())
}
