//! The operator against a real Kubernetes 1.20 control plane (`e2e/cluster/`): the example
//! manifests applied with kubectl, the operator binary running as a user would run it, and
//! the two PostgreSQL servers of the cluster holding the tenants' databases.
//!
//! One cluster serves the whole file; the scenarios run in a fixed order, each starting
//! from where the previous one left the tenants, and print how long they took. The test is
//! skipped only when the Kubernetes binaries cannot be built on this machine.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use boxoffice_e2e::cluster::{Cluster, ClusterPg, OperatorProcess};
use boxoffice_operator::controller::MANAGED_BY;
use boxoffice_operator::crd::{database_for, namespace_for, DatabaseServer, Tenant};
use boxoffice_operator::resources::CREDENTIALS_HASH_ANNOTATION;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Pod, ResourceQuota, Secret, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use k8s_openapi::NamespaceResourceScope;
use kube::api::{DeleteParams, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use sqlx::postgres::{PgConnectOptions, PgSslMode};
use sqlx::{ConnectOptions, Connection, PgConnection};

const SHOP_IMAGE: &str = "registry.local/boxoffice/ticketing-service:test";
const TENANTS: [&str; 3] = ["devoxx", "jfokus", "voxxed-zurich"];
const NODES: [&str; 3] = ["node-1", "node-2", "node-3"];
const POLL: Duration = Duration::from_millis(250);
/// SQLSTATE of a failed password check.
const BAD_PASSWORD: &str = "28P01";
/// SQLSTATE of a missing privilege (here: `CONNECT` on another tenant's database).
const NO_PRIVILEGE: &str = "42501";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn operator_on_a_local_control_plane() {
    let started = Instant::now();
    if let Err(e) = tokio::task::block_in_place(Cluster::build) {
        eprintln!(
            "SKIPPED operator_on_a_local_control_plane: the Kubernetes binaries cannot be \
             built here (e2e/cluster/build.sh): {e:#}"
        );
        return;
    }
    let cluster = tokio::task::block_in_place(Cluster::start).expect("start the control plane");
    report("control plane up (up.sh)", started.elapsed());

    let suite = Suite::start(cluster).await;
    step("1 ready", suite.tenants_become_ready()).await;
    step("2 spread", suite.pods_spread_over_nodes()).await;
    step("3 credentials", suite.credentials_isolated()).await;
    step("4 servers", suite.servers_shared()).await;
    step("5 drift", suite.drift_corrected()).await;
    step("6 steady", suite.steady_state_is_quiet()).await;
    step("7 rotation", suite.credentials_rotate()).await;
    step("8 outage", suite.outage_contained()).await;
    step("9 deletion", suite.deletion_policies()).await;
    step("10 pause", suite.pause_holds_writes()).await;
    drop(suite);
    report("whole test, cluster stopped", started.elapsed());
}

/// The running cluster, the operator and an API client. Fields drop in order: the operator
/// stops before the cluster goes.
struct Suite {
    operator: OperatorProcess,
    client: Client,
    cluster: Cluster,
    /// When the example Tenants were applied.
    applied: Instant,
}

impl Suite {
    /// Applies the CRDs, the DatabaseServers (placeholders filled from the cluster's
    /// `pg-N.env`) and the three example Tenants with kubectl, then starts the operator.
    async fn start(cluster: Cluster) -> Suite {
        let crds = repo().join("crds/boxoffice.dev_crds.yaml");
        kubectl(&cluster, &["apply", "-f", path_str(&crds)]);
        kubectl(
            &cluster,
            &[
                "wait",
                "--for=condition=established",
                "--timeout=60s",
                "crd/tenants.boxoffice.dev",
                "crd/databaseservers.boxoffice.dev",
            ],
        );
        let servers = std::fs::read_to_string(repo().join("examples/database-servers.yaml"))
            .expect("read examples/database-servers.yaml");
        let servers = fill_placeholders(&servers, cluster.servers());
        cluster
            .kubectl_stdin(&["apply", "-f", "-"], &servers)
            .expect("apply database servers");
        kubectl(
            &cluster,
            &["apply", "-f", path_str(&repo().join("examples/tenants"))],
        );
        let applied = Instant::now();

        let binary = Path::new(env!("CARGO_BIN_EXE_boxoffice-operator"));
        let operator = tokio::task::block_in_place(|| {
            OperatorProcess::start(&cluster, binary, SHOP_IMAGE, &[])
        })
        .expect("start the operator");
        let client = admin_client(cluster.kubeconfig()).await;
        report("operator started and connected", applied.elapsed());
        Suite {
            operator,
            client,
            cluster,
            applied,
        }
    }

    /// Scenario 1: Every example Tenant reaches `Ready=True` for its current generation, with all
    /// its replicas ready.
    async fn tenants_become_ready(&self) {
        let took = self
            .wait_all_ready("every tenant Ready", Duration::from_secs(180))
            .await;
        report("all three tenants Ready after the operator started", took);
        report(
            "all three tenants Ready after kubectl apply",
            self.applied.elapsed(),
        );
    }

    /// Scenario 2: The scheduler spread each shop's pods over the three nodes with maxSkew 1: 2/1/1
    /// for devoxx's 4 replicas, 1/1/0 for the 2-replica shops.
    async fn pods_spread_over_nodes(&self) {
        for name in TENANTS {
            let replicas = self.replicas_of(name).await;
            if name == "devoxx" {
                assert_eq!(
                    replicas, 4,
                    "devoxx is the example with the default 4 replicas"
                );
            }
            let pods: Api<Pod> = Api::namespaced(self.client.clone(), &namespace_for(name));
            let mut wait = Wait::new(format!("{replicas} scheduled pods of {name}"), 60);
            let per_node = loop {
                let list = pods.list(&ListParams::default()).await.expect("list pods");
                let live: Vec<&Pod> = list
                    .items
                    .iter()
                    .filter(|p| p.metadata.deletion_timestamp.is_none())
                    .collect();
                let nodes: Vec<String> = live
                    .iter()
                    .filter_map(|p| p.spec.as_ref()?.node_name.clone())
                    .collect();
                if live.len() == replicas as usize && nodes.len() == live.len() {
                    break nodes;
                }
                wait.tick(&nodes).await;
            };
            let mut counts: Vec<usize> = NODES
                .iter()
                .map(|n| per_node.iter().filter(|p| p == n).count())
                .collect();
            counts.sort_unstable_by(|a, b| b.cmp(a));
            assert_eq!(
                counts,
                even_spread(replicas as usize, NODES.len()),
                "{name}: pods on nodes {per_node:?}, expected maxSkew 1 over {NODES:?}"
            );
            println!("[cluster]   {name}: {replicas} pods per node {counts:?}");
        }
    }

    /// Scenario 3: Each `shop-db` Secret (fields and `uri`) logs in to its tenant's database, and
    /// to no other tenant's: the server refuses it (no CONNECT privilege, or no such role there).
    async fn credentials_isolated(&self) {
        let mut all = Vec::new();
        for name in TENANTS {
            let creds = self.db_credentials(name).await;
            assert_eq!(creds.database, database_for(name));
            let mut conn = connect(&creds)
                .await
                .unwrap_or_else(|e| panic!("{name}: shop-db credentials do not log in: {e}"));
            let (user, db): (String, String) =
                sqlx::query_as("SELECT current_user::text, current_database()::text")
                    .fetch_one(&mut conn)
                    .await
                    .expect("who am I");
            assert_eq!(
                (user.as_str(), db.as_str()),
                (creds.username.as_str(), creds.database.as_str())
            );
            conn.close().await.expect("close");
            // The URI the shop gets as DATABASE_URL reaches the same database.
            let mut by_uri = PgConnection::connect(&creds.uri)
                .await
                .unwrap_or_else(|e| panic!("{name}: the Secret's uri does not log in: {e}"));
            let db: String = sqlx::query_scalar("SELECT current_database()::text")
                .fetch_one(&mut by_uri)
                .await
                .expect("current database");
            assert_eq!(db, creds.database);
            by_uri.close().await.expect("close");
            all.push((name, creds));
        }
        for (a, mine) in &all {
            for (b, theirs) in &all {
                if a == b {
                    continue;
                }
                // My role and password against their database on their server.
                let attempt = DbCredentials {
                    host: theirs.host.clone(),
                    port: theirs.port,
                    database: theirs.database.clone(),
                    ..mine.clone()
                };
                let err = connect(&attempt)
                    .await
                    .err()
                    .unwrap_or_else(|| panic!("{a}'s credentials log in to {b}'s database"));
                let code = sqlstate(&err);
                assert!(
                    code.as_deref() == Some(NO_PRIVILEGE) || code.as_deref() == Some(BAD_PASSWORD),
                    "{a} → {b}'s database: expected a refusal by the server, got {err}"
                );
            }
        }
    }

    /// Scenario 4: Pins are kept, the tenants cover both servers, and each DatabaseServer reports
    /// `reachable: true`, `Ready=True` and its tenant count.
    async fn servers_shared(&self) {
        let mut placed: BTreeMap<String, String> = BTreeMap::new();
        for name in TENANTS {
            let t = self.tenant(name).await.expect("tenant exists");
            let server = t.status.as_ref().and_then(|s| s.database_server.clone());
            let server = server.unwrap_or_else(|| panic!("{name}: no status.databaseServer"));
            if let Some(pinned) = &t.spec.database_server {
                assert_eq!(&server, pinned, "{name} is pinned to {pinned}");
            }
            placed.insert(name.to_string(), server);
        }
        let used: BTreeSet<&str> = placed.values().map(String::as_str).collect();
        assert_eq!(
            used,
            BTreeSet::from(["pg-1", "pg-2"]),
            "placements {placed:?}"
        );
        println!("[cluster]   placements {placed:?}");

        // Server status is refreshed every 15 s: the counts may lag the placements.
        let servers: Api<DatabaseServer> = Api::all(self.client.clone());
        let mut wait = Wait::new("DatabaseServer status reachable with tenant counts", 60);
        loop {
            let mut seen = BTreeMap::new();
            for pg in ["pg-1", "pg-2"] {
                let status = servers.get(pg).await.expect("read server").status;
                let status = status.unwrap_or_default();
                let ready = condition_of(&status.conditions, "Ready").map(|c| c.status.clone());
                seen.insert(pg, (status.reachable, status.tenants, ready));
            }
            let expected: BTreeMap<&str, _> = ["pg-1", "pg-2"]
                .into_iter()
                .map(|pg| {
                    let count = placed.values().filter(|s| s.as_str() == pg).count() as i32;
                    (pg, (Some(true), Some(count), Some("True".to_string())))
                })
                .collect();
            if seen == expected {
                println!("[cluster]   servers (reachable, tenants, Ready) {seen:?}");
                break;
            }
            wait.tick(&seen).await;
        }
    }

    /// Scenario 5: A deleted Deployment and NetworkPolicy come back, and `kubectl scale` is undone.
    async fn drift_corrected(&self) {
        let ns = namespace_for("devoxx");
        let deployments: Api<Deployment> = Api::namespaced(self.client.clone(), &ns);
        let policies: Api<NetworkPolicy> = Api::namespaced(self.client.clone(), &ns);

        let took = recreated(&deployments, "shop").await;
        report("deleted Deployment shop restored", took);
        let took = recreated(&policies, "default-deny").await;
        report("deleted NetworkPolicy default-deny restored", took);

        let before = deployments.get("shop").await.expect("read deployment");
        let generation = before.metadata.generation.unwrap_or_default();
        let edited = Instant::now();
        kubectl(
            &self.cluster,
            &["-n", &ns, "scale", "deployment/shop", "--replicas=1"],
        );
        let mut wait = Wait::new("replicas of Deployment shop back to 4", 60);
        loop {
            let d = deployments.get("shop").await.expect("read deployment");
            let replicas = d.spec.replicas;
            // The scale and the revert are two spec changes.
            if replicas == Some(4) && d.metadata.generation.unwrap_or_default() >= generation + 2 {
                break;
            }
            wait.tick(&(replicas, d.metadata.generation)).await;
        }
        report("kubectl scale --replicas=1 reverted to 4", edited.elapsed());
        let took = self
            .wait_all_ready("every tenant Ready again", Duration::from_secs(120))
            .await;
        report("tenants Ready again after the drift", took);
    }

    /// Scenario 6: Once settled, 30 s bring no write from the operator (its metric) and no change
    /// to any Tenant or child object (their resourceVersions).
    async fn steady_state_is_quiet(&self) {
        // Settle: everything Ready, and no write for 5 s in a row.
        self.wait_all_ready("every tenant Ready", Duration::from_secs(120))
            .await;
        let mut wait = Wait::new("5 s without a write by the operator", 90);
        let mut last = (self.writes(), Instant::now());
        loop {
            let now = self.writes();
            if now != last.0 {
                last = (now, Instant::now());
            } else if last.1.elapsed() >= Duration::from_secs(5) {
                break;
            }
            wait.tick(&now).await;
        }

        let writes = self.writes();
        let versions = self.resource_versions().await;
        assert!(versions.len() >= 30, "too few children found: {versions:?}");
        let quiet = Instant::now();
        while quiet.elapsed() < Duration::from_secs(30) {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let writes_after = self.writes();
        let versions_after = self.resource_versions().await;
        assert_eq!(
            writes_after,
            writes,
            "the operator wrote in steady state: {}",
            self.operator.metrics().unwrap_or_default()
        );
        let changed: Vec<_> = versions
            .iter()
            .filter(|(k, v)| versions_after.get(*k) != Some(*v))
            .map(|(k, _)| k)
            .collect();
        assert!(
            changed.is_empty(),
            "objects changed in steady state: {changed:?}"
        );
        println!(
            "[cluster]   {} writes before and after 30 s; {} objects unchanged",
            writes,
            versions.len()
        );
    }

    /// Scenario 7: A new `boxoffice.dev/rotate-credentials` value changes the password in the
    /// Secret and on the role (old refused, new accepted) and the pod template's credentials hash.
    async fn credentials_rotate(&self) {
        let name = "devoxx";
        let ns = namespace_for(name);
        let deployments: Api<Deployment> = Api::namespaced(self.client.clone(), &ns);
        let old = self.db_credentials(name).await;
        let old_hash = credentials_hash(&deployments.get("shop").await.expect("deployment"));
        let value = format!("test-{}", unix_nanos());

        let asked = Instant::now();
        let annotation = format!("boxoffice.dev/rotate-credentials={value}");
        kubectl(
            &self.cluster,
            &["annotate", "tenant", name, &annotation, "--overwrite"],
        );
        let mut wait = Wait::new("a new password in Secret shop-db", 60);
        let new = loop {
            let creds = self.db_credentials(name).await;
            if creds.password != old.password {
                break creds;
            }
            wait.tick(&"password unchanged").await;
        };
        report("Secret shop-db holds a new password", asked.elapsed());

        // The Secret is written before the role's password: wait for the role.
        let mut wait = Wait::new("the new password logging in", 30);
        loop {
            match connect(&new).await {
                Ok(conn) => {
                    conn.close().await.expect("close");
                    break;
                }
                Err(e) => wait.tick(&e.to_string()).await,
            }
        }
        report("the new password logs in", asked.elapsed());
        let err = connect(&old)
            .await
            .expect_err("the old password still logs in");
        assert_eq!(
            sqlstate(&err).as_deref(),
            Some(BAD_PASSWORD),
            "old password: {err}"
        );

        let mut wait = Wait::new("a new credentials hash on the pod template", 60);
        loop {
            let hash = credentials_hash(&deployments.get("shop").await.expect("deployment"));
            if hash.is_some() && hash != old_hash {
                break;
            }
            wait.tick(&hash).await;
        }
        report(
            "pod template annotation credentials-hash changed",
            asked.elapsed(),
        );
        let t = self.tenant(name).await.expect("tenant");
        let acted_on = t.status.and_then(|s| s.credentials_rotation);
        assert_eq!(acted_on.as_deref(), Some(value.as_str()));
        let took = self
            .wait_all_ready("every tenant Ready after the rotation", secs(120))
            .await;
        report("tenants Ready after the rollout", took);
    }

    /// Scenario 8: Stopping pg-1 turns only its tenants `DatabaseReady=False` while the tenants on
    /// pg-2 stay Ready throughout; all recover when it is back.
    async fn outage_contained(&self) {
        let down = "pg-1";
        let placed = self.placements().await;
        let hit: Vec<&str> = TENANTS.into_iter().filter(|t| placed[*t] == down).collect();
        let spared: Vec<&str> = TENANTS.into_iter().filter(|t| placed[*t] != down).collect();
        assert!(
            !hit.is_empty() && !spared.is_empty(),
            "placements {placed:?}"
        );
        println!("[cluster]   stopping {down}: {hit:?} on it, {spared:?} elsewhere");

        let stopped = Instant::now();
        tokio::task::block_in_place(|| self.cluster.stop_pg(down)).expect("stop the server");
        let mut wait = Wait::new(format!("DatabaseReady=False for {hit:?}"), 120);
        loop {
            let seen = self.conditions_of(&TENANTS).await;
            for name in &spared {
                assert_eq!(
                    (seen[*name].0.as_str(), seen[*name].1.as_str()),
                    ("True", "True"),
                    "{name} is on another server and must stay Ready: {seen:?}"
                );
            }
            if hit.iter().all(|t| seen[*t].1 == "False") {
                for name in &hit {
                    assert_ne!(
                        seen[*name].0, "True",
                        "{name} Ready while its database is down"
                    );
                }
                break;
            }
            wait.tick(&seen).await;
        }
        report(
            &format!("{hit:?} DatabaseReady=False after {down} stopped"),
            stopped.elapsed(),
        );
        self.wait_server_reachable(down, false).await;
        report(
            &format!("DatabaseServer {down} reachable=false"),
            stopped.elapsed(),
        );

        let restarted = Instant::now();
        tokio::task::block_in_place(|| self.cluster.start_pg(down)).expect("start the server");
        let mut wait = Wait::new(format!("{hit:?} recovered"), 120);
        loop {
            let seen = self.conditions_of(&TENANTS).await;
            for name in &spared {
                assert_eq!(seen[*name].0, "True", "{name} must stay Ready: {seen:?}");
            }
            if hit
                .iter()
                .all(|t| seen[*t] == ("True".to_string(), "True".to_string()))
            {
                break;
            }
            wait.tick(&seen).await;
        }
        report(
            &format!("{hit:?} Ready and DatabaseReady again"),
            restarted.elapsed(),
        );
        self.wait_server_reachable(down, true).await;
        report(
            &format!("DatabaseServer {down} reachable=true"),
            restarted.elapsed(),
        );
        self.wait_all_ready("every tenant Ready", secs(60)).await;
    }

    /// Scenario 9: Deleting the `Delete` tenant drops its database and role, then its namespace;
    /// deleting the `Retain` tenant keeps them, and applying it again adopts the database with its
    /// data under a new password.
    async fn deletion_policies(&self) {
        let tenants: Api<Tenant> = Api::all(self.client.clone());
        let placed = self.placements().await;

        // Delete: database and role go, then the namespace.
        let name = "jfokus";
        let t = self.tenant(name).await.expect("tenant");
        assert_eq!(format!("{:?}", t.spec.deletion_policy), "Delete");
        let server = self.cluster.pg(&placed[name]).clone();
        let database = database_for(name);
        assert_eq!(exists_on(&server, &database).await, (true, true));
        let asked = Instant::now();
        tenants
            .delete(name, &DeleteParams::default())
            .await
            .expect("delete tenant");
        self.wait_tenant_gone(name).await;
        report(&format!("Tenant {name} (Delete) gone"), asked.elapsed());
        assert_eq!(
            exists_on(&server, &database).await,
            (false, false),
            "database and role of {name} on {} after deletion (database, role)",
            server.name
        );
        self.wait_namespace_gone(name).await;
        report(&format!("namespace of {name} gone"), asked.elapsed());

        // Retain: write data with the old credentials, delete, check it is all kept.
        let name = "voxxed-zurich";
        let t = self.tenant(name).await.expect("tenant");
        assert_eq!(format!("{:?}", t.spec.deletion_policy), "Retain");
        let server = self.cluster.pg(&placed[name]).clone();
        let database = database_for(name);
        let old = self.db_credentials(name).await;
        let mut conn = connect(&old).await.expect("old credentials log in");
        sqlx::query("CREATE TABLE keepsake (note text NOT NULL)")
            .execute(&mut conn)
            .await
            .expect("create table");
        sqlx::query("INSERT INTO keepsake VALUES ('written before deletion')")
            .execute(&mut conn)
            .await
            .expect("insert");
        conn.close().await.expect("close");

        let asked = Instant::now();
        tenants
            .delete(name, &DeleteParams::default())
            .await
            .expect("delete tenant");
        self.wait_tenant_gone(name).await;
        report(&format!("Tenant {name} (Retain) gone"), asked.elapsed());
        assert_eq!(
            exists_on(&server, &database).await,
            (true, true),
            "database and role of {name} on {} must be retained",
            server.name
        );
        self.wait_namespace_gone(name).await;
        report(&format!("namespace of {name} gone"), asked.elapsed());

        // Applied again: the database is adopted with a new password.
        let again = Instant::now();
        let manifest = repo().join("examples/tenants/voxxed-zurich.yaml");
        kubectl(&self.cluster, &["apply", "-f", path_str(&manifest)]);
        let mut wait = Wait::new(format!("{name} Ready again"), 180);
        loop {
            match self.tenant(name).await {
                Some(t) if is_ready(&t) => break,
                t => wait.tick(&t.map(|t| summary(&t))).await,
            }
        }
        report(&format!("{name} applied again and Ready"), again.elapsed());
        let new = self.db_credentials(name).await;
        assert_ne!(
            new.password, old.password,
            "an adopted database gets a new password"
        );
        let mut conn = connect(&new).await.expect("new credentials log in");
        let notes: Vec<String> = sqlx::query_scalar("SELECT note FROM keepsake")
            .fetch_all(&mut conn)
            .await
            .expect("read the retained table");
        assert_eq!(notes, ["written before deletion"]);
        conn.close().await.expect("close");
        let err = connect(&old)
            .await
            .expect_err("the old password still logs in");
        assert_eq!(
            sqlstate(&err).as_deref(),
            Some(BAD_PASSWORD),
            "old password: {err}"
        );
    }

    /// Scenario 10: A paused tenant reads `Ready=Unknown` (`Paused`) and a deleted child stays
    /// deleted; unpausing restores it.
    async fn pause_holds_writes(&self) {
        let name = "devoxx";
        let ns = namespace_for(name);
        let services: Api<Service> = Api::namespaced(self.client.clone(), &ns);
        let asked = Instant::now();
        let paused = r#"{"spec":{"paused":true}}"#;
        kubectl(
            &self.cluster,
            &["patch", "tenant", name, "--type=merge", "-p", paused],
        );
        let mut wait = Wait::new(format!("{name} Ready=Unknown, reason Paused"), 60);
        loop {
            let t = self.tenant(name).await.expect("tenant");
            let ready = condition_of(conditions(&t), "Ready");
            let current =
                t.status.as_ref().and_then(|s| s.observed_generation) == t.metadata.generation;
            if current && ready.is_some_and(|c| c.status == "Unknown" && c.reason == "Paused") {
                break;
            }
            wait.tick(&summary(&t)).await;
        }
        report(&format!("{name} Ready=Unknown/Paused"), asked.elapsed());

        let service_writes = self.writes_of("Service");
        services
            .delete("shop", &DeleteParams::default())
            .await
            .expect("delete service");
        let held = Instant::now();
        let mut polls = 0;
        while held.elapsed() < Duration::from_secs(15) {
            polls += 1;
            assert!(polls < 200, "too many polls");
            let service = services.get_opt("shop").await.expect("read service");
            assert!(
                service.is_none(),
                "Service shop restored while {name} is paused"
            );
            tokio::time::sleep(POLL).await;
        }
        assert_eq!(
            self.writes_of("Service"),
            service_writes,
            "Service written while paused"
        );
        println!("[cluster]   Service shop still absent after 15 s paused");

        let resumed = Instant::now();
        let unpaused = r#"{"spec":{"paused":false}}"#;
        kubectl(
            &self.cluster,
            &["patch", "tenant", name, "--type=merge", "-p", unpaused],
        );
        let mut wait = Wait::new("Service shop restored after unpausing", 60);
        while services
            .get_opt("shop")
            .await
            .expect("read service")
            .is_none()
        {
            wait.tick(&"absent").await;
        }
        report("Service shop restored after unpausing", resumed.elapsed());
        self.wait_all_ready("every tenant Ready after unpausing", secs(120))
            .await;
        report(&format!("{name} Ready after unpausing"), resumed.elapsed());
    }

    // Reading the cluster.

    async fn tenant(&self, name: &str) -> Option<Tenant> {
        Api::<Tenant>::all(self.client.clone())
            .get_opt(name)
            .await
            .expect("read tenant")
    }

    async fn replicas_of(&self, name: &str) -> i32 {
        let t = self.tenant(name).await.expect("tenant");
        t.spec
            .shop
            .replicas
            .unwrap_or(boxoffice_operator::crd::DEFAULT_REPLICAS)
    }

    /// Waits until every tenant of [`TENANTS`] still present is Ready for its current
    /// generation with all its replicas ready; returns how long that took.
    async fn wait_all_ready(&self, what: &str, limit: Duration) -> Duration {
        let api: Api<Tenant> = Api::all(self.client.clone());
        let mut wait = Wait::new(what, limit.as_secs());
        loop {
            let list = api
                .list(&ListParams::default())
                .await
                .expect("list tenants");
            let pending: Vec<String> = list
                .items
                .iter()
                .filter(|t| {
                    let want = t.spec.shop.replicas.unwrap_or(4);
                    let ready = t.status.as_ref().and_then(|s| s.ready_replicas);
                    !is_ready(t) || ready != Some(want)
                })
                .map(summary)
                .collect();
            if pending.is_empty() && !list.items.is_empty() {
                return wait.elapsed();
            }
            wait.tick(&pending).await;
        }
    }

    /// `(Ready, DatabaseReady)` of each tenant; `-` when absent.
    async fn conditions_of(&self, names: &[&str]) -> BTreeMap<String, (String, String)> {
        let mut out = BTreeMap::new();
        for name in names {
            let t = self.tenant(name).await.expect("tenant");
            let get = |kind| {
                condition_of(conditions(&t), kind).map_or("-".to_string(), |c| c.status.clone())
            };
            out.insert(name.to_string(), (get("Ready"), get("DatabaseReady")));
        }
        out
    }

    async fn placements(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for name in TENANTS {
            let t = self.tenant(name).await.expect("tenant");
            let server = t.status.and_then(|s| s.database_server).expect("placed");
            out.insert(name.to_string(), server);
        }
        out
    }

    async fn wait_server_reachable(&self, name: &str, reachable: bool) {
        let servers: Api<DatabaseServer> = Api::all(self.client.clone());
        let mut wait = Wait::new(format!("DatabaseServer {name} reachable={reachable}"), 60);
        loop {
            let status = servers.get(name).await.expect("read server").status;
            let seen = status.and_then(|s| s.reachable);
            if seen == Some(reachable) {
                return;
            }
            wait.tick(&seen).await;
        }
    }

    async fn wait_tenant_gone(&self, name: &str) {
        let mut wait = Wait::new(format!("Tenant {name} deleted"), 120);
        while let Some(t) = self.tenant(name).await {
            wait.tick(&summary(&t)).await;
        }
    }

    async fn wait_namespace_gone(&self, tenant: &str) {
        let namespaces: Api<Namespace> = Api::all(self.client.clone());
        let ns = namespace_for(tenant);
        let mut wait = Wait::new(format!("namespace {ns} deleted"), 120);
        while let Some(n) = namespaces.get_opt(&ns).await.expect("read namespace") {
            wait.tick(&n.status.and_then(|s| s.phase)).await;
        }
    }

    /// The tenant's Secret `shop-db`.
    async fn db_credentials(&self, tenant: &str) -> DbCredentials {
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), &namespace_for(tenant));
        let secret = secrets.get("shop-db").await.expect("read Secret shop-db");
        let data = secret.data.unwrap_or_default();
        let get = |key: &str| {
            let value = data
                .get(key)
                .unwrap_or_else(|| panic!("shop-db has no key {key}"));
            String::from_utf8(value.0.clone()).expect("utf-8 value")
        };
        DbCredentials {
            host: get("host"),
            port: get("port").parse().expect("port"),
            username: get("username"),
            password: get("password"),
            database: get("database"),
            uri: get("uri"),
        }
    }

    /// The resourceVersion of every Tenant and every object the operator made for them.
    async fn resource_versions(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let tenants = Api::<Tenant>::all(self.client.clone());
        for t in tenants
            .list(&ListParams::default())
            .await
            .expect("list tenants")
        {
            out.insert(
                format!("Tenant/{}", t.name_any()),
                t.resource_version().unwrap_or_default(),
            );
            let ns = namespace_for(&t.name_any());
            let namespace = Api::<Namespace>::all(self.client.clone()).get(&ns).await;
            let namespace = namespace.expect("read namespace");
            out.insert(
                format!("Namespace/{ns}"),
                namespace.resource_version().unwrap_or_default(),
            );
            versions::<ResourceQuota>(&self.client, &ns, &mut out).await;
            versions::<NetworkPolicy>(&self.client, &ns, &mut out).await;
            versions::<ServiceAccount>(&self.client, &ns, &mut out).await;
            versions::<Secret>(&self.client, &ns, &mut out).await;
            versions::<Service>(&self.client, &ns, &mut out).await;
            versions::<Deployment>(&self.client, &ns, &mut out).await;
            versions::<Ingress>(&self.client, &ns, &mut out).await;
        }
        out
    }

    fn writes(&self) -> f64 {
        self.operator.writes_total().expect("read /metrics")
    }

    fn writes_of(&self, kind: &str) -> f64 {
        let metrics = self.operator.metrics().expect("read /metrics");
        let prefix = format!("boxoffice_operator_writes_total{{kind=\"{kind}\"}} ");
        metrics
            .lines()
            .filter_map(|l| l.strip_prefix(&prefix)?.trim().parse::<f64>().ok())
            .sum()
    }
}

/// The resourceVersions of the operator's objects of kind `K` in namespace `ns`.
async fn versions<K>(client: &Client, ns: &str, out: &mut BTreeMap<String, String>)
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Clone
        + Debug
        + DeserializeOwned,
{
    let api: Api<K> = Api::namespaced(client.clone(), ns);
    let list = api
        .list(&ListParams::default().labels(MANAGED_BY))
        .await
        .expect("list children");
    for o in list {
        let key = format!("{}/{ns}/{}", K::kind(&()), o.name_any());
        out.insert(key, o.resource_version().unwrap_or_default());
    }
}

/// Deletes `name` and waits until an object of that name with another uid exists.
async fn recreated<K>(api: &Api<K>, name: &str) -> Duration
where
    K: Resource<DynamicType = ()> + Clone + Debug + DeserializeOwned,
{
    let uid = api.get(name).await.expect("read object").uid();
    let started = Instant::now();
    api.delete(name, &DeleteParams::default())
        .await
        .expect("delete object");
    let mut wait = Wait::new(format!("{} {name} recreated", K::kind(&())), 60);
    loop {
        let current = api.get_opt(name).await.expect("read object");
        if current
            .as_ref()
            .is_some_and(|o| o.uid().is_some() && o.uid() != uid)
        {
            return started.elapsed();
        }
        wait.tick(&current.map(|o| o.uid())).await;
    }
}

/// A bounded wait: [`Wait::tick`] sleeps one poll, and panics with what was last seen once
/// the time or the number of polls is used up.
struct Wait {
    what: String,
    started: Instant,
    limit: Duration,
    polls: u64,
}

impl Wait {
    fn new(what: impl Into<String>, limit_secs: u64) -> Wait {
        Wait {
            what: what.into(),
            started: Instant::now(),
            limit: secs(limit_secs),
            polls: 0,
        }
    }

    async fn tick(&mut self, last_seen: &impl Debug) {
        self.polls += 1;
        let max_polls = self.limit.as_millis() as u64 / POLL.as_millis() as u64 + 10;
        if self.started.elapsed() > self.limit || self.polls > max_polls {
            panic!(
                "{}: not within {:?} ({} polls); last seen: {last_seen:#?}",
                self.what, self.limit, self.polls
            );
        }
        tokio::time::sleep(POLL).await;
    }

    fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}

/// What Secret `shop-db` holds.
#[derive(Debug, Clone)]
struct DbCredentials {
    host: String,
    port: u16,
    username: String,
    password: String,
    database: String,
    uri: String,
}

async fn connect(c: &DbCredentials) -> Result<PgConnection, sqlx::Error> {
    let options = PgConnectOptions::new_without_pgpass()
        .host(&c.host)
        .port(c.port)
        .username(&c.username)
        .password(&c.password)
        .database(&c.database)
        .ssl_mode(PgSslMode::Disable);
    match tokio::time::timeout(secs(10), options.connect()).await {
        Ok(result) => result,
        Err(_) => Err(sqlx::Error::PoolTimedOut),
    }
}

fn sqlstate(err: &sqlx::Error) -> Option<String> {
    err.as_database_error()
        .and_then(|d| d.code())
        .map(|c| c.into_owned())
}

/// Whether database `database` and role of the same name exist on `server`, asked as the
/// server's admin role.
async fn exists_on(server: &ClusterPg, database: &str) -> (bool, bool) {
    let admin = DbCredentials {
        host: server.host.clone(),
        port: server.port,
        username: server.user.clone(),
        password: server.password.clone(),
        database: "postgres".into(),
        uri: String::new(),
    };
    let mut conn = connect(&admin).await.expect("admin logs in");
    let (db, role): (bool, bool) = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1), \
                EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)",
    )
    .bind(database)
    .fetch_one(&mut conn)
    .await
    .expect("query the catalog");
    conn.close().await.expect("close");
    (db, role)
}

async fn admin_client(kubeconfig: &Path) -> Client {
    let kubeconfig = Kubeconfig::read_from(kubeconfig).expect("read kubeconfig");
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("kubeconfig");
    Client::try_from(config).expect("API client")
}

fn conditions(t: &Tenant) -> &[Condition] {
    t.status.as_ref().map_or(&[], |s| s.conditions.as_slice())
}

fn condition_of<'a>(conditions: &'a [Condition], kind: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == kind)
}

/// kstatus "current and Ready": `Ready=True` for the generation the status describes.
fn is_ready(t: &Tenant) -> bool {
    let generation = t.metadata.generation;
    let ready = condition_of(conditions(t), "Ready");
    t.status.as_ref().and_then(|s| s.observed_generation) == generation
        && ready.is_some_and(|c| c.status == "True" && c.observed_generation == generation)
}

/// One line for a failure message: generation and every condition.
fn summary(t: &Tenant) -> String {
    let status = t.status.clone().unwrap_or_default();
    let conditions: Vec<String> = status
        .conditions
        .iter()
        .map(|c| format!("{}={} ({}: {})", c.type_, c.status, c.reason, c.message))
        .collect();
    format!(
        "{} gen {:?} observed {:?} readyReplicas {:?}: {}",
        t.name_any(),
        t.metadata.generation,
        status.observed_generation,
        status.ready_replicas,
        conditions.join(", ")
    )
}

fn credentials_hash(d: &Deployment) -> Option<String> {
    let template = d.spec.template.metadata.as_ref()?;
    template
        .annotations
        .as_ref()?
        .get(CREDENTIALS_HASH_ANNOTATION)
        .cloned()
}

/// Pods per node, most first, for `replicas` spread with maxSkew 1 over `nodes`.
fn even_spread(replicas: usize, nodes: usize) -> Vec<usize> {
    (0..nodes)
        .map(|i| replicas / nodes + usize::from(i < replicas % nodes))
        .collect()
}

/// `examples/database-servers.yaml` with `${PGn_PORT}`, `${PGn_USER}`, `${PGn_PASSWORD}`
/// filled in from the cluster's servers.
fn fill_placeholders(manifest: &str, servers: &[ClusterPg]) -> String {
    let mut out = manifest.to_string();
    for pg in servers {
        let n = pg.name.trim_start_matches("pg-");
        out = out
            .replace(&format!("${{PG{n}_PORT}}"), &pg.port.to_string())
            .replace(&format!("${{PG{n}_USER}}"), &pg.user)
            .replace(&format!("${{PG{n}_PASSWORD}}"), &pg.password);
    }
    assert!(
        !out.contains("${"),
        "a placeholder is left unfilled:\n{out}"
    );
    out
}

fn kubectl(cluster: &Cluster, args: &[&str]) -> String {
    cluster.kubectl(args).unwrap_or_else(|e| panic!("{e:#}"))
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn unix_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos()
}

async fn step(name: &str, scenario: impl Future<Output = ()>) {
    let started = Instant::now();
    println!("[cluster] {name} ...");
    scenario.await;
    report(&format!("{name}: passed"), started.elapsed());
}

fn report(what: &str, took: Duration) {
    println!("[cluster] {what} ({:.1} s)", took.as_secs_f64());
}

#[test]
fn spread_with_max_skew_one() {
    assert_eq!(even_spread(4, 3), [2, 1, 1]);
    assert_eq!(even_spread(2, 3), [1, 1, 0]);
    assert_eq!(even_spread(6, 3), [2, 2, 2]);
}
