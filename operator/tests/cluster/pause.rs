//! Scenario 10: a paused tenant gets no write until it is unpaused.

use std::time::{Duration, Instant};

use boxoffice_operator::crd::namespace_for;
use k8s_openapi::api::core::v1::Service;
use kube::api::{Api, DeleteParams};

use crate::reading::{condition_of, conditions, summary};
use crate::wait::Wait;
use crate::{kubectl, report, secs, Suite, POLL};

impl Suite {
    /// Scenario 10: A paused tenant reads `Ready=Unknown` (`Paused`) and a deleted child stays
    /// deleted; unpausing restores it.
    pub(crate) async fn pause_holds_writes(&self) {
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
}
