//! Events on Tenants, for `kubectl describe tenant` and whoever watches Events.
//!
//! They go out as `events.k8s.io/v1` through kube's recorder. A Tenant is cluster-scoped,
//! and Kubernetes before 1.22 refuses such Events about cluster-scoped objects as invalid
//! (422); there the same reason and note go out as an old-style `core/v1` Event (no
//! `eventTime`) in the namespace `default`, which every version accepts and `kubectl
//! describe` shows.

use k8s_openapi::api::core::v1::{Event as CoreEvent, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::PostParams;
use kube::runtime::events::{Event, EventType};
use kube::{Api, Resource, ResourceExt};

use crate::controller::Context;
use crate::crd::Tenant;

/// Who writes the Events.
const COMPONENT: &str = "boxoffice-operator";
/// Where Events about cluster-scoped objects live.
const NAMESPACE: &str = "default";

/// Publishes an Event on `tenant`; a failure is logged, never fails the reconcile.
pub async fn publish(ctx: &Context, tenant: &Tenant, type_: EventType, reason: &str, note: &str) {
    let event = Event {
        type_,
        reason: reason.chars().take(128).collect(),
        note: Some(note.chars().take(1000).collect()),
        action: "Reconcile".into(),
        secondary: None,
    };
    let reference = tenant.object_ref(&());
    let refused = match ctx.recorder.publish(&event, &reference).await {
        Ok(()) => return,
        Err(kube::Error::Api(status)) if status.code == 422 => status.message,
        Err(e) => {
            tracing::warn!(tenant = %tenant.name_any(), reason = %event.reason, error = %e,
                "could not publish an Event");
            return;
        }
    };
    tracing::debug!(tenant = %tenant.name_any(), refused = %refused,
        "events.k8s.io/v1 refused an Event on a cluster-scoped object; writing core/v1");
    let core = core_event(&reference, &event, &ctx.identity, Timestamp::now());
    let api: Api<CoreEvent> = Api::namespaced(ctx.client.clone(), NAMESPACE);
    if let Err(e) = api.create(&PostParams::default(), &core).await {
        tracing::warn!(tenant = %tenant.name_any(), reason = %event.reason, error = %e,
            "could not publish an Event");
    }
}

/// The `core/v1` form of `event` about `regarding`, written at `now`.
fn core_event(
    regarding: &ObjectReference,
    event: &Event,
    instance: &str,
    now: Timestamp,
) -> CoreEvent {
    let type_ = match event.type_ {
        EventType::Normal => "Normal",
        EventType::Warning => "Warning",
    };
    CoreEvent {
        metadata: ObjectMeta {
            generate_name: Some(format!(
                "{}.",
                regarding.name.as_deref().unwrap_or("tenant")
            )),
            namespace: Some(NAMESPACE.into()),
            ..ObjectMeta::default()
        },
        involved_object: regarding.clone(),
        reason: Some(event.reason.clone()),
        message: event.note.clone(),
        type_: Some(type_.into()),
        // No `eventTime` or `action`: those mark the new-style Event, which these API
        // servers accept about a cluster-scoped object only in `kube-system`.
        count: Some(1),
        first_timestamp: Some(Time(now)),
        last_timestamp: Some(Time(now)),
        source: Some(EventSource {
            component: Some(COMPONENT.into()),
            host: None,
        }),
        reporting_component: Some(COMPONENT.into()),
        reporting_instance: Some(instance.into()),
        ..CoreEvent::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_core_event_names_the_tenant_and_keeps_reason_and_note() {
        let regarding = ObjectReference {
            api_version: Some("boxoffice.dev/v1alpha1".into()),
            kind: Some("Tenant".into()),
            name: Some("devoxx".into()),
            uid: Some("uid-1".into()),
            ..ObjectReference::default()
        };
        let event = Event {
            type_: EventType::Warning,
            reason: "ReadyFalse".into(),
            note: Some("database server pg-1 unreachable".into()),
            action: "Reconcile".into(),
            secondary: None,
        };
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let core = core_event(&regarding, &event, "operator-0", now);
        assert_eq!(core.metadata.namespace.as_deref(), Some("default"));
        assert_eq!(core.metadata.generate_name.as_deref(), Some("devoxx."));
        assert_eq!(core.involved_object, regarding);
        assert_eq!(core.type_.as_deref(), Some("Warning"));
        assert_eq!(core.reason.as_deref(), Some("ReadyFalse"));
        assert_eq!(core.message, event.note);
        assert_eq!(core.reporting_instance.as_deref(), Some("operator-0"));
        assert_eq!(core.last_timestamp, Some(Time(now)));
        assert_eq!(
            core.event_time, None,
            "an eventTime makes it a new-style Event"
        );
    }
}
