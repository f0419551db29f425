//! Leader election on a Lease, so two replicas never reconcile at once.
//!
//! A replica becomes leader when the Lease is free, held by itself, or not renewed within
//! its duration; it renews every few seconds. Updates carry the resourceVersion they read,
//! so two replicas racing for the Lease cannot both win. A leader that cannot renew before
//! its Lease runs out stops leading (the process exits and is restarted).

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ObjectMeta, PostParams};
use kube::Client;

#[derive(Debug, Clone)]
pub struct LeaseConfig {
    pub namespace: String,
    pub name: String,
    pub identity: String,
    pub duration: Duration,
    pub renew_every: Duration,
    /// A leader that has not renewed for this long stops leading; shorter than `duration`,
    /// so it stops before another replica may take over.
    pub renew_deadline: Duration,
}

/// Waits until this replica holds the Lease.
pub async fn acquire(client: &Client, config: &LeaseConfig) {
    let mut logged = false;
    loop {
        match try_acquire(client, config).await {
            Ok(true) => {
                tracing::info!(lease = %config.name, identity = %config.identity, "leading");
                return;
            }
            Ok(false) if !logged => {
                tracing::info!(lease = %config.name, "another replica leads; standing by");
                logged = true;
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "could not read or take the lease"),
        }
        tokio::time::sleep(config.renew_every).await;
    }
}

/// Renews the Lease until it is lost or cannot be renewed in time; then returns.
pub async fn hold(client: &Client, config: &LeaseConfig) {
    // Measured from before the request, as the renewTime it writes is.
    let mut last_renewal = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(config.renew_every).await;
        let attempt = tokio::time::Instant::now();
        let renewed = tokio::time::timeout(config.renew_every, try_acquire(client, config)).await;
        match renewed {
            Ok(Ok(true)) => last_renewal = attempt,
            Ok(Ok(false)) => {
                tracing::error!(lease = %config.name, "lost the lease to another replica");
                return;
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "could not renew the lease"),
            Err(_) => tracing::warn!("renewing the lease timed out"),
        }
        if last_renewal.elapsed() + config.renew_every >= config.renew_deadline {
            tracing::error!(lease = %config.name, "could not renew the lease in time");
            return;
        }
    }
}

/// Gives the Lease up on a clean shutdown, so a standby takes over at once instead of
/// waiting for it to expire. Best effort: the Lease expires anyway.
pub async fn release(client: &Client, config: &LeaseConfig) {
    let api: Api<Lease> = Api::namespaced(client.clone(), &config.namespace);
    let Ok(Some(mut lease)) = api.get_opt(&config.name).await else {
        return;
    };
    let spec = lease.spec.get_or_insert_with(Default::default);
    if spec.holder_identity.as_deref() != Some(config.identity.as_str()) {
        return;
    }
    spec.holder_identity = None;
    spec.renew_time = None;
    match api
        .replace(&config.name, &PostParams::default(), &lease)
        .await
    {
        Ok(_) => tracing::info!(lease = %config.name, "lease released"),
        Err(e) => tracing::warn!(error = %e, "could not release the lease"),
    }
}

/// Takes or renews the Lease; `Ok(false)` when another replica validly holds it.
async fn try_acquire(client: &Client, config: &LeaseConfig) -> Result<bool, kube::Error> {
    let api: Api<Lease> = Api::namespaced(client.clone(), &config.namespace);
    let now = MicroTime(Timestamp::now());
    let spec = |acquired: Option<MicroTime>, transitions: i32| LeaseSpec {
        holder_identity: Some(config.identity.clone()),
        lease_duration_seconds: Some(config.duration.as_secs() as i32),
        acquire_time: acquired.or_else(|| Some(now.clone())),
        renew_time: Some(now.clone()),
        lease_transitions: Some(transitions),
        ..Default::default()
    };
    match api.get_opt(&config.name).await? {
        None => {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(config.name.clone()),
                    ..Default::default()
                },
                spec: Some(spec(None, 0)),
            };
            match api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
                Err(e) => Err(e),
            }
        }
        Some(mut lease) => {
            let current = lease.spec.clone().unwrap_or_default();
            let mine = current.holder_identity.as_deref() == Some(config.identity.as_str());
            if !mine && !expired(&current, now.0) {
                return Ok(false);
            }
            let transitions = current.lease_transitions.unwrap_or(0) + i32::from(!mine);
            let acquired = if mine {
                current.acquire_time.clone()
            } else {
                None
            };
            lease.spec = Some(spec(acquired, transitions));
            // The resourceVersion read above makes this fail if anyone wrote in between.
            match api
                .replace(&config.name, &PostParams::default(), &lease)
                .await
            {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
                Err(e) => Err(e),
            }
        }
    }
}

fn expired(spec: &LeaseSpec, now: Timestamp) -> bool {
    let Some(renewed) = spec.renew_time.as_ref() else {
        return true;
    };
    let duration = i64::from(spec.lease_duration_seconds.unwrap_or(15));
    now.as_second() - renewed.0.as_second() > duration
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_not_renewed_within_its_duration_is_expired() {
        let at = |s| MicroTime(Timestamp::from_second(s).unwrap());
        let spec = LeaseSpec {
            renew_time: Some(at(1_000)),
            lease_duration_seconds: Some(15),
            ..Default::default()
        };
        assert!(!expired(&spec, Timestamp::from_second(1_010).unwrap()));
        assert!(expired(&spec, Timestamp::from_second(1_016).unwrap()));
        assert!(expired(
            &LeaseSpec::default(),
            Timestamp::from_second(0).unwrap()
        ));
    }
}
