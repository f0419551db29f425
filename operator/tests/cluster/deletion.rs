//! Scenario 9: the tenants' deletion policies, `Delete` and `Retain`.

use std::time::Instant;

use boxoffice_operator::crd::{database_for, Tenant};
use kube::api::{Api, DeleteParams};
use sqlx::Connection;

use crate::postgres::{connect, exists_on, sqlstate};
use crate::reading::{is_ready, summary};
use crate::wait::Wait;
use crate::{kubectl, path_str, repo, report, Suite, BAD_PASSWORD};

impl Suite {
    /// Scenario 9: Deleting the `Delete` tenant drops its database and role, then its namespace;
    /// deleting the `Retain` tenant keeps them, and applying it again adopts the database with its
    /// data under a new password.
    pub(crate) async fn deletion_policies(&self) {
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
}
