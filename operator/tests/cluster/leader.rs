//! Scenario 11: two replicas of the operator and the Lease that elects the one that works.

use std::time::{Duration, Instant};

use boxoffice_e2e::cluster::{metric_sum, OperatorProcess};
use boxoffice_operator::crd::namespace_for;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::Api;

use crate::reading::recreated;
use crate::wait::Wait;
use crate::{operator_binary, report, secs, Suite, SHOP_IMAGE};

/// The Lease of `--namespace`, whose default the operator runs with here.
const LEASE: &str = "boxoffice-operator";
const LEASE_NAMESPACE: &str = "boxoffice-system";
const SECOND: &str = "boxoffice-operator-second";
/// How long the second replica must stand by without a write.
const STANDING_BY_FOR: Duration = Duration::from_secs(10);

impl Suite {
    /// Scenario 11: A second replica started beside the leading one stands by and writes
    /// nothing; once the first gets SIGTERM, the second takes the Lease and undoes drift.
    pub(crate) async fn leader_hands_over(&self) {
        let leases: Api<Lease> = Api::namespaced(self.client.clone(), LEASE_NAMESPACE);
        let before = lease_spec(&leases).await;
        let first = before.holder_identity.clone().unwrap_or_default();
        let first_pid = self.operator().pid().expect("the first replica runs");
        // Without `--identity` a replica calls itself `<hostname>-<pid>`.
        assert!(
            first.ends_with(&format!("-{first_pid}")),
            "Lease held by {first:?}, not by the running operator (pid {first_pid})"
        );

        let started = Instant::now();
        let mut second = tokio::task::block_in_place(|| {
            let args = ["--identity", SECOND];
            let name = "operator-second";
            OperatorProcess::start_named(&self.cluster, name, operator_binary(), SHOP_IMAGE, &args)
        })
        .expect("start a second replica");
        assert_ne!(second.metrics_addr(), self.operator().metrics_addr());
        let mut wait = Wait::new("the second replica standing by", 30);
        while !log_of(&second).contains("standing by") {
            wait.tick(&second.log_tail(5)).await;
        }
        report("second replica started, standing by", started.elapsed());

        let standing = Instant::now();
        while standing.elapsed() < STANDING_BY_FOR {
            tokio::time::sleep(secs(1)).await;
            let holder = lease_spec(&leases).await.holder_identity;
            assert_eq!(
                holder.as_deref(),
                Some(first.as_str()),
                "the Lease changed hands"
            );
            assert!(
                second.is_running(),
                "the second replica exited: {}",
                second.log_tail(20)
            );
            let metrics = second
                .metrics()
                .expect("read the second replica's /metrics");
            let writes = metric_sum(&metrics, "boxoffice_operator_writes_total");
            let reconciles = metric_sum(&metrics, "boxoffice_operator_reconciles_total");
            assert_eq!(
                (writes, reconciles),
                (0.0, 0.0),
                "the standing-by replica worked (writes, reconciles):\n{metrics}"
            );
        }
        let renewed = lease_spec(&leases).await;
        assert!(
            renewed.renew_time > before.renew_time,
            "the first replica did not renew the Lease in {STANDING_BY_FOR:?}: {:?} then {:?}",
            before.renew_time,
            renewed.renew_time
        );
        println!(
            "[cluster]   {first} kept the Lease for {:.1} s; {SECOND} wrote nothing",
            standing.elapsed().as_secs_f64()
        );

        // SIGTERM to the first; from here the scenarios read the second's metrics.
        let stopped = Instant::now();
        let status = tokio::task::block_in_place(|| self.operator().stop());
        report("first replica stopped (SIGTERM)", stopped.elapsed());
        assert!(
            status.is_some_and(|s| s.success()),
            "the first replica exited with {status:?} on SIGTERM: {}",
            self.operator().log_tail(20)
        );
        let first_process = std::mem::replace(&mut *self.operator(), second);
        self.replicas().push(first_process);

        let mut wait = Wait::new(format!("{SECOND} holding the Lease"), 60);
        let took = loop {
            let spec = lease_spec(&leases).await;
            if spec.holder_identity.as_deref() == Some(SECOND) {
                break stopped.elapsed();
            }
            wait.tick(&(spec.holder_identity, spec.renew_time)).await;
        };
        report(
            "Lease taken by the second replica after SIGTERM to the first",
            took,
        );
        let after = lease_spec(&leases).await;
        assert_eq!(
            after.lease_transitions,
            Some(before.lease_transitions.unwrap_or(0) + 1),
            "one more transition"
        );
        let mut wait = Wait::new(format!("{SECOND} logging that it leads"), 30);
        while !log_of(&self.operator()).contains(r#""message":"leading""#) {
            let tail = self.operator().log_tail(5);
            wait.tick(&tail).await;
        }

        // The new leader reconciles: a deleted NetworkPolicy comes back.
        let writes = self.writes();
        let policy_writes = self.writes_of("NetworkPolicy");
        println!(
            "[cluster]   {} writes by {SECOND} since it took the Lease",
            writes as u64
        );
        let ns = namespace_for("devoxx");
        let policies: Api<NetworkPolicy> = Api::namespaced(self.client.clone(), &ns);
        let took = recreated(&policies, "default-deny").await;
        report(
            "deleted NetworkPolicy default-deny restored by the new leader",
            took,
        );
        assert!(
            self.writes() > writes && self.writes_of("NetworkPolicy") > policy_writes,
            "the new leader counted no write of the NetworkPolicy: {}",
            self.operator().metrics().unwrap_or_default()
        );
        let took = self
            .wait_all_ready("every tenant Ready under the new leader", secs(60))
            .await;
        report("every tenant Ready under the new leader", took);
    }
}

async fn lease_spec(leases: &Api<Lease>) -> LeaseSpec {
    let lease = leases.get_opt(LEASE).await.expect("read the Lease");
    let lease = lease.unwrap_or_else(|| panic!("no Lease {LEASE_NAMESPACE}/{LEASE}"));
    lease.spec.unwrap_or_default()
}

fn log_of(operator: &OperatorProcess) -> String {
    let bytes = std::fs::read(operator.log_path()).expect("read the operator's log");
    String::from_utf8_lossy(&bytes).into_owned()
}
