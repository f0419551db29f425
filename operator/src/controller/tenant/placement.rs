//! Placement: which DatabaseServer a new tenant's database goes on.
//!
//! The choice is made once and written to `status.databaseServer` before anything is
//! created, and never changes. A server that already holds the tenant's database (retained
//! from an earlier Tenant of the same name) wins, so the database is adopted; otherwise the
//! reachable server with the fewest tenants under its capacity, counting placements this
//! process has decided but the API does not show yet, ties broken by name.

use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::ResourceExt;
use serde_json::json;

use super::super::servers::connect_admin;
use super::super::{Context, Error};
use crate::crd::{database_for, DatabaseServer, Tenant};

/// What placement knows of one server.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub name: String,
    pub reachable: bool,
    pub tenants: usize,
    pub capacity: Option<usize>,
    /// The server already has this tenant's database.
    pub holds_database: bool,
}

/// The server to place on, if any can take the tenant.
pub fn choose(candidates: &[Candidate]) -> Option<&Candidate> {
    let reachable = candidates.iter().filter(|c| c.reachable);
    let mut sorted: Vec<&Candidate> = reachable.collect();
    sorted.sort_by(|a, b| {
        b.holds_database
            .cmp(&a.holds_database)
            .then(a.tenants.cmp(&b.tenants))
            .then(a.name.cmp(&b.name))
    });
    sorted
        .into_iter()
        .find(|c| c.holds_database || c.capacity.is_none_or(|cap| c.tenants < cap))
}

/// The tenant's server: the recorded one, the pinned one, or a new placement (recorded in
/// status before this returns).
pub async fn place(tenant: &Tenant, ctx: &Context) -> Result<String, Error> {
    let name = tenant.name_any();
    let recorded = tenant
        .status
        .as_ref()
        .and_then(|s| s.database_server.clone());
    let pinned = tenant.spec.database_server.clone();
    if let Some(recorded) = recorded {
        if let Some(pinned) = pinned.filter(|p| *p != recorded) {
            return Err(Error::Invalid(format!(
                "spec.databaseServer is {pinned}, but the tenant lives on {recorded}; \
                 a tenant never moves"
            )));
        }
        return Ok(recorded);
    }

    let chosen = match pinned {
        Some(pinned) => pinned,
        None => choose_now(&name, ctx).await?,
    };
    record(tenant, &chosen, ctx).await?;
    tracing::info!(tenant = %name, server = %chosen, "placed");
    Ok(chosen)
}

async fn choose_now(tenant: &str, ctx: &Context) -> Result<String, Error> {
    let servers = Api::<DatabaseServer>::all(ctx.client.clone())
        .list(&ListParams::default())
        .await
        .map_err(|e| Error::kube("list", "DatabaseServer", "", e))?;
    let tenants = Api::<Tenant>::all(ctx.client.clone())
        .list(&ListParams::default())
        .await
        .map_err(|e| Error::kube("list", "Tenant", "", e))?;

    let database = database_for(tenant);
    let mut candidates = Vec::new();
    for server in &servers {
        let (reachable, holds_database) = match connect_admin(&ctx.client, server).await {
            Ok((admin, _)) => {
                let holds = admin.database_exists(&database).await.unwrap_or(false);
                admin.close().await;
                (true, holds)
            }
            Err(e) => {
                tracing::info!(server = %server.name_any(), error = %e, "not a candidate");
                (false, false)
            }
        };
        candidates.push(Candidate {
            name: server.name_any(),
            reachable,
            tenants: 0,
            capacity: server.spec.capacity.map(|c| c.max(0) as usize),
            holds_database,
        });
    }

    // Count tenants per server, then decide and claim under one lock, so two placements
    // running at once see each other.
    let mut claims = ctx.claims.lock().unwrap_or_else(|p| p.into_inner());
    let mut placed: std::collections::BTreeMap<String, String> = tenants
        .iter()
        .filter_map(|t| {
            let server = t
                .status
                .as_ref()
                .and_then(|s| s.database_server.clone())
                .or_else(|| t.spec.database_server.clone())?;
            Some((t.name_any(), server))
        })
        .collect();
    for (claimed_tenant, server) in claims.iter() {
        placed
            .entry(claimed_tenant.clone())
            .or_insert_with(|| server.clone());
    }
    placed.remove(tenant);
    for c in &mut candidates {
        c.tenants = placed.values().filter(|s| **s == c.name).count();
    }
    let chosen = choose(&candidates).map(|c| c.name.clone()).ok_or_else(|| {
        Error::NoServer(format!(
            "{} servers, none reachable with room ({})",
            candidates.len(),
            candidates
                .iter()
                .map(|c| format!(
                    "{}: reachable={} tenants={}",
                    c.name, c.reachable, c.tenants
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    claims.insert(tenant.to_string(), chosen.clone());
    Ok(chosen)
}

async fn record(tenant: &Tenant, server: &str, ctx: &Context) -> Result<(), Error> {
    let name = tenant.name_any();
    let api: Api<Tenant> = Api::all(ctx.client.clone());
    let patch = json!({"status": {"databaseServer": server}});
    api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(|e| Error::kube("record placement of", "Tenant", &name, e))?;
    ctx.metrics.write("Tenant/status");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(name: &str, reachable: bool, tenants: usize, capacity: Option<usize>) -> Candidate {
        Candidate {
            name: name.into(),
            reachable,
            tenants,
            capacity,
            holds_database: false,
        }
    }

    #[test]
    fn fewest_tenants_wins_ties_by_name() {
        let c = [server("pg-2", true, 1, None), server("pg-1", true, 1, None)];
        assert_eq!(choose(&c).unwrap().name, "pg-1");
        let c = [server("pg-1", true, 2, None), server("pg-2", true, 1, None)];
        assert_eq!(choose(&c).unwrap().name, "pg-2");
    }

    #[test]
    fn unreachable_and_full_servers_are_skipped() {
        let c = [
            server("pg-1", false, 0, None),
            server("pg-2", true, 3, Some(3)),
        ];
        assert_eq!(choose(&c), None);
        let c = [
            server("pg-1", false, 0, None),
            server("pg-2", true, 2, Some(3)),
        ];
        assert_eq!(choose(&c).unwrap().name, "pg-2");
    }

    #[test]
    fn a_retained_database_is_adopted_where_it_is() {
        let mut holder = server("pg-2", true, 9, Some(9));
        holder.holds_database = true;
        let c = [server("pg-1", true, 0, None), holder];
        assert_eq!(choose(&c).unwrap().name, "pg-2");
    }
}
