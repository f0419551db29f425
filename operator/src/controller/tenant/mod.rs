//! The Tenant reconcile: gather → validate → place → provision the database → build
//! (pure) → apply (the only writes of children) → status (written only when it changed).

mod cleanup;
mod events;
pub mod placement;
pub mod status;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Instant;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::finalizer::{finalizer, Event as Finalize};
use kube::ResourceExt;
use serde_json::json;

use self::status::{Observed, Verdict};
use super::apply::{apply_cluster, apply_namespaced};
use super::servers::{connect_admin, secret_annotation, secret_value};
use super::{requeue, Context, Error};
use crate::crd::{database_for, namespace_for, DatabaseServer, Tenant, TenantStatus};
use crate::database::{credentials_work, generate_password};
use crate::resources::{
    build, connection_limit, BuildInputs, Credentials, DesiredObjects, ShopSecrets, ADMIN_SECRET,
    DB_SECRET, ROTATION_ACTED_ON,
};
use crate::validate::{validate_tenant, ValidTenant};

/// Finalizer that runs cleanup (the database, by deletion policy) before a Tenant goes.
pub const FINALIZER: &str = "boxoffice.dev/cleanup";

pub async fn reconcile(tenant: Arc<Tenant>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = Instant::now();
    let name = tenant.name_any();
    let api: Api<Tenant> = Api::all(ctx.client.clone());
    let result = finalizer(&api, FINALIZER, tenant, |event| async {
        match event {
            Finalize::Apply(t) => apply(&t, &ctx).await,
            Finalize::Cleanup(t) => cleanup::cleanup(&t, &ctx).await,
        }
    })
    .await
    .map_err(|e| match e {
        kube::runtime::finalizer::Error::ApplyFailed(e)
        | kube::runtime::finalizer::Error::CleanupFailed(e) => e,
        other => Error::Finalizer(other.to_string()),
    });
    let failure = result.as_ref().err().map(Error::reason);
    ctx.metrics
        .reconciled("tenant", started.elapsed().as_secs_f64(), failure);
    if result.is_ok() {
        ctx.succeeded(&name);
    }
    result
}

pub fn error_policy(tenant: Arc<Tenant>, error: &Error, ctx: Arc<Context>) -> Action {
    let name = tenant.name_any();
    let delay = ctx.backoff(&name);
    tracing::warn!(tenant = %name, reason = error.reason(), error = %error,
        retry_in_s = delay.as_secs(), "reconcile failed");
    Action::requeue(delay)
}

async fn apply(tenant: &Tenant, ctx: &Context) -> Result<Action, Error> {
    let name = tenant.name_any();
    let previous = tenant.status.clone().unwrap_or_default();
    let mut status = previous.clone();
    status.namespace = Some(namespace_for(&name));
    let mut observed = Observed::default();

    // Validate (pure): an invalid spec changes nothing but the status.
    let valid = match validate_tenant(tenant, &ctx.settings.shop_image) {
        Ok(valid) => valid,
        Err(e) => {
            observed.ready_override = Some(Verdict::no("InvalidSpec", e.to_string()));
            write_status(tenant, ctx, status, &observed).await?;
            return Ok(Action::await_change());
        }
    };
    if tenant.spec.paused {
        observed.ready_override = Some(Verdict::unknown(
            "Paused",
            "spec.paused is true; nothing is changed",
        ));
        write_status(tenant, ctx, status, &observed).await?;
        return Ok(Action::await_change());
    }

    // Place (writes status.databaseServer before anything is created).
    let server_name = match placement::place(tenant, ctx).await {
        Ok(server) => server,
        Err(e) => return fail(tenant, ctx, status, observed, e).await,
    };
    status.database_server = Some(server_name.clone());

    // Namespace first: everything else lives in it.
    let objects_namespace = namespace_for(&name);
    let result = step_database(tenant, ctx, &valid, &server_name, &mut status).await;
    let (desired, rotated) = match result {
        Ok(outcome) => outcome,
        Err(e) => return fail(tenant, ctx, status, observed, e).await,
    };
    observed.database = Some(Verdict::yes(
        "DatabaseProvisioned",
        format!("database {} on {server_name}", database_for(&name)),
    ));
    if rotated {
        event(
            ctx,
            tenant,
            EventType::Normal,
            "CredentialsRotated",
            "new database password",
        )
        .await;
    }

    // Apply: the only writes of children, each skipped when the server already matches.
    if let Err(e) = apply_all(ctx, &desired).await {
        return fail(tenant, ctx, status, observed, e).await;
    }
    match namespace_verdict(ctx, &objects_namespace).await {
        Ok(verdict) => observed.namespace = Some(verdict),
        Err(e) => return fail(tenant, ctx, status, observed, e).await,
    }
    observed.network = Some(Verdict::yes(
        "PoliciesApplied",
        format!(
            "{} NetworkPolicies, default deny",
            desired.network_policies.len()
        ),
    ));
    let (workload, ready_replicas) = match workload_verdict(ctx, &objects_namespace, &valid).await {
        Ok(verdict) => verdict,
        Err(e) => return fail(tenant, ctx, status, observed, e).await,
    };
    let settled = workload.status == "True";
    observed.workload = Some(workload);
    status.ready_replicas = Some(ready_replicas);

    write_status(tenant, ctx, status, &observed).await?;
    Ok(requeue(settled))
}

/// The database and the credentials: returns the objects to apply, and whether the
/// password was rotated. The Namespace and the Secrets are applied here, before the role's
/// password changes, so role and Secret never stay apart.
async fn step_database(
    tenant: &Tenant,
    ctx: &Context,
    valid: &ValidTenant,
    server_name: &str,
    status: &mut TenantStatus,
) -> Result<(DesiredObjects, bool), Error> {
    let name = tenant.name_any();
    let namespace = namespace_for(&name);
    let database = database_for(&name);
    let server = Api::<DatabaseServer>::all(ctx.client.clone())
        .get_opt(server_name)
        .await
        .map_err(|e| Error::kube("read", "DatabaseServer", server_name, e))?
        .ok_or_else(|| Error::ServerNotFound(server_name.to_string()))?;
    let (admin, address) = connect_admin(&ctx.client, &server).await?;

    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &namespace);
    // A failed read must not pass for a missing Secret: that would rotate the password,
    // the admin token and the ticket signing key.
    let read = |name: &'static str| {
        let secrets = secrets.clone();
        let namespace = namespace.clone();
        async move {
            secrets
                .get_opt(name)
                .await
                .map_err(|e| Error::kube("read", "Secret", &format!("{namespace}/{name}"), e))
        }
    };
    let db_secret = read(DB_SECRET).await?;
    let admin_secret = read(ADMIN_SECRET).await?;

    // A new value of the rotation annotation, or a lost Secret, means a new password. The
    // value acted on is read from `shop-db` itself, fresh from the API server: the cached
    // Tenant's status may not show the last rotation yet, and rotating again on it would
    // change a password the shop was just given.
    let rotation = tenant.rotation_requested().map(str::to_string);
    let acted_on = secret_annotation(db_secret.as_ref(), ROTATION_ACTED_ON)
        .or_else(|| status.credentials_rotation.clone());
    let rotate = rotation.is_some() && rotation != acted_on;
    let existing = secret_value(db_secret.as_ref(), "password");
    let (password, new_password) = match existing {
        Some(p) if !rotate => (p, false),
        _ => (generate_password(), true),
    };

    let db_error = |source| Error::Database {
        server: server_name.to_string(),
        source,
    };
    let in_step = !new_password
        && tenant.metadata.generation == status.observed_generation
        && admin.database_exists(&database).await.map_err(db_error)?
        && credentials_work(&address, &database, &password, &database)
            .await
            .map_err(db_error)?;

    let credentials = Credentials {
        username: database.clone(),
        password: password.clone(),
        host: address.host.clone(),
        port: i32::from(address.port),
        database: database.clone(),
        ssl_mode: server.spec.ssl_mode,
        // The CA the operator itself verified the server against just now.
        ca_pem: address.ca_pem.clone(),
    };
    let shop_secrets = ShopSecrets {
        admin_token: secret_value(admin_secret.as_ref(), "token").unwrap_or_else(generate_password),
        ticket_signing_key: secret_value(admin_secret.as_ref(), "ticket-signing-key")
            .unwrap_or_else(generate_password),
    };
    let desired = build(&BuildInputs {
        tenant,
        valid,
        server: &server,
        credentials: &credentials,
        secrets: &shop_secrets,
        settings: &ctx.settings,
        serves_policy_v1: ctx.serves_policy_v1,
    });

    if !in_step {
        // Namespace and Secret before the role: a crash in between leaves a Secret whose
        // password the next reconcile finds not working, and sets on the role.
        apply_cluster(&ctx.client, &ctx.metrics, &desired.namespace).await?;
        apply_namespaced(&ctx.client, &ctx.metrics, &desired.db_secret).await?;
        let provisioned = admin
            .ensure_tenant_database(&database, &password, connection_limit(valid.replicas))
            .await
            .map_err(db_error)?;
        tracing::info!(tenant = %name, server = %server_name,
            role_created = provisioned.role_created,
            database_created = provisioned.database_created, "database provisioned");
    }
    admin.close().await;

    status.database = Some(database);
    status.credentials_secret = Some(DB_SECRET.into());
    status.admin_token_secret = Some(ADMIN_SECRET.into());
    status.credentials_rotation = rotation;
    Ok((desired, new_password && db_secret.is_some()))
}

/// Applies every desired object, in an order where each finds what it needs.
async fn apply_all(ctx: &Context, d: &DesiredObjects) -> Result<(), Error> {
    let (client, metrics) = (&ctx.client, &ctx.metrics);
    apply_cluster(client, metrics, &d.namespace).await?;
    apply_namespaced(client, metrics, &d.resource_quota).await?;
    for policy in &d.network_policies {
        apply_namespaced(client, metrics, policy).await?;
    }
    apply_namespaced(client, metrics, &d.service_account).await?;
    apply_namespaced(client, metrics, &d.db_secret).await?;
    apply_namespaced(client, metrics, &d.admin_secret).await?;
    apply_namespaced(client, metrics, &d.service).await?;
    apply_namespaced(client, metrics, &d.deployment).await?;
    if let Some(pdb) = &d.pod_disruption_budget {
        apply_namespaced(client, metrics, pdb).await?;
    }
    if let Some(ingress) = &d.ingress {
        apply_namespaced(client, metrics, ingress).await?;
    }
    Ok(())
}

async fn namespace_verdict(ctx: &Context, name: &str) -> Result<Verdict, Error> {
    let ns = Api::<Namespace>::all(ctx.client.clone())
        .get_opt(name)
        .await
        .map_err(|e| Error::kube("read", "Namespace", name, e))?;
    let phase = ns.and_then(|n| n.status).and_then(|s| s.phase);
    Ok(match phase.as_deref() {
        Some("Active") => Verdict::yes("NamespaceActive", format!("namespace {name}")),
        Some(other) => Verdict::no("NamespaceNotActive", format!("namespace {name} is {other}")),
        None => Verdict::no("NamespaceMissing", format!("namespace {name} not found")),
    })
}

async fn workload_verdict(
    ctx: &Context,
    namespace: &str,
    valid: &ValidTenant,
) -> Result<(Verdict, i32), Error> {
    let deployment = Api::<Deployment>::namespaced(ctx.client.clone(), namespace)
        .get_opt("shop")
        .await
        .map_err(|e| Error::kube("read", "Deployment", &format!("{namespace}/shop"), e))?;
    let Some(d) = deployment else {
        return Ok((
            Verdict::no("DeploymentMissing", "Deployment shop not found"),
            0,
        ));
    };
    let generation = d.metadata.generation;
    let s = d.status.unwrap_or_default();
    let ready = s.ready_replicas.unwrap_or(0);
    let updated = s.updated_replicas.unwrap_or(0);
    let want = valid.replicas;
    let current = s.observed_generation == generation;
    let verdict = if current && ready >= want && updated >= want {
        Verdict::yes("ReplicasReady", format!("{ready}/{want} shop pods ready"))
    } else {
        Verdict::no(
            "ReplicasNotReady",
            format!("{ready}/{want} shop pods ready, {updated} updated"),
        )
    };
    Ok((verdict, ready))
}

/// Records a failed step in the status (its condition, and `Ready` naming it), then returns
/// the error for backoff.
async fn fail(
    tenant: &Tenant,
    ctx: &Context,
    status: TenantStatus,
    mut observed: Observed,
    error: Error,
) -> Result<Action, Error> {
    observed.failed(&error);
    write_status(tenant, ctx, status, &observed).await?;
    Err(error)
}

/// Writes the status when it differs from what the Tenant has, and publishes an Event when
/// `Ready` or `DatabaseReady` changes.
async fn write_status(
    tenant: &Tenant,
    ctx: &Context,
    mut status: TenantStatus,
    observed: &Observed,
) -> Result<(), Error> {
    let name = tenant.name_any();
    let previous = tenant.status.clone().unwrap_or_default();
    status.observed_generation = tenant.metadata.generation;
    status.conditions = status::conditions(
        &previous.conditions,
        observed,
        tenant.metadata.generation,
        &Time(k8s_openapi::jiff::Timestamp::now()),
    );
    if status == previous {
        return Ok(());
    }
    let api: Api<Tenant> = Api::all(ctx.client.clone());
    let patch = json!({ "status": status });
    api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(|e| Error::kube("write status of", "Tenant", &name, e))?;
    ctx.metrics.write("Tenant/status");

    for kind in [status::READY, status::DATABASE_READY] {
        let before = status::status_of(&previous.conditions, kind);
        let after = status.conditions.iter().find(|c| c.type_ == kind);
        if let Some(after) = after.filter(|a| Some(a.status.as_str()) != before) {
            let kind_of = if after.status == "False" {
                EventType::Warning
            } else {
                EventType::Normal
            };
            let reason = format!("{kind}{}", after.status);
            event(ctx, tenant, kind_of, &reason, &after.message).await;
        }
    }
    Ok(())
}

/// A Warning Event on the Tenant.
async fn event_warning(ctx: &Context, tenant: &Tenant, reason: &str, note: &str) {
    event(ctx, tenant, EventType::Warning, reason, note).await
}

async fn event(ctx: &Context, tenant: &Tenant, type_: EventType, reason: &str, note: &str) {
    events::publish(ctx, tenant, type_, reason, note).await
}
