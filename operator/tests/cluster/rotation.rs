//! Scenario 7: rotating a tenant's database credentials on request.

use std::time::Instant;

use boxoffice_operator::crd::namespace_for;
use boxoffice_operator::resources::{DB_SECRET, ROTATION_ACTED_ON};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use kube::{Api, ResourceExt};
use sqlx::Connection;

use crate::postgres::{connect, sqlstate};
use crate::reading::credentials_hash;
use crate::wait::Wait;
use crate::{kubectl, report, secs, unix_nanos, Suite, BAD_PASSWORD};

impl Suite {
    /// Scenario 7: A new `boxoffice.dev/rotate-credentials` value changes the password in the
    /// Secret and on the role (old refused, new accepted) and the pod template's credentials hash.
    pub(crate) async fn credentials_rotate(&self) {
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
        let secret = Api::<Secret>::namespaced(self.client.clone(), &ns)
            .get(DB_SECRET)
            .await
            .expect("shop-db");
        let recorded = secret.annotations().get(ROTATION_ACTED_ON);
        assert_eq!(recorded, Some(&value), "shop-db records the rotation");
        let still = self.db_credentials(name).await;
        assert!(
            still.password == new.password,
            "one rotation changed the password twice"
        );
        let took = self
            .wait_all_ready("every tenant Ready after the rotation", secs(120))
            .await;
        report("tenants Ready after the rollout", took);
    }
}
