//! Steps 4 and 5: what the platform operator does to running tenants, while attendees keep
//! reserving. A credentials rotation and a rolling restart must go unnoticed by the
//! rotated shop's attendees; deleting a tenant whose shop is connected takes its database
//! away (its shop answers 503, never 500) and must go unnoticed by every other tenant.

use std::collections::BTreeMap;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use super::kubectl::{namespace, ShopSecrets};
use super::ledger::{self, BAD_PASSWORD};
use super::poll::{self, report, secs};
use super::shop::TenantShop;
use super::traffic::{Trickle, TricklePlan};
use super::{Suite, DELETED, RUSHED, SERVED};

/// The tenant whose credentials are rotated.
const ROTATED: &str = "devoxx";
/// Seats added to each rushed event so the later traffic gets 201s, not only 412s.
const MORE_SEATS: i64 = 10_000;
/// What the deleted tenant's attendees may see.
const SERVED_OR_GONE: [&str; 3] = ["201", "412 not_enough_seats", "503 database_unavailable"];
const GONE: [&str; 1] = ["503 database_unavailable"];

impl Suite {
    /// One rotation gives one new password: `shop-db` still holds `new`.
    fn assert_rotated_once(&self, new: &ShopSecrets) {
        let now = self.platform.shop_secrets(ROTATED);
        assert!(
            now.password == new.password,
            "{ROTATED}: one rotation changed the password twice"
        );
    }

    /// Step 4: `boxoffice.dev/rotate-credentials` gives the tenant a new password; the
    /// old one opens no new connection; the 4 processes restart one by one with the new
    /// `uri`, and the attendees see nothing but 201 and 412 throughout.
    pub(super) async fn rotate_credentials(&mut self) {
        for (tenant, _) in RUSHED {
            self.shops[tenant].add_seats("combi", MORE_SEATS).await;
        }
        let trickles = self.trickles(&RUSHED.map(|(t, _)| t)).await;
        let old = self.platform.shop_secrets(ROTATED);
        let generation = self.platform.deployment(ROTATED)["metadata"]["generation"].as_i64();

        let asked = Instant::now();
        let value = format!("e2e-{}", unix_nanos());
        let annotation = format!("boxoffice.dev/rotate-credentials={value}");
        self.platform
            .kubectl(&["annotate", "tenant", ROTATED, &annotation, "--overwrite"]);
        let (new, took) = poll::until("a new password in shop-db", secs(90), || {
            let secrets = self.platform.shop_secrets(ROTATED);
            let changed = secrets.password != old.password;
            async move {
                if changed {
                    Ok(secrets)
                } else {
                    Err("unchanged")
                }
            }
        })
        .await;
        report(&format!("{ROTATED}: shop-db holds a new password"), took);
        assert!(
            new.database_url != old.database_url,
            "the uri in shop-db did not change with the password"
        );

        // The Secret and the role's password are two writes: wait for both.
        let (_, took) = poll::until("new password in, old one out", secs(60), || async {
            let new_login = ledger::connect(&new.database_url).await;
            let old_login = ledger::connect(&old.database_url).await;
            match (new_login, old_login) {
                (Ok(_), Err(e)) if ledger::sqlstate(&e).as_deref() == Some(BAD_PASSWORD) => Ok(()),
                (n, o) => Err(format!("new: {:?}; old: {:?}", n.err(), o.err())),
            }
        })
        .await;
        report(
            &format!("{ROTATED}: new password logs in, old one refused ({BAD_PASSWORD})"),
            asked.elapsed(),
        );
        println!(
            "[platform]   (measured {:.1} s after the Secret changed)",
            took.as_secs_f64()
        );

        // The running processes keep their open connections until they restart.
        let rotated = Instant::now();
        trickles[ROTATED]
            .wait_for("201", 5, rotated, secs(60))
            .await;
        self.assert_rotated_once(&new);
        let shop = self.shops.get_mut(ROTATED).expect("rotated shop");
        let restarts = shop.rolling_restart(&new).await;
        let per_process: Vec<String> = restarts
            .iter()
            .map(|d| format!("{:.1} s", d.as_secs_f64()))
            .collect();
        report(
            &format!("{ROTATED}: 4 processes restarted one by one ({per_process:?})"),
            rotated.elapsed(),
        );
        let restarted = Instant::now();
        trickles[ROTATED]
            .wait_for("201", 20, restarted, secs(60))
            .await;
        report(
            &format!("{ROTATED}: 20 reservations after the restart"),
            restarted.elapsed(),
        );
        self.wait_rolled_out(ROTATED, generation, asked).await;
        self.assert_rotated_once(&new);

        for (tenant, trickle) in trickles {
            let odd = trickle.unexpected_since(asked, &SERVED);
            let outcomes = trickle.stop().await;
            println!("[platform]   {tenant}: during the rotation {outcomes:?}");
            assert!(
                odd.is_empty(),
                "{tenant}: answers other than 201/412: {odd:#?}"
            );
        }
    }

    /// Step 5: the `Delete` tenant is deleted while its shop is connected and under
    /// light load: its database and role are dropped, its shop answers 503
    /// database_unavailable (never 500) and does not exit, its namespace goes. The other
    /// tenants' shops see only 201 and 412, and their Tenants stay Ready throughout.
    pub(super) async fn delete_connected_tenant(&mut self) {
        let t = self.platform.tenant(DELETED).expect("tenant exists");
        let policy = self.platform.kubectl(&[
            "get",
            "tenant",
            DELETED,
            "-o",
            "jsonpath={.spec.deletionPolicy}",
        ]);
        assert_eq!(
            policy, "Delete",
            "{DELETED} is the example with deletionPolicy Delete"
        );
        let server = self
            .platform
            .pg(t.database_server.as_deref().expect("placed"))
            .clone();
        let secrets = self.platform.shop_secrets(DELETED);
        assert_eq!(
            ledger::exists_on(&server, &secrets.database).await,
            (true, true)
        );

        let log_dir = self.platform.run_dir().join("shops").join(DELETED);
        let replicas = usize::try_from(t.replicas).expect("replicas");
        let shop = tokio::task::block_in_place(|| {
            TenantShop::start(DELETED, &self.binaries.shop, &secrets, replicas, &log_dir)
        });
        shop.create_event(&[("combi", 10_000)]).await;
        self.shops.insert(DELETED.to_string(), shop);
        let mut tenants: Vec<&str> = RUSHED.map(|(t, _)| t).to_vec();
        tenants.push(DELETED);
        let mut trickles = self.trickles(&tenants).await;
        let gone = trickles
            .remove(DELETED)
            .expect("the deleted tenant's trickle");

        let asked = Instant::now();
        self.platform
            .kubectl(&["delete", "tenant", DELETED, "--wait=false"]);
        let (_, took) = poll::until("database and role dropped", secs(120), || {
            self.assert_others_ready();
            let (server, database) = (&server, &secrets.database);
            async move {
                match ledger::exists_on(server, database).await {
                    (false, false) => Ok(()),
                    seen => Err(seen),
                }
            }
        })
        .await;
        report(
            &format!("{DELETED}: database and role dropped on {}", server.name),
            took,
        );
        let dropped = Instant::now();
        gone.wait_for_answers(20, dropped, secs(60)).await;
        report(
            &format!("{DELETED}: 20 answers since the drop"),
            dropped.elapsed(),
        );
        let (_, took) = poll::until("Tenant and namespace gone", secs(180), || {
            self.assert_others_ready();
            let left = (
                self.platform.tenant(DELETED),
                self.platform.namespace_exists(&namespace(DELETED)),
            );
            async move {
                match left {
                    (None, false) => Ok(()),
                    (t, ns) => Err((t.map(|t| t.summary()), ns)),
                }
            }
        })
        .await;
        report(
            &format!("{DELETED}: Tenant and namespace gone"),
            asked.elapsed(),
        );
        println!(
            "[platform]   ({:.1} s after the database was dropped)",
            took.as_secs_f64()
        );

        // The other tenants noticed nothing.
        for (tenant, trickle) in trickles {
            let odd = trickle.unexpected_since(asked, &SERVED);
            let outcomes = trickle.stop().await;
            println!("[platform]   {tenant}: during the deletion {outcomes:?}");
            assert!(odd.is_empty(), "{tenant} noticed the deletion: {odd:#?}");
            assert!(outcomes.get("201").copied().unwrap_or(0) > 0, "{tenant}");
        }
        self.assert_others_ready();

        // The deleted tenant's shop: 503 once its database is gone, and no crash.
        let after_drop = gone.unexpected_since(dropped, &GONE);
        let ever = gone.unexpected_since(asked, &SERVED_OR_GONE);
        let outcomes = gone.stop().await;
        println!("[platform]   {DELETED}: during the deletion {outcomes:?}");
        let mut shop = self.shops.remove(DELETED).expect("deleted tenant's shop");
        let running = shop.all_running();
        let panicked = shop.logs().contains("panicked");
        assert!(
            running && !panicked,
            "{DELETED}: a shop process exited ({}) or panicked ({panicked}):\n{}",
            !running,
            shop.log_tails(30)
        );
        assert!(
            after_drop.is_empty() && ever.is_empty(),
            "{DELETED}: its database dropped, the shop must answer 503 \
             database_unavailable and never 500; answers {outcomes:?}; after the drop: \
             {after_drop:#?}; since the deletion: {ever:#?}"
        );
        let unclean = shop.stop();
        assert!(
            unclean.is_empty(),
            "{DELETED}: no clean exit without a database: {unclean:?}"
        );
    }

    /// One light trickle per tenant, each seen reserving before this returns.
    async fn trickles(&self, tenants: &[&str]) -> BTreeMap<String, Trickle> {
        let mut out = BTreeMap::new();
        let started = Instant::now();
        for tenant in tenants {
            let shop = &self.shops[*tenant];
            let trickle = Trickle::start(shop.endpoints.clone(), &shop.event, TricklePlan::light());
            out.insert(tenant.to_string(), trickle);
        }
        for (tenant, trickle) in &out {
            trickle.wait_for("201", 10, started, secs(60)).await;
            let odd = trickle.unexpected_since(started, &SERVED);
            assert!(
                odd.is_empty(),
                "{tenant} before anything happened: {odd:#?}"
            );
        }
        out
    }

    /// Every rushed tenant is Ready now.
    fn assert_others_ready(&self) {
        for (tenant, _) in RUSHED {
            let t = self.platform.tenant(tenant);
            assert!(
                t.as_ref().is_some_and(|t| t.is_ready()),
                "{tenant} not Ready: {:?}",
                t.map(|t| t.summary())
            );
        }
    }

    /// Waits until the operator changed the Deployment's pod template (the credentials
    /// hash) and every pod is of the new template and ready, then for the Tenant's Ready;
    /// reports both from `asked`.
    async fn wait_rolled_out(&self, tenant: &str, generation_before: Option<i64>, asked: Instant) {
        let (generation, _) = poll::until(&format!("{tenant}: pods rolled"), secs(120), || {
            let d = self.platform.deployment(tenant);
            async move {
                let (spec, status) = (&d["spec"], &d["status"]);
                let generation = d["metadata"]["generation"].as_i64();
                let rolled = generation > generation_before
                    && status["observedGeneration"].as_i64() == generation
                    && [
                        "replicas",
                        "updatedReplicas",
                        "readyReplicas",
                        "availableReplicas",
                    ]
                    .iter()
                    .all(|k| status[k] == spec["replicas"]);
                if rolled {
                    Ok(generation)
                } else {
                    Err(format!("generation {generation:?}, status {status}"))
                }
            }
        })
        .await;
        report(
            &format!(
                "{tenant}: Deployment rolled out, generation {generation_before:?} → \
                 {generation:?}"
            ),
            asked.elapsed(),
        );
        poll::until(&format!("{tenant} Ready"), secs(120), || {
            let t = self.platform.tenant(tenant);
            async move {
                match t {
                    Some(t) if t.is_ready() => Ok(()),
                    t => Err(t.map(|t| t.summary())),
                }
            }
        })
        .await;
        report(
            &format!("{tenant}: Ready after the rollout"),
            asked.elapsed(),
        );
    }
}

fn unix_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos()
}
