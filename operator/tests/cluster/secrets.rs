//! Scenario 12 and what it needs: every secret value the test reads from the cluster is
//! remembered, and none may show in any operator replica's log, as is or encoded.

use std::collections::BTreeMap;
use std::path::PathBuf;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use boxoffice_operator::crd::namespace_for;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;

use crate::{Suite, TENANTS};

pub(crate) const DB_PASSWORD: &str = "database password";
pub(crate) const ADMIN_TOKEN: &str = "admin token";
pub(crate) const SIGNING_KEY: &str = "ticket signing key";
pub(crate) const SERVER_PASSWORD: &str = "DatabaseServer admin password";
pub(crate) const API_TOKEN: &str = "API token";
/// Shorter values could show in a log by chance.
const MIN_LEN: usize = 16;

/// Secret values, each with what it is and whose. Messages name a value by these, never by
/// the value itself. (No `Debug`, so no value is printed by accident.)
#[derive(Default, Clone)]
pub(crate) struct SeenSecrets {
    values: BTreeMap<String, (&'static str, String)>,
}

impl SeenSecrets {
    /// Adds a value; true when it is new and replaces one of the same kind and owner.
    pub(crate) fn add(&mut self, kind: &'static str, owner: &str, value: &str) -> bool {
        if self.values.contains_key(value) {
            return false;
        }
        let replaces = self.values.values().any(|(k, o)| *k == kind && o == owner);
        self.values
            .insert(value.to_string(), (kind, owner.to_string()));
        replaces
    }

    fn count(&self, kind: &str) -> usize {
        self.values.values().filter(|(k, _)| *k == kind).count()
    }

    /// How many values of `kind` each owner had.
    fn owners(&self, kind: &str) -> BTreeMap<&str, usize> {
        let mut owners = BTreeMap::new();
        for (k, owner) in self.values.values() {
            if *k == kind {
                *owners.entry(owner.as_str()).or_default() += 1;
            }
        }
        owners
    }

    /// What and whose each value shorter than `len` is.
    fn shorter_than(&self, len: usize) -> Vec<String> {
        self.values
            .iter()
            .filter(|(value, _)| value.len() < len)
            .map(|(_, (kind, owner))| format!("{kind} of {owner}"))
            .collect()
    }

    /// Every place a value shows in `log`: what and whose it is, in which form, on which
    /// line.
    fn found_in(&self, log: &str) -> Vec<String> {
        let mut found = Vec::new();
        for (value, (kind, owner)) in &self.values {
            for (form, needle) in forms(value) {
                if !log.contains(&needle) {
                    continue;
                }
                for (n, line) in log.lines().enumerate() {
                    if line.contains(&needle) {
                        found.push(format!("{kind} of {owner} ({form}) on line {}", n + 1));
                    }
                }
            }
        }
        found
    }
}

/// A value as it could show in a log: as is, in base64 (as in a Secret's `data`), and as
/// the list of bytes that `Debug` prints for a `ByteString`.
fn forms(value: &str) -> [(&'static str, String); 3] {
    let bytes = format!("{:?}", value.as_bytes());
    [
        ("as is", value.to_string()),
        ("base64", STANDARD.encode(value)),
        ("byte list", bytes.trim_matches(['[', ']']).to_string()),
    ]
}

impl Suite {
    pub(crate) fn remember(&self, kind: &'static str, owner: &str, value: &str) {
        let replaces = self
            .secrets
            .lock()
            .expect("secrets lock")
            .add(kind, owner, value);
        if replaces {
            println!("[cluster]   a new {kind} of {owner}");
        }
    }

    /// Notes the secrets the cluster holds now: each tenant's `shop-db` password, admin
    /// token and ticket signing key, the DatabaseServers' admin passwords, and the token
    /// of the kubeconfig the operator runs with.
    pub(crate) async fn remember_secrets(&self) {
        for tenant in TENANTS {
            let secrets: Api<Secret> = Api::namespaced(self.client.clone(), &namespace_for(tenant));
            let keys = [
                ("shop-db", "password", DB_PASSWORD),
                ("shop-admin", "token", ADMIN_TOKEN),
                ("shop-admin", "ticket-signing-key", SIGNING_KEY),
            ];
            for (name, key, kind) in keys {
                let secret = secrets.get_opt(name).await.expect("read a tenant's Secret");
                let data = secret.and_then(|s| s.data).unwrap_or_default();
                if let Some(value) = data.get(key) {
                    self.remember(kind, tenant, &String::from_utf8_lossy(&value.0));
                }
            }
        }
        for pg in self.cluster.servers() {
            self.remember(SERVER_PASSWORD, &pg.name, &pg.password);
        }
        let kubeconfig = std::fs::read_to_string(self.cluster.operator_kubeconfig());
        let kubeconfig = kubeconfig.expect("the operator's kubeconfig");
        for line in kubeconfig.lines() {
            if let Some(token) = line.trim().strip_prefix("token:") {
                self.remember(API_TOKEN, "the operator's kubeconfig", token.trim());
            }
        }
    }

    /// Scenario 12: No secret seen during the test (the tenants' database passwords, rotated
    /// ones too, admin tokens and ticket signing keys, the DatabaseServers' admin passwords,
    /// the operator's API token) shows in the log of either replica.
    pub(crate) async fn no_secret_in_logs(&self) {
        self.remember_secrets().await;
        let seen = self.secrets.lock().expect("secrets lock").clone();
        // Three tenants' first secrets, the rotated password of one, the new secrets of the
        // tenant applied again after deletion; two servers.
        let expected = [
            (DB_PASSWORD, 5),
            (ADMIN_TOKEN, 4),
            (SIGNING_KEY, 4),
            (SERVER_PASSWORD, 2),
            (API_TOKEN, 1),
        ];
        for (kind, at_least) in expected {
            let count = seen.count(kind);
            assert!(
                count >= at_least,
                "{count} × {kind} seen, expected {at_least} at least"
            );
        }
        let short = seen.shorter_than(MIN_LEN);
        assert!(short.is_empty(), "too short to look for: {short:?}");

        let mut logs: Vec<PathBuf> = vec![self.operator().log_path().to_path_buf()];
        logs.extend(self.replicas().iter().map(|r| r.log_path().to_path_buf()));
        assert_eq!(logs.len(), 2, "one log per replica: {logs:?}");
        let mut lines = 0;
        for path in &logs {
            let log = std::fs::read(path).expect("read an operator's log");
            let log = String::from_utf8_lossy(&log);
            // Each replica led for a while: the log is a working operator's.
            assert!(
                log.contains(r#""message":"leading""#),
                "{} does not show its replica leading",
                path.display()
            );
            let found = seen.found_in(&log);
            assert!(
                found.is_empty(),
                "secrets in {}:\n{}",
                path.display(),
                found.join("\n")
            );
            lines += log.lines().count();
        }
        println!(
            "[cluster]   no secret in {} logs ({lines} lines); looked for",
            logs.len()
        );
        for (kind, _) in expected {
            println!("[cluster]     {kind}: {:?}", seen.owners(kind));
        }
    }
}

#[test]
fn finds_a_secret_as_is_or_encoded() {
    let mut seen = SeenSecrets::default();
    seen.add(DB_PASSWORD, "devoxx", "s3cretPassw0rd0123456789");
    seen.add(ADMIN_TOKEN, "jfokus", "adminT0ken0123456789abcd");
    let clean = r#"{"fields":{"message":"database provisioned","tenant":"devoxx"}}"#;
    assert!(seen.found_in(clean).is_empty());

    let uri = "first\npostgres://tenant_devoxx:s3cretPassw0rd0123456789@127.0.0.1/devoxx\n";
    assert_eq!(
        seen.found_in(uri),
        ["database password of devoxx (as is) on line 2"]
    );
    let data = format!("token: {}", STANDARD.encode("adminT0ken0123456789abcd"));
    assert_eq!(
        seen.found_in(&data),
        ["admin token of jfokus (base64) on line 1"]
    );
    let debug = format!("ByteString({:?})", b"adminT0ken0123456789abcd");
    assert_eq!(
        seen.found_in(&debug),
        ["admin token of jfokus (byte list) on line 1"]
    );
    assert_eq!(seen.shorter_than(MIN_LEN), Vec::<String>::new());
}
