//! The platform end to end, as its users meet it.
//!
//! The platform operator installs the operator's Helm chart on the local Kubernetes 1.20
//! control plane and applies the example DatabaseServers and Tenants with kubectl;
//! `boxoffice-operator`, running with the chart's ServiceAccount token, turns them into
//! namespaces, databases and Secrets. Each shop then runs as local `ticketing-service`
//! processes standing for its pods, started with the `DATABASE_URL` and `ADMIN_TOKEN` from
//! those Secrets; the organizer creates an event through the admin API; attendees rush two
//! shops on two database servers at once. Then the platform operator rotates one tenant's
//! credentials (the shop restarts one process at a time and keeps serving) and deletes the
//! tenant whose policy is `Delete` while its shop is connected, and the other shops never
//! notice.
//!
//! One cluster serves the whole test; the steps run in order, each from where the last
//! left off, and print what they measured. The test is skipped only when the Kubernetes
//! binaries cannot be built here. It needs `ticketing-service` and `boxoffice-operator`
//! built next to it: `cargo test --workspace` builds every binary of the workspace first;
//! with `cargo test -p boxoffice-e2e`, run `cargo build --bins` before.

#[path = "platform/kubectl.rs"]
mod kubectl;
#[path = "platform/ledger.rs"]
mod ledger;
#[path = "platform/lifecycle.rs"]
mod lifecycle;
#[path = "platform/poll.rs"]
mod poll;
#[path = "platform/shop.rs"]
mod shop;
#[path = "platform/traffic.rs"]
mod traffic;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use boxoffice_e2e::cluster::Cluster;
use boxoffice_e2e::load::{self, LoadModel, RushPlan, RushReport};
use boxoffice_e2e::service::workspace_binary;

use kubectl::Platform;
use poll::{report, secs, step};
use shop::TenantShop;

/// The tenants whose shops are rushed, each pinned to its own server in the examples.
const RUSHED: [(&str, &str); 2] = [("devoxx", "pg-1"), ("voxxed-zurich", "pg-2")];
/// The example tenant with `deletionPolicy: Delete`.
const DELETED: &str = "jfokus";
/// Processes per rushed shop, standing for a Deployment's 4 pods.
const PROCESSES: usize = 4;
const CATEGORIES: [(&str, i64); 2] = [("combi", 1_600), ("conference", 400)];
const SEATS: i64 = 2_000;
const RUSH_CLIENTS: usize = 200;
const RUSH_REQUESTS: u64 = 4_000;
const RUSH_LIMIT: Duration = Duration::from_secs(180);
/// What an attendee may see from a healthy shop.
const SERVED: [&str; 2] = ["201", "412 not_enough_seats"];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tenants_are_served_through_a_rush_a_rotation_and_a_deletion() {
    let started = Instant::now();
    let binaries = Binaries::find();
    if let Err(e) = tokio::task::block_in_place(Cluster::build) {
        eprintln!(
            "SKIPPED: the Kubernetes binaries cannot be built here (e2e/cluster/build.sh): {e:#}"
        );
        return;
    }

    let mut suite = step("1 platform up, tenants Ready", Suite::start(binaries)).await;
    step("2 shops open, events created", suite.open_shops()).await;
    step("3 two shops rushed at once", suite.rush()).await;
    step("4 credentials rotated", suite.rotate_credentials()).await;
    step(
        "5 connected tenant deleted",
        suite.delete_connected_tenant(),
    )
    .await;
    let summary = suite.summary();
    step("6 everything stops", suite.stop()).await;
    println!("{summary}");
    report("whole test", started.elapsed());
}

/// The workspace's binaries, next to the test's own `deps/` folder.
struct Binaries {
    shop: PathBuf,
    operator: PathBuf,
}

impl Binaries {
    fn find() -> Binaries {
        Binaries {
            shop: workspace_binary("ticketing-service"),
            operator: workspace_binary("boxoffice-operator"),
        }
    }
}

/// Everything the test started. Fields drop in order: the shops stop first, then the
/// operator and the cluster.
struct Suite {
    shops: BTreeMap<String, TenantShop>,
    platform: Platform,
    binaries: Binaries,
    rushes: Vec<(String, RushReport)>,
}

impl Suite {
    /// Step 1: the control plane, the operator, and the examples applied with kubectl;
    /// every Tenant reaches Ready=True for its generation with all replicas ready.
    async fn start(binaries: Binaries) -> Suite {
        let started = Instant::now();
        let platform = tokio::task::block_in_place(|| Platform::start(&binaries.operator));
        report(
            "control plane up, chart installed, operator running as its ServiceAccount, examples applied",
            started.elapsed(),
        );
        let (_, took) = poll::until("every example Tenant Ready", secs(240), || {
            let tenants = platform.tenants();
            async move {
                let pending: Vec<String> = tenants
                    .iter()
                    .filter(|t| !t.is_ready())
                    .map(|t| t.summary())
                    .collect();
                if tenants.len() == 3 && pending.is_empty() {
                    Ok(())
                } else {
                    Err(format!(
                        "{} tenants, not Ready: {pending:#?}",
                        tenants.len()
                    ))
                }
            }
        })
        .await;
        report("three Tenants Ready after kubectl apply", took);
        print!("{}", platform.kubectl(&["get", "databaseservers"]));
        print!("{}", platform.kubectl(&["get", "tenants"]));
        Suite {
            shops: BTreeMap::new(),
            platform,
            binaries,
            rushes: Vec::new(),
        }
    }

    /// Step 2: for each rushed tenant, on its own server: the Secrets as kubectl shows
    /// them, migrations, 4 shop processes, and an event created with the tenant's token
    /// (a wrong token and none are refused with 401).
    async fn open_shops(&mut self) {
        for (tenant, server) in RUSHED {
            let t = self.platform.tenant(tenant).expect("tenant exists");
            assert_eq!(
                t.database_server.as_deref(),
                Some(server),
                "{tenant} is pinned to {server}"
            );
            let secrets = self.platform.shop_secrets(tenant);
            assert_eq!(
                secrets.database,
                format!("tenant_{}", tenant.replace('-', "_"))
            );
            let log_dir = self.platform.run_dir().join("shops").join(tenant);
            let shop = tokio::task::block_in_place(|| {
                TenantShop::start(tenant, &self.binaries.shop, &secrets, PROCESSES, &log_dir)
            });

            let stats = format!("/admin/v1/events/{}/stats", shop.event);
            let wrong = [
                ("no token", None),
                ("a made-up token", Some("not-the-token")),
                ("the database password", Some(secrets.password.as_str())),
            ];
            for (what, token) in wrong {
                let (status, body) = shop
                    .admin_as(token, reqwest::Method::GET, &stats, None)
                    .await;
                assert_eq!(status, 401, "{tenant}: admin call with {what}: {body}");
                assert_eq!(body["code"], "unauthorized", "{tenant}: {body}");
            }
            let created = Instant::now();
            shop.create_event(&CATEGORIES).await;
            report(
                &format!("{tenant}: event {} created", shop.event),
                created.elapsed(),
            );
            let seats: i64 = shop.stats().await.iter().map(|c| c.free).sum();
            assert_eq!(seats, SEATS, "{tenant}: free seats of a new event");
            self.shops.insert(tenant.to_string(), shop);
        }
    }

    /// Step 3: both shops rushed at once, each over its 4 processes. Only 201 and 412;
    /// every seat sold once: the admin stats hold what the 201s reserved, and the tenant's
    /// own database gives no seat to two reservations.
    async fn rush(&mut self) {
        let plans: Vec<RushPlan> = RUSHED
            .iter()
            .enumerate()
            .map(|(i, (tenant, _))| {
                let shop = &self.shops[*tenant];
                RushPlan {
                    shops: shop.urls(),
                    event: shop.event.clone(),
                    categories: CATEGORIES.iter().map(|(c, _)| c.to_string()).collect(),
                    min_quantity: 1,
                    max_quantity: 4,
                    model: LoadModel::Closed {
                        clients: RUSH_CLIENTS,
                    },
                    max_requests: RUSH_REQUESTS,
                    max_duration: RUSH_LIMIT,
                    seed: 0x0b0c_2026 + i as u64,
                    progress: false,
                    checkout_share: 0.0,
                    checkout_payment: "offline".into(),
                }
            })
            .collect();
        let started = Instant::now();
        let (first, second) =
            tokio::join!(load::run(plans[0].clone()), load::run(plans[1].clone()));
        report("both rushes over", started.elapsed());

        for ((tenant, _), rush) in RUSHED.iter().zip([first, second]) {
            let rush = rush.expect("the load generator ran");
            let shop = &self.shops[*tenant];
            println!(
                "[platform]   {tenant}: {} requests in {:.1} s ({:.0}/s), {} seats in {} \
                 reservations, p50 {:.1} ms, p99 {:.1} ms, outcomes {:?}",
                rush.requests,
                rush.duration_seconds,
                rush.requests_per_second,
                rush.seats_reserved,
                rush.reserved_reservations,
                rush.latency_ms.p50,
                rush.latency_ms.p99,
                rush.outcomes
            );
            assert_eq!(
                rush.requests, RUSH_REQUESTS,
                "{tenant}: the rush ran out of time"
            );
            let odd: Vec<_> = rush
                .outcomes
                .keys()
                .filter(|k| !SERVED.contains(&k.as_str()))
                .collect();
            assert!(
                odd.is_empty(),
                "{tenant}: answers other than 201/412: {:?}",
                rush.outcomes
            );
            assert_eq!(
                (rush.server_errors, rush.transport_errors),
                (0, 0),
                "{tenant}"
            );

            let stats = shop.stats().await;
            let held: i64 = stats.iter().map(|c| c.held).sum();
            for (c, (slug, seats)) in stats.iter().zip(CATEGORIES) {
                assert_eq!(
                    (c.slug.as_str(), c.seats),
                    (slug, seats),
                    "{tenant}: {stats:?}"
                );
                assert_eq!(c.free + c.held, c.seats, "{tenant}: {c:?}");
                assert_eq!(
                    c.free, 0,
                    "{tenant}: a rush for ~5 times the seats leaves {c:?}"
                );
            }
            assert_eq!(held, rush.seats_reserved as i64, "{tenant}: held vs. 201s");

            let ledger =
                ledger::seat_ledger(&self.platform.shop_secrets(tenant).database_url).await;
            println!("[platform]   {tenant}: tables {ledger:?}");
            assert_eq!(ledger.seats, SEATS, "{tenant}: seat rows");
            assert_eq!(
                ledger.taken, rush.seats_reserved as i64,
                "{tenant}: taken seat rows"
            );
            assert_eq!(ledger.reserved, rush.seats_reserved as i64, "{tenant}");
            assert_eq!(
                ledger.reservations, rush.reserved_reservations as i64,
                "{tenant}"
            );
            self.rushes.push((tenant.to_string(), rush));
        }
    }

    /// Step 6: every shop process exits 0 on SIGTERM, the operator stops, and the
    /// cluster's `down.sh` leaves nothing behind.
    async fn stop(mut self) {
        for (tenant, shop) in &mut self.shops {
            let unclean = shop.stop();
            assert!(
                unclean.is_empty(),
                "{tenant}: no clean exit from {unclean:?}"
            );
        }
        assert!(self.platform.stop_operator(), "the operator still runs");
        let run_dir = self.platform.run_dir();
        let started = Instant::now();
        tokio::task::block_in_place(|| drop(self));
        report("cluster stopped (down.sh)", started.elapsed());
        assert!(
            !run_dir.exists(),
            "the cluster's run directory {} is left behind",
            run_dir.display()
        );
    }

    /// Seats and throughput of each rush, for the end of the output.
    fn summary(&self) -> String {
        let mut out = String::from("[platform] summary\n");
        for (tenant, r) in &self.rushes {
            out += &format!(
                "[platform]   {tenant:<14} {SEATS} seats, {} sold to {} reservations; {} requests \
                 at {:.0}/s ({:.0} reservations/s), p50 {:.1} ms, p99 {:.1} ms\n",
                r.seats_reserved,
                r.reserved_reservations,
                r.requests,
                r.requests_per_second,
                r.reservations_per_second,
                r.latency_ms.p50,
                r.latency_ms.p99
            );
        }
        out
    }
}
