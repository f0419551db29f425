//! Scenario 12: every scenario before this one ran the operator with the chart's RBAC and
//! nothing more. Taking one verb away from its ClusterRole fails the step that needs it,
//! and the Tenant's status says which step, which object and which verb; applying the chart
//! again heals it.

use boxoffice_e2e::cluster::metric_sum;
use boxoffice_operator::crd::namespace_for;
use k8s_openapi::api::core::v1::Event;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule};
use kube::api::{DeleteParams, ListParams, PostParams};
use kube::Api;

use crate::reading::{condition_of, conditions, summary};
use crate::wait::Wait;
use crate::{report, secs, Suite, OPERATOR_NAMESPACE, RELEASE};

const TENANT: &str = "devoxx";
const POLICY: &str = "default-deny";

impl Suite {
    /// Scenario 12: Without `patch` on NetworkPolicies, a deleted NetworkPolicy cannot be
    /// restored: `NetworkIsolated=False` and `Ready=False`, reason `Forbidden`, with a message
    /// naming the step, the object and the verb. The chart applied again restores the
    /// verb, and the tenant comes back Ready by itself.
    pub(crate) async fn forbidden_step_named(&self) {
        let roles: Api<ClusterRole> = Api::all(self.client.clone());
        let mut role = roles.get(RELEASE).await.expect("the chart's ClusterRole");
        let rules = role.rules.take().unwrap_or_default();
        role.rules = Some(without_verb(
            rules,
            "networking.k8s.io",
            "networkpolicies",
            "patch",
        ));
        roles
            .replace(RELEASE, &PostParams::default(), &role)
            .await
            .expect("take `patch` on networkpolicies away");
        let user = format!("system:serviceaccount:{OPERATOR_NAMESPACE}:{RELEASE}");
        let ns = namespace_for(TENANT);
        self.wait_can_i(&user, "patch", "networkpolicies", &ns, false)
            .await;

        let forbidden_before = self.failures_of("Forbidden");
        let policies: Api<NetworkPolicy> = Api::namespaced(self.client.clone(), &ns);
        policies
            .delete(POLICY, &DeleteParams::default())
            .await
            .expect("delete a NetworkPolicy");
        let mut wait = Wait::new(format!("{TENANT} Ready=False, reason Forbidden"), 60);
        let tenant = loop {
            let t = self.tenant(TENANT).await.expect("tenant");
            let ready = condition_of(conditions(&t), "Ready");
            if ready.is_some_and(|c| c.status == "False" && c.reason == "Forbidden") {
                break t;
            }
            wait.tick(&summary(&t)).await;
        };
        report("Ready=False, reason Forbidden", wait.elapsed());
        let ready = condition_of(conditions(&tenant), "Ready").expect("Ready");
        println!("[cluster]   Ready: {}", ready.message);
        let step = format!("NetworkIsolated: forbidden to apply NetworkPolicy {ns}/{POLICY}");
        assert!(ready.message.starts_with(&step), "{}", summary(&tenant));
        for words in [
            format!("User \"{user}\""),
            "cannot patch resource \"networkpolicies\"".to_string(),
            "the operator's RBAC must allow it".to_string(),
        ] {
            assert!(ready.message.contains(&words), "{words}: {}", ready.message);
        }
        let network = condition_of(conditions(&tenant), "NetworkIsolated").expect("condition");
        assert_eq!(
            (network.status.as_str(), network.reason.as_str()),
            ("False", "Forbidden")
        );
        for kind in ["NamespaceReady", "DatabaseReady"] {
            let c = condition_of(conditions(&tenant), kind).expect("condition");
            assert_eq!(
                c.status,
                "True",
                "{kind} is not what failed: {}",
                summary(&tenant)
            );
        }
        assert!(
            policies.get_opt(POLICY).await.expect("read").is_none(),
            "the NetworkPolicy came back without `patch`"
        );
        assert!(
            self.failures_of("Forbidden") > forbidden_before,
            "no failure counted under reason Forbidden"
        );

        // The Ready transition is an Event on the Tenant, which `kubectl describe` shows.
        // Kubernetes 1.20 refuses the events.k8s.io/v1 form for a cluster-scoped object,
        // so here it arrives as core/v1 in `default`, through the chart's Role.
        self.wait_can_i(&user, "create", "events", "default", true)
            .await;
        self.wait_can_i(&user, "create", "events.events.k8s.io", "default", true)
            .await;
        let events: Api<Event> = Api::namespaced(self.client.clone(), "default");
        let mut wait = Wait::new(format!("a ReadyFalse Event on {TENANT}"), 30);
        let event = loop {
            let found = events
                .list(&ListParams::default().fields(&format!("involvedObject.name={TENANT}")))
                .await
                .expect("list Events");
            let warning = found.items.into_iter().find(|e| {
                e.reason.as_deref() == Some("ReadyFalse")
                    && e.message
                        .as_deref()
                        .is_some_and(|m| m.contains("forbidden"))
            });
            if let Some(e) = warning {
                break e;
            }
            wait.tick(&"no Event yet").await;
        };
        assert_eq!(event.type_.as_deref(), Some("Warning"));
        assert_eq!(event.involved_object.kind.as_deref(), Some("Tenant"));
        report("ReadyFalse Event on the Tenant", wait.elapsed());
        // And nothing beyond the chart: no deletes, no pods, no updates, no RBAC.
        for (verb, resource) in [
            ("delete", "namespaces"),
            ("delete", "secrets"),
            ("create", "pods"),
            ("update", "deployments.apps"),
            ("create", "clusterroles.rbac.authorization.k8s.io"),
            ("create", "events.events.k8s.io"),
        ] {
            self.wait_can_i(&user, verb, resource, &ns, false).await;
        }

        // The chart applied again gives the verb back; the retry (with backoff) heals.
        let healing = std::time::Instant::now();
        self.cluster
            .kubectl_stdin(&["apply", "-f", "-"], &self.chart)
            .expect("apply the chart again");
        self.wait_can_i(&user, "patch", "networkpolicies", &ns, true)
            .await;
        let mut wait = Wait::new(format!("NetworkPolicy {POLICY} restored"), 120);
        while policies.get_opt(POLICY).await.expect("read").is_none() {
            wait.tick(&POLICY).await;
        }
        let took = self
            .wait_all_ready("every tenant Ready with the chart's RBAC again", secs(120))
            .await;
        report(
            "chart applied again: NetworkPolicy restored, every tenant Ready",
            healing.elapsed().max(took),
        );
    }

    /// Waits until the authorizer answers `allowed` for `user` doing `verb` on `resource`.
    async fn wait_can_i(&self, user: &str, verb: &str, resource: &str, ns: &str, allowed: bool) {
        let mut wait = Wait::new(format!("{user} may {verb} {resource}: {allowed}"), 30);
        loop {
            let args = ["auth", "can-i", verb, resource, "-n", ns, "--as", user];
            // `can-i` prints "no" and exits 1 when the answer is no.
            let answer = match self.cluster.kubectl(&args) {
                Ok(out) => out.trim().to_string(),
                Err(e) if format!("{e:#}").contains("(exit status: 1)") => "no".to_string(),
                Err(e) => format!("{e:#}"),
            };
            if answer.ends_with(if allowed { "yes" } else { "no" }) {
                return;
            }
            wait.tick(&answer).await;
        }
    }

    fn failures_of(&self, reason: &str) -> f64 {
        let metrics = self.operator().metrics().expect("read /metrics");
        let label = format!("reason=\"{reason}\"");
        let lines: String = metrics
            .lines()
            .filter(|l| l.contains(&label))
            .collect::<Vec<_>>()
            .join("\n");
        metric_sum(&lines, "boxoffice_operator_failures_total")
    }
}

/// `rules` with `verb` taken away from `resource` of `group` and left for everything else.
fn without_verb(
    rules: Vec<PolicyRule>,
    group: &str,
    resource: &str,
    verb: &str,
) -> Vec<PolicyRule> {
    let mut out = Vec::new();
    for rule in rules {
        let groups = rule.api_groups.clone().unwrap_or_default();
        let resources = rule.resources.clone().unwrap_or_default();
        if !groups.iter().any(|g| g == group) || !resources.iter().any(|r| r == resource) {
            out.push(rule);
            continue;
        }
        let others: Vec<String> = resources
            .iter()
            .filter(|r| *r != resource)
            .cloned()
            .collect();
        if !others.is_empty() {
            out.push(PolicyRule {
                resources: Some(others),
                ..rule.clone()
            });
        }
        out.push(PolicyRule {
            resources: Some(vec![resource.to_string()]),
            verbs: rule.verbs.iter().filter(|v| *v != verb).cloned().collect(),
            ..rule
        });
    }
    out
}
