//! The Deployment `shop`: `ticketing-service serve`, after `ticketing-service migrate` as
//! init container.
//!
//! Memory request = limit (a pod never gets OOM-killed for a neighbour's burst, and never
//! bursts into one); a CPU request and no CPU limit, so a rush uses the node's idle cores
//! instead of being throttled. Pods spread over nodes (hard, max skew 1) and prefer not to
//! share one; a rollout adds a pod before removing one. The restricted security context:
//! non-root, read-only root filesystem with an emptyDir at `/tmp`, no capabilities, no
//! privilege escalation, RuntimeDefault seccomp.
//!
//! On a `verify-full` server both containers mount `shop-db`'s CA, that key alone and
//! read-only, where the URI's `sslrootcert` points; other keys of `shop-db` reach the
//! containers only as environment variables.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment,
};
use k8s_openapi::api::core::v1::{
    Affinity, Capabilities, Container, ContainerPort, EmptyDirVolumeSource, EnvVar, EnvVarSource,
    HTTPGetAction, KeyToPath, PodAffinityTerm, PodAntiAffinity, PodSecurityContext, PodSpec,
    PodTemplateSpec, Probe, ResourceRequirements, SeccompProfile, SecretKeySelector,
    SecretVolumeSource, SecurityContext, TopologySpreadConstraint, Volume, VolumeMount,
    WeightedPodAffinityTerm,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::credentials::{CA_FILE, CA_MOUNT_DIR};
use super::quota::max_pods;
use super::secret::{CA, TICKET_SIGNING_KEY, TOKEN, URI};
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
/// The volume of `shop-db`'s CA.
const CA_VOLUME: &str = "db-ca";

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
                spec: Some(pod_spec(valid, inputs.credentials.root_cert().is_some())),
            },
            ..DeploymentSpec::default()
        },
        ..Deployment::default()
    }
}

/// The shop's pods; `mount_ca` when `shop-db` holds a CA to verify the server against.
fn pod_spec(valid: &ValidTenant, mount_ca: bool) -> PodSpec {
    let mut migrate = container(valid, MIGRATE_CONTAINER, "migrate", mount_ca);
    migrate.env = Some(vec![
        from_secret("DATABASE_URL", DB_SECRET, URI),
        value("RUST_LOG", "info"),
    ]);

    let mut serve = container(valid, CONTAINER, "serve", mount_ca);
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

    let mut volumes = vec![Volume {
        name: "tmp".into(),
        empty_dir: Some(EmptyDirVolumeSource {
            size_limit: Some(Quantity("64Mi".into())),
            ..EmptyDirVolumeSource::default()
        }),
        ..Volume::default()
    }];
    if mount_ca {
        volumes.push(ca_volume());
    }

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
        volumes: Some(volumes),
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
/// pod's resources, the restricted security context, `/tmp`, and the server's CA when
/// `mount_ca`.
fn container(valid: &ValidTenant, name: &str, command: &str, mount_ca: bool) -> Container {
    let memory = valid.memory.clone();
    let mut mounts = vec![VolumeMount {
        name: "tmp".into(),
        mount_path: "/tmp".into(),
        ..VolumeMount::default()
    }];
    if mount_ca {
        mounts.push(VolumeMount {
            name: CA_VOLUME.into(),
            mount_path: CA_MOUNT_DIR.into(),
            read_only: Some(true),
            ..VolumeMount::default()
        });
    }
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
        volume_mounts: Some(mounts),
        ..Container::default()
    }
}

/// `shop-db`'s CA key alone, as the file [`CA_FILE`]: the password and the URI stay out of
/// the file system. Read-only for everyone; a CA is no secret.
fn ca_volume() -> Volume {
    Volume {
        name: CA_VOLUME.into(),
        secret: Some(SecretVolumeSource {
            secret_name: Some(DB_SECRET.into()),
            items: Some(vec![KeyToPath {
                key: CA.into(),
                path: CA_FILE.into(),
                ..KeyToPath::default()
            }]),
            default_mode: Some(0o444),
            optional: Some(false),
            ..SecretVolumeSource::default()
        }),
        ..Volume::default()
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
