//! Scenarios 3 and 4: each tenant's credentials reach its own database only, and the
//! tenants share the two database servers.

use std::collections::{BTreeMap, BTreeSet};

use boxoffice_operator::crd::{database_for, DatabaseServer};
use kube::Api;
use sqlx::{Connection, PgConnection};

use crate::postgres::{connect, sqlstate, DbCredentials};
use crate::reading::condition_of;
use crate::wait::Wait;
use crate::{Suite, BAD_PASSWORD, NO_PRIVILEGE, TENANTS};

impl Suite {
    /// Scenario 3: Each `shop-db` Secret (fields and `uri`) logs in to its tenant's database, and
    /// to no other tenant's: the server refuses it (no CONNECT privilege, or no such role there).
    pub(crate) async fn credentials_isolated(&self) {
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
    pub(crate) async fn servers_shared(&self) {
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
}
