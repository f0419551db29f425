//! The Tenant's conditions, computed purely from what the reconcile observed.
//!
//! Five conditions in the `metav1.Condition` shape: `NamespaceReady`, `DatabaseReady`,
//! `NetworkIsolated`, `WorkloadReady`, and `Ready`, which is true when the four are. A
//! condition keeps its `lastTransitionTime` while its status stays the same, so an
//! unchanged tenant computes an identical status and nothing is written.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use crate::controller::Error;

pub const READY: &str = "Ready";
pub const NAMESPACE_READY: &str = "NamespaceReady";
pub const DATABASE_READY: &str = "DatabaseReady";
pub const NETWORK_ISOLATED: &str = "NetworkIsolated";
pub const WORKLOAD_READY: &str = "WorkloadReady";

/// One condition's verdict: status ("True", "False", "Unknown"), reason, message.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub status: &'static str,
    pub reason: String,
    pub message: String,
}

impl Verdict {
    pub fn yes(reason: &str, message: impl Into<String>) -> Self {
        Verdict {
            status: "True",
            reason: reason.into(),
            message: message.into(),
        }
    }
    pub fn no(reason: &str, message: impl Into<String>) -> Self {
        Verdict {
            status: "False",
            reason: reason.into(),
            message: message.into(),
        }
    }
    pub fn unknown(reason: &str, message: impl Into<String>) -> Self {
        Verdict {
            status: "Unknown",
            reason: reason.into(),
            message: message.into(),
        }
    }
}

/// What the reconcile found, step by step. `None` for a step it did not reach.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    pub namespace: Option<Verdict>,
    pub database: Option<Verdict>,
    pub network: Option<Verdict>,
    pub workload: Option<Verdict>,
    /// Overrides `Ready`: an invalid spec or a pause.
    pub ready_override: Option<Verdict>,
}

impl Observed {
    /// Records a failed step: the error goes to the condition of the step it belongs to (the
    /// database, or the step that owns the kind of object a refused or failed API call was
    /// about), so `Ready` names that step; an error of no step overrides `Ready` itself.
    pub fn failed(&mut self, error: &Error) {
        let verdict = Verdict::no(error.reason(), error.condition_message());
        let slot = match error {
            Error::Database { .. }
            | Error::ServerNotFound(_)
            | Error::AdminSecret { .. }
            | Error::NoServer(_) => &mut self.database,
            Error::Kube { kind, .. } => match kind.as_str() {
                "Namespace" | "ResourceQuota" => &mut self.namespace,
                // The shop's credentials and the servers' admin Secrets.
                "Secret" | "DatabaseServer" => &mut self.database,
                "NetworkPolicy" => &mut self.network,
                "ServiceAccount" | "Service" | "Deployment" | "PodDisruptionBudget" | "Ingress" => {
                    &mut self.workload
                }
                _ => &mut self.ready_override,
            },
            _ => &mut self.ready_override,
        };
        *slot = Some(verdict);
    }
}

/// The conditions for `observed`, keeping transition times of unchanged ones.
pub fn conditions(
    previous: &[Condition],
    observed: &Observed,
    generation: Option<i64>,
    now: &Time,
) -> Vec<Condition> {
    let pending = || Verdict::unknown("Pending", "not reached yet");
    let keep = |kind: &str| previous_verdict(previous, kind);
    let namespace = observed
        .namespace
        .clone()
        .or_else(|| keep(NAMESPACE_READY))
        .unwrap_or_else(pending);
    let database = observed
        .database
        .clone()
        .or_else(|| keep(DATABASE_READY))
        .unwrap_or_else(pending);
    let network = observed
        .network
        .clone()
        .or_else(|| keep(NETWORK_ISOLATED))
        .unwrap_or_else(pending);
    let workload = observed
        .workload
        .clone()
        .or_else(|| keep(WORKLOAD_READY))
        .unwrap_or_else(pending);
    let ready = observed.ready_override.clone().unwrap_or_else(|| {
        let parts = [
            (NAMESPACE_READY, &namespace),
            (DATABASE_READY, &database),
            (NETWORK_ISOLATED, &network),
            (WORKLOAD_READY, &workload),
        ];
        match parts.iter().find(|(_, v)| v.status != "True") {
            None => Verdict::yes("Ready", "the shop is serving"),
            Some((kind, v)) => Verdict {
                status: if v.status == "False" {
                    "False"
                } else {
                    "Unknown"
                },
                reason: v.reason.clone(),
                message: format!("{kind}: {}", v.message),
            },
        }
    });
    [
        (READY, ready),
        (NAMESPACE_READY, namespace),
        (DATABASE_READY, database),
        (NETWORK_ISOLATED, network),
        (WORKLOAD_READY, workload),
    ]
    .into_iter()
    .map(|(kind, v)| condition(previous, kind, v, generation, now))
    .collect()
}

fn previous_verdict(previous: &[Condition], kind: &str) -> Option<Verdict> {
    let c = previous.iter().find(|c| c.type_ == kind)?;
    let status = match c.status.as_str() {
        "True" => "True",
        "False" => "False",
        _ => "Unknown",
    };
    Some(Verdict {
        status,
        reason: c.reason.clone(),
        message: c.message.clone(),
    })
}

fn condition(
    previous: &[Condition],
    kind: &str,
    v: Verdict,
    generation: Option<i64>,
    now: &Time,
) -> Condition {
    let last = previous
        .iter()
        .find(|c| c.type_ == kind && c.status == v.status)
        .map(|c| c.last_transition_time.clone())
        .unwrap_or_else(|| now.clone());
    Condition {
        type_: kind.to_string(),
        status: v.status.to_string(),
        reason: v.reason,
        message: v.message,
        observed_generation: generation,
        last_transition_time: last,
    }
}

/// The status of condition `kind`, if present.
pub fn status_of<'a>(conditions: &'a [Condition], kind: &str) -> Option<&'a str> {
    conditions
        .iter()
        .find(|c| c.type_ == kind)
        .map(|c| c.status.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::jiff::Timestamp;

    fn at(seconds: i64) -> Time {
        Time(Timestamp::from_second(seconds).unwrap())
    }

    fn all_good() -> Observed {
        Observed {
            namespace: Some(Verdict::yes("NamespaceActive", "")),
            database: Some(Verdict::yes("DatabaseProvisioned", "")),
            network: Some(Verdict::yes("PoliciesApplied", "")),
            workload: Some(Verdict::yes("ReplicasReady", "4/4")),
            ready_override: None,
        }
    }

    #[test]
    fn ready_when_all_four_are() {
        let c = conditions(&[], &all_good(), Some(3), &at(100));
        assert_eq!(status_of(&c, READY), Some("True"));
        assert_eq!(c.len(), 5);
        assert!(c.iter().all(|c| c.observed_generation == Some(3)));
    }

    #[test]
    fn first_failing_step_explains_ready() {
        let mut o = all_good();
        o.database = Some(Verdict::no(
            "DatabaseServerUnreachable",
            "connection refused",
        ));
        let c = conditions(&[], &o, Some(1), &at(100));
        let ready = c.iter().find(|c| c.type_ == READY).unwrap();
        assert_eq!(ready.status, "False");
        assert_eq!(ready.reason, "DatabaseServerUnreachable");
        assert!(ready.message.contains("connection refused"));
    }

    #[test]
    fn unchanged_conditions_keep_their_transition_time() {
        let first = conditions(&[], &all_good(), Some(1), &at(100));
        let second = conditions(&first, &all_good(), Some(1), &at(200));
        assert_eq!(first, second);
        let mut o = all_good();
        o.workload = Some(Verdict::no("ReplicasNotReady", "3/4"));
        let third = conditions(&second, &o, Some(1), &at(300));
        let workload = third.iter().find(|c| c.type_ == WORKLOAD_READY).unwrap();
        assert_eq!(workload.last_transition_time, at(300));
        let namespace = third.iter().find(|c| c.type_ == NAMESPACE_READY).unwrap();
        assert_eq!(namespace.last_transition_time, at(100));
    }

    #[test]
    fn a_forbidden_apply_fails_its_step_and_ready_names_it() {
        let first = conditions(&[], &all_good(), Some(1), &at(100));
        let refusal = kube::Error::Api(Box::new(kube::core::Status {
            code: 403,
            reason: "Forbidden".into(),
            message: "networkpolicies.networking.k8s.io \"default-deny\" is forbidden: User \
                      \"system:serviceaccount:boxoffice-system:boxoffice-operator\" cannot \
                      patch resource \"networkpolicies\""
                .into(),
            ..Default::default()
        }));
        let error = Error::kube("apply", "NetworkPolicy", "tenant-a/default-deny", refusal);
        let mut observed = Observed::default();
        observed.failed(&error);
        let c = conditions(&first, &observed, Some(1), &at(200));

        let network = c.iter().find(|c| c.type_ == NETWORK_ISOLATED).unwrap();
        assert_eq!(
            (network.status.as_str(), network.reason.as_str()),
            ("False", "Forbidden")
        );
        let ready = c.iter().find(|c| c.type_ == READY).unwrap();
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            ("False", "Forbidden")
        );
        assert!(
            ready.message.starts_with(
                "NetworkIsolated: forbidden to apply NetworkPolicy tenant-a/default-deny"
            ),
            "{}",
            ready.message
        );
        assert!(
            ready.message.contains("cannot patch resource"),
            "{}",
            ready.message
        );
        // The other steps keep what they were.
        assert_eq!(status_of(&c, WORKLOAD_READY), Some("True"));
        assert_eq!(status_of(&c, DATABASE_READY), Some("True"));
    }

    #[test]
    fn failures_go_to_their_step() {
        let step = |error: Error| {
            let mut o = Observed::default();
            o.failed(&error);
            [
                o.namespace.is_some(),
                o.database.is_some(),
                o.network.is_some(),
                o.workload.is_some(),
                o.ready_override.is_some(),
            ]
        };
        let gone = || kube::Error::Api(Box::default());
        let kube = |kind: &str| Error::kube("apply", kind, "x", gone());
        assert_eq!(step(kube("Namespace")), [true, false, false, false, false]);
        assert_eq!(
            step(kube("ResourceQuota")),
            [true, false, false, false, false]
        );
        assert_eq!(step(kube("Secret")), [false, true, false, false, false]);
        assert_eq!(
            step(kube("NetworkPolicy")),
            [false, false, true, false, false]
        );
        assert_eq!(step(kube("Deployment")), [false, false, false, true, false]);
        assert_eq!(step(kube("Ingress")), [false, false, false, true, false]);
        assert_eq!(step(kube("Tenant")), [false, false, false, false, true]);
        let no_server = Error::NoServer("none".into());
        assert_eq!(step(no_server), [false, true, false, false, false]);
        let invalid = Error::Invalid("bad".into());
        assert_eq!(step(invalid), [false, false, false, false, true]);
    }

    #[test]
    fn steps_not_reached_keep_their_last_verdict() {
        let first = conditions(&[], &all_good(), Some(1), &at(100));
        let paused = Observed {
            ready_override: Some(Verdict::unknown("Paused", "spec.paused is true")),
            ..Default::default()
        };
        let c = conditions(&first, &paused, Some(2), &at(200));
        assert_eq!(status_of(&c, READY), Some("Unknown"));
        assert_eq!(status_of(&c, WORKLOAD_READY), Some("True"));
    }
}
