//! The Tenant reconcile against a mocked API server, which checks every request in order
//! (see [`crate::controller::fixtures`]), and real PostgreSQL servers.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::runtime::controller::Action;
use tokio::task::JoinHandle;

use super::{error_policy, reconcile};
use crate::controller::fixtures::*;
use crate::controller::Error;
use crate::crd::{DeletionPolicy, Tenant, ROTATE_ANNOTATION};
use crate::database::{credentials_work, generate_password};
use crate::resources::{DesiredObjects, ShopSecrets};

/// Reconciles `tenant` once against `cluster`, with the verifier playing `scenario`;
/// returns the reconcile's result and the writes the verifier saw.
async fn reconcile_in(
    cluster: Cluster,
    tenant: Tenant,
    scenario: Scenario,
) -> (Result<Action, Error>, Vec<Write>) {
    let (ctx, verifier) = testcontext();
    let verifier = verifier.serving(cluster).run(scenario);
    // `ctx` goes with the reconcile, so the verifier sees the client close at its end.
    let result = reconcile(Arc::new(tenant), ctx).await;
    (result, finished(verifier).await)
}

/// The writes the verifier saw, once it is done; its failure, if it failed.
async fn finished(verifier: JoinHandle<Vec<Write>>) -> Vec<Write> {
    tokio::time::timeout(Duration::from_secs(60), verifier)
        .await
        .expect("the verifier finishes")
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
}

/// A string value of an applied Secret.
fn secret_value(body: &serde_json::Value, key: &str) -> String {
    let secret: Secret = serde_json::from_value(body.clone()).expect("a Secret");
    let data = secret.data.expect("data");
    String::from_utf8(data[key].0.clone()).expect("UTF-8")
}

/// A tenant provisioned earlier: its database on a running server with `password`, every
/// child as built, the status settled.
struct Settled {
    server: TestServer,
    password: String,
    tenant: Tenant,
    built: DesiredObjects,
}

/// `tenant` (finalized, as it comes) settled on a fresh server.
async fn settled(tenant: Tenant) -> Settled {
    let server = TestServer::start();
    let password = generate_password();
    server.provision(&password).await;
    let built = desired(&tenant, &server, &password, &shop_secrets());
    let tenant = tenant.with_status(settled_status(built.network_policies.len()));
    Settled {
        server,
        password,
        tenant,
        built,
    }
}

#[tokio::test]
async fn a_new_tenant_first_gets_its_finalizer_and_nothing_else() {
    let tenant = new_tenant();
    let scenario = Scenario::FinalizerCreation(tenant.clone());
    let (result, writes) = reconcile_in(Cluster::default(), tenant, scenario).await;
    assert_eq!(result.expect("reconciled"), Action::await_change());
    assert_eq!(writes.len(), 1);
}

#[tokio::test]
async fn a_new_tenant_is_placed_provisioned_and_applied() {
    let server = Arc::new(TestServer::start());
    let tenant = new_tenant().finalized();
    let scenario = Scenario::FirstApply {
        tenant: tenant.clone(),
        server: server.clone(),
    };
    let cluster = Cluster::with_server(&server);
    let (result, writes) = reconcile_in(cluster, tenant.clone(), scenario).await;

    // The shop is not up yet: look again soon.
    assert_eq!(
        result.expect("reconciled"),
        Action::requeue(Duration::from_secs(10))
    );
    assert!(server.database_exists(DATABASE));

    // The applied Secrets hold the password the role really has, and every child is
    // exactly what the builders make from them.
    let applied = |path: &str| {
        let write = writes
            .iter()
            .rfind(|w| w.path == path && w.method == "PATCH");
        write
            .map(|w| w.body.clone())
            .unwrap_or_else(|| panic!("{path} applied"))
    };
    let db_secret = applied("/api/v1/namespaces/tenant-devoxx/secrets/shop-db");
    let admin_secret = applied("/api/v1/namespaces/tenant-devoxx/secrets/shop-admin");
    let password = secret_value(&db_secret, "password");
    let works = credentials_work(&server.address(), DATABASE, &password, DATABASE).await;
    assert!(
        works.expect("server reachable"),
        "the Secret's password opens the database"
    );
    let secrets = ShopSecrets {
        admin_token: secret_value(&admin_secret, "token"),
        ticket_signing_key: secret_value(&admin_secret, "ticket-signing-key"),
    };
    let built = desired(&tenant, &server, &password, &secrets);
    for (path, object) in children(&built) {
        assert_eq!(applied(&path), object, "{path}");
    }
}

#[tokio::test]
async fn a_settled_tenant_is_only_read() {
    let Settled {
        server,
        tenant,
        built,
        ..
    } = settled(new_tenant().finalized()).await;
    let cluster = Cluster::settled(&server, &built);

    let scenario = Scenario::SteadyState(Box::new(built));
    let (result, writes) = reconcile_in(cluster, tenant, scenario).await;
    assert_eq!(
        result.expect("reconciled"),
        Action::requeue(Duration::from_secs(300))
    );
    assert!(writes.is_empty(), "no write at all: {writes:?}");
}

/// A tenant on a `verify-full` server whose shop was given no CA (as before the operator
/// handed it on) gets it in `shop-db`, and its pods roll onto it; then nothing changes.
#[tokio::test]
async fn a_verify_full_server_hands_its_ca_to_the_shop_and_rolls_the_pods() {
    let server = TestServer::start_tls();
    let ca = server.ca_pem().expect("a CA").to_string();
    let password = generate_password();
    server.provision(&password).await;
    let tenant = new_tenant().finalized();
    let without_ca = built(
        &tenant,
        &server.resource(),
        None,
        &password,
        &shop_secrets(),
    );
    let with_ca = desired(&tenant, &server, &password, &shop_secrets());
    let tenant = tenant.with_status(settled_status(with_ca.network_policies.len()));

    let stale = vec![path_of(&with_ca.db_secret), path_of(&with_ca.deployment)];
    let scenario = Scenario::Stale {
        desired: Box::new(with_ca.clone()),
        stale: stale.clone(),
    };
    let cluster = Cluster::settled(&server, &without_ca);
    let (result, writes) = reconcile_in(cluster, tenant.clone(), scenario).await;
    result.expect("reconciled");
    let paths: Vec<&str> = writes.iter().map(|w| w.path.as_str()).collect();
    assert_eq!(paths, stale, "shop-db and the Deployment alone");
    assert_eq!(secret_value(&writes[0].body, "ca.crt"), ca);
    let uri = secret_value(&writes[0].body, "uri");
    assert!(
        uri.ends_with("?sslmode=verify-full&sslrootcert=/etc/boxoffice/db/ca.crt"),
        "{uri}"
    );
    assert_eq!(
        secret_value(&writes[0].body, "password"),
        password,
        "no rotation"
    );
    let hash = |d: &serde_json::Value| {
        d["spec"]["template"]["metadata"]["annotations"]["boxoffice.dev/credentials-hash"].clone()
    };
    let before = serde_json::to_value(&without_ca.deployment).expect("serialisable");
    assert_ne!(hash(&writes[1].body), hash(&before), "the pods roll");

    // Once applied, the next reconcile finds nothing to do.
    let cluster = Cluster::settled(&server, &with_ca);
    let scenario = Scenario::SteadyState(Box::new(with_ca));
    let (result, writes) = reconcile_in(cluster, tenant, scenario).await;
    result.expect("reconciled");
    assert!(writes.is_empty(), "no write at all: {writes:?}");
}

/// The cache may hand the reconcile that follows a rotation a Tenant whose status does not
/// show it yet; `shop-db` does, and the password stays.
#[tokio::test]
async fn a_rotation_is_acted_on_once_whatever_the_cached_status_says() {
    let rotation = "2026-12-04T21:32:00Z".to_string();
    let mut tenant = new_tenant().finalized();
    tenant.metadata.annotations = Some([(ROTATE_ANNOTATION.to_string(), rotation.clone())].into());
    let Settled {
        server,
        password,
        tenant,
        built,
    } = settled(tenant).await;
    assert_eq!(tenant.status.as_ref().unwrap().credentials_rotation, None);
    let cluster = Cluster::settled(&server, &built);

    let scenario = Scenario::RotationActedOn {
        tenant: tenant.clone(),
        desired: Box::new(built),
        rotation,
    };
    let (result, writes) = reconcile_in(cluster, tenant, scenario).await;
    result.expect("reconciled");
    assert_eq!(writes.len(), 1, "the status alone: {writes:?}");
    assert!(
        credentials_work(&server.address(), DATABASE, &password, DATABASE)
            .await
            .expect("the server answers"),
        "the password was changed"
    );
}

#[tokio::test]
async fn a_refused_apply_fails_its_step_by_name() {
    let Settled {
        server,
        tenant,
        built,
        ..
    } = settled(new_tenant().finalized()).await;
    let refused = path_of(&built.network_policies[0]);
    let cluster = Cluster::settled(&server, &built).without(&refused);

    let scenario = Scenario::ApplyForbidden {
        tenant: tenant.clone(),
        desired: Box::new(built),
        refused: refused.clone(),
    };
    let (result, writes) = reconcile_in(cluster, tenant, scenario).await;
    let error = result.expect_err("the apply was refused");
    assert_eq!(error.reason(), "Forbidden");
    let status = writes.iter().rfind(|w| w.path.ends_with("/status"));
    let status = &status.expect("a status written").body["status"];
    let ready = status["conditions"]
        .as_array()
        .expect("conditions")
        .iter()
        .find(|c| c["type"] == "Ready")
        .expect("Ready");
    let message = ready["message"].as_str().expect("a message");
    let policy = refused.rsplit('/').next().expect("a name");
    let step = format!("NetworkIsolated: forbidden to apply NetworkPolicy tenant-devoxx/{policy}");
    assert!(message.starts_with(&step), "{message}");
    assert!(message.contains("cannot patch resource"), "{message}");
}

#[tokio::test]
async fn a_deleted_deployment_is_the_only_child_applied() {
    let Settled {
        server,
        tenant,
        built,
        ..
    } = settled(new_tenant().finalized()).await;
    let cluster = Cluster::settled(&server, &built).without(&path_of(&built.deployment));

    let scenario = Scenario::DeploymentDeleted {
        tenant: tenant.clone(),
        desired: Box::new(built),
    };
    let (result, writes) = reconcile_in(cluster, tenant, scenario).await;
    assert_eq!(
        result.expect("reconciled"),
        Action::requeue(Duration::from_secs(10))
    );
    let applies: Vec<&str> = writes
        .iter()
        .filter(|w| w.method == "PATCH" && !w.path.ends_with("/status"))
        .map(|w| w.path.as_str())
        .collect();
    assert_eq!(
        applies,
        ["/apis/apps/v1/namespaces/tenant-devoxx/deployments/shop"]
    );
}

#[tokio::test]
async fn a_server_down_sets_database_ready_false_and_applies_nothing() {
    let server = TestServer::down();
    let tenant = new_tenant().finalized().with_status(settled_status(5));
    let scenario = Scenario::ServerDown(tenant.clone());
    let (result, writes) = reconcile_in(Cluster::with_server(&server), tenant, scenario).await;

    let error = result.expect_err("the reconcile fails");
    assert_eq!(error.reason(), "DatabaseServerUnreachable", "{error}");
    assert!(matches!(error, Error::Database { .. }), "{error:?}");
    let paths: Vec<&str> = writes.iter().map(|w| w.path.as_str()).collect();
    let events = "/apis/events.k8s.io/v1/namespaces/default/events";
    let status = "/apis/boxoffice.dev/v1alpha1/tenants/devoxx/status";
    assert_eq!(paths, [status, events, events]);
}

#[tokio::test]
async fn deleting_with_policy_delete_drops_the_database_then_the_finalizer() {
    let server = Arc::new(TestServer::start());
    server.provision(&generate_password()).await;
    let tenant = new_tenant()
        .finalized()
        .with_status(settled_status(5))
        .deleting(DeletionPolicy::Delete);
    let scenario = Scenario::Cleanup {
        tenant: tenant.clone(),
        drops_on: Some(server.clone()),
    };
    let (result, writes) = reconcile_in(Cluster::with_server(&server), tenant, scenario).await;

    assert_eq!(result.expect("cleaned up"), Action::await_change());
    assert!(!server.database_exists(DATABASE));
    assert!(!server.role_exists(DATABASE));
    assert_eq!(writes.len(), 1, "only the finalizer's removal");
}

#[tokio::test]
async fn deleting_with_policy_retain_keeps_the_database() {
    let server = TestServer::start();
    server.provision(&generate_password()).await;
    let tenant = new_tenant()
        .finalized()
        .with_status(settled_status(5))
        .deleting(DeletionPolicy::Retain);
    let scenario = Scenario::Cleanup {
        tenant: tenant.clone(),
        drops_on: None,
    };
    let (result, writes) = reconcile_in(Cluster::with_server(&server), tenant, scenario).await;

    assert_eq!(result.expect("cleaned up"), Action::await_change());
    assert!(server.database_exists(DATABASE));
    assert!(server.role_exists(DATABASE));
    assert_eq!(writes.len(), 1, "only the finalizer's removal");
}

#[tokio::test]
async fn deleting_a_tenant_that_never_had_a_database_drops_nothing() {
    let tenant = new_tenant().finalized().deleting(DeletionPolicy::Delete);
    let scenario = Scenario::Cleanup {
        tenant: tenant.clone(),
        drops_on: None,
    };
    let (result, writes) = reconcile_in(Cluster::default(), tenant, scenario).await;
    assert_eq!(result.expect("cleaned up"), Action::await_change());
    assert_eq!(writes.len(), 1, "only the finalizer's removal");
}

#[tokio::test]
async fn a_paused_tenant_writes_its_status_and_no_child() {
    let tenant = new_tenant()
        .finalized()
        .with_status(settled_status(5))
        .paused();
    let scenario = Scenario::Paused(tenant.clone());
    let (result, writes) = reconcile_in(Cluster::default(), tenant, scenario).await;
    assert_eq!(result.expect("reconciled"), Action::await_change());
    let paths: Vec<&str> = writes.iter().map(|w| w.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/apis/boxoffice.dev/v1alpha1/tenants/devoxx/status",
            "/apis/events.k8s.io/v1/namespaces/default/events"
        ]
    );
}

#[tokio::test]
async fn error_policy_backs_off_longer_per_failure_until_a_success() {
    let tenant = Arc::new(
        new_tenant()
            .finalized()
            .with_status(settled_status(5))
            .paused(),
    );
    let (ctx, verifier) = testcontext();
    let error = Error::NoServer("none reachable".into());
    let delays: Vec<Action> = (0..10)
        .map(|_| error_policy(tenant.clone(), &error, ctx.clone()))
        .collect();
    let seconds = |s| Action::requeue(Duration::from_secs(s));
    assert_eq!(
        delays[..4],
        [seconds(2), seconds(4), seconds(8), seconds(16)]
    );
    assert_eq!(
        delays[8..],
        [seconds(300), seconds(300)],
        "at most 5 minutes"
    );

    // Another tenant's failures are its own.
    let other = Arc::new(crate::validate::fixtures::minimal_tenant("jfokus"));
    assert_eq!(error_policy(other, &error, ctx.clone()), seconds(2));

    // A successful reconcile starts the count again.
    let verifier = verifier.run(Scenario::Paused((*tenant).clone()));
    reconcile(tenant.clone(), ctx.clone())
        .await
        .expect("reconciled");
    assert_eq!(error_policy(tenant, &error, ctx.clone()), seconds(2));
    drop(ctx);
    finished(verifier).await;
}
