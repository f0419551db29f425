//! The Deployment `shop`: `ticketing-service serve`, after `ticketing-service migrate` as
//! init container.
//!
//! Memory request = limit (a pod never gets OOM-killed for a neighbour's burst, and never
//! bursts into one); a CPU request and no CPU limit, so a rush uses the node's idle cores
//! instead of being throttled. Pods spread over nodes (hard, max skew 1) and prefer not to
//! share one; a rollout adds a pod before removing one. The restricted security context:
//! non-root, read-only root filesystem with an emptyDir at `/tmp`, no capabilities, no
//! privilege escalation, RuntimeDefault seccomp.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment,
};
use k8s_openapi::api::core::v1::{
    Affinity, Capabilities, Container, ContainerPort, EmptyDirVolumeSource, EnvVar, EnvVarSource,
    HTTPGetAction, PodAffinityTerm, PodAntiAffinity, PodSecurityContext, PodSpec, PodTemplateSpec,
    Probe, ResourceRequirements, SeccompProfile, SecretKeySelector, SecurityContext,
    TopologySpreadConstraint, Volume, VolumeMount, WeightedPodAffinityTerm,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::quota::max_pods;
use super::secret::{TICKET_SIGNING_KEY, TOKEN, URI};
use super::{
    credentials_hash, metadata, selector, shop_labels, BuildInputs, ADMIN_SECRET, DB_SECRET, SHOP,
};
use crate::validate::ValidTenant;

/// The shop's HTTP port (API, pages, probes and `/metrics`).
pub const SHOP_PORT: i32 = 8080;
/// Database connections each shop process holds at most (`DB_POOL_SIZE`).
pub const DB_POOL_SIZE: i32 = 10;
/// Pod template annotation holding [`credentials_hash`]: a new password rolls the pods.
pub const CREDENTIALS_HASH_ANNOTATION: &str = "boxoffice.dev/credentials-hash";
/// Name of the shop container.
pub const CONTAINER: &str = "ticketing-service";
/// Name of the init container.
pub const MIGRATE_CONTAINER: &str = "migrate";
/// The unprivileged user and group the shop runs as (distroless `nonroot`).
const RUN_AS: i64 = 65532;
const HOSTNAME_TOPOLOGY: &str = "kubernetes.io/hostname";

/// The tenant role's connection limit: every pod the namespace's quota admits
/// ([`max_pods`]: the replicas, a surge pod, one terminating) with a full pool. A
/// migrating init container holds fewer connections than a pool, in one of those pods.
pub fn connection_limit(replicas: i32) -> i32 {
    max_pods(replicas) * DB_POOL_SIZE
}

pub fn deployment(inputs: &BuildInputs) -> Deployment {
    let valid = inputs.valid;
    let annotations = BTreeMap::from([
        (
            CREDENTIALS_HASH_ANNOTATION.to_string(),
            credentials_hash(inputs.credentials),
        ),
        (
            "kubectl.kubernetes.io/default-container".to_string(),
            CONTAINER.to_string(),
        ),
    ]);
    Deployment {
        metadata: metadata(inputs, SHOP, shop_labels(&valid.name)),
        spec: DeploymentSpec {
            replicas: Some(valid.replicas),
            selector: selector(&valid.name),
            strategy: Some(DeploymentStrategy {
                type_: Some("RollingUpdate".into()),
                rolling_update: Some(RollingUpdateDeployment {
                    max_surge: Some(IntOrString::Int(1)),
                    max_unavailable: Some(IntOrString::Int(0)),
                }),
            }),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(shop_labels(&valid.name)),
                    annotations: Some(annotations),
                    ..ObjectMeta::default()
                }),
                spec: Some(pod_spec(valid)),
            },
            ..DeploymentSpec::default()
        },
        ..Deployment::default()
    }
}

fn pod_spec(valid: &ValidTenant) -> PodSpec {
    let mut migrate = container(valid, MIGRATE_CONTAINER, "migrate");
    migrate.env = Some(vec![
        from_secret("DATABASE_URL", DB_SECRET, URI),
        value("RUST_LOG", "info"),
    ]);

    let mut serve = container(valid, CONTAINER, "serve");
    serve.env = Some(vec![
        from_secret("DATABASE_URL", DB_SECRET, URI),
        from_secret("ADMIN_TOKEN", ADMIN_SECRET, TOKEN),
        value("LISTEN_ADDR", &format!("0.0.0.0:{SHOP_PORT}")),
        value("DB_POOL_SIZE", &DB_POOL_SIZE.to_string()),
        from_secret("TICKET_SIGNING_KEY", ADMIN_SECRET, TICKET_SIGNING_KEY),
        value("RUST_LOG", "info"),
    ]);
    serve.ports = Some(vec![ContainerPort {
        name: Some("http".into()),
        container_port: SHOP_PORT,
        protocol: Some("TCP".into()),
        ..ContainerPort::default()
    }]);
    // Ready once migrated with a pool built; `/readyz` does not query the database, so a
    // database blip answers 503s rather than emptying the Service.
    serve.readiness_probe = Some(probe("/readyz", 5, 2, 3));
    // Generous: a pod saturated by a rush answers slowly, and restarting it would help
    // no one.
    serve.liveness_probe = Some(probe("/healthz", 10, 5, 6));

    PodSpec {
        init_containers: Some(vec![migrate]),
        containers: vec![serve],
        service_account_name: Some(SHOP.into()),
        automount_service_account_token: Some(false),
        enable_service_links: Some(false),
        security_context: Some(PodSecurityContext {
            run_as_non_root: Some(true),
            run_as_user: Some(RUN_AS),
            run_as_group: Some(RUN_AS),
            seccomp_profile: Some(runtime_default()),
            ..PodSecurityContext::default()
        }),
        volumes: Some(vec![Volume {
            name: "tmp".into(),
            empty_dir: Some(EmptyDirVolumeSource {
                size_limit: Some(Quantity("64Mi".into())),
                ..EmptyDirVolumeSource::default()
            }),
            ..Volume::default()
        }]),
        topology_spread_constraints: Some(vec![TopologySpreadConstraint {
            max_skew: 1,
            topology_key: HOSTNAME_TOPOLOGY.into(),
            when_unsatisfiable: "DoNotSchedule".into(),
            label_selector: Some(selector(&valid.name)),
            ..TopologySpreadConstraint::default()
        }]),
        affinity: Some(Affinity {
            pod_anti_affinity: Some(PodAntiAffinity {
                preferred_during_scheduling_ignored_during_execution: Some(vec![
                    WeightedPodAffinityTerm {
                        weight: 100,
                        pod_affinity_term: PodAffinityTerm {
                            label_selector: Some(selector(&valid.name)),
                            topology_key: HOSTNAME_TOPOLOGY.into(),
                            ..PodAffinityTerm::default()
                        },
                    },
                ]),
                ..PodAntiAffinity::default()
            }),
            ..Affinity::default()
        }),
        image_pull_secrets: non_empty(valid.image_pull_secrets.clone()),
        node_selector: (!valid.node_selector.is_empty()).then(|| valid.node_selector.clone()),
        tolerations: non_empty(valid.tolerations.clone()),
        ..PodSpec::default()
    }
}

/// A container of the shop's image running `ticketing-service <command>`, with the
/// pod's resources, the restricted security context and `/tmp`.
fn container(valid: &ValidTenant, name: &str, command: &str) -> Container {
    let memory = valid.memory.clone();
    Container {
        name: name.into(),
        image: Some(valid.image.clone()),
        args: Some(vec![command.into()]),
        resources: Some(ResourceRequirements {
            requests: Some(BTreeMap::from([
                ("cpu".to_string(), valid.cpu.clone()),
                ("memory".to_string(), memory.clone()),
            ])),
            // No CPU limit: see the module documentation.
            limits: Some(BTreeMap::from([("memory".to_string(), memory)])),
            ..ResourceRequirements::default()
        }),
        security_context: Some(SecurityContext {
            run_as_non_root: Some(true),
            run_as_user: Some(RUN_AS),
            run_as_group: Some(RUN_AS),
            read_only_root_filesystem: Some(true),
            allow_privilege_escalation: Some(false),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".into()]),
                add: None,
            }),
            seccomp_profile: Some(runtime_default()),
            ..SecurityContext::default()
        }),
        volume_mounts: Some(vec![VolumeMount {
            name: "tmp".into(),
            mount_path: "/tmp".into(),
            ..VolumeMount::default()
        }]),
        ..Container::default()
    }
}

fn runtime_default() -> SeccompProfile {
    SeccompProfile {
        type_: "RuntimeDefault".into(),
        localhost_profile: None,
    }
}

fn probe(path: &str, period: i32, timeout: i32, failures: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.into()),
            port: IntOrString::String("http".into()),
            scheme: Some("HTTP".into()),
            ..HTTPGetAction::default()
        }),
        period_seconds: Some(period),
        timeout_seconds: Some(timeout),
        failure_threshold: Some(failures),
        success_threshold: Some(1),
        ..Probe::default()
    }
}

fn value(name: &str, value: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: Some(value.into()),
        value_from: None,
    }
}

fn from_secret(name: &str, secret: &str, key: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: None,
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: secret.into(),
                key: key.into(),
                optional: Some(false),
            }),
            ..EnvVarSource::default()
        }),
    }
}

fn non_empty<T>(items: Vec<T>) -> Option<Vec<T>> {
    (!items.is_empty()).then_some(items)
}

#[cfg(test)]
#[path = "deployment_tests.rs"]
mod tests;
