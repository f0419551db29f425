//! Scenario 8: a database server outage touches only the tenants placed on it.

use std::time::Instant;

use crate::wait::Wait;
use crate::{report, secs, Suite, TENANTS};

impl Suite {
    /// Scenario 8: Stopping pg-1 turns only its tenants `DatabaseReady=False` while the tenants on
    /// pg-2 stay Ready throughout; all recover when it is back.
    pub(crate) async fn outage_contained(&self) {
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
}
