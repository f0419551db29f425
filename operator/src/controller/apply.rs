//! The only writer of child objects: server-side apply, and only when something differs.
//!
//! A server-side apply of an unchanged object is still a PATCH request, so every desired
//! object is first compared with what the API server holds. "Unchanged" means every field
//! the operator sets has the same value on the server; fields the server or other
//! controllers add (defaults, status, annotations) do not count.

use std::fmt::Debug;

use k8s_openapi::NamespaceResourceScope;
use kube::api::{Patch, PatchParams};
use kube::{Api, Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::{Error, Metrics};
use crate::resources::FIELD_MANAGER;

/// Whether a write happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Unchanged,
    Written,
}

/// Applies a namespaced object unless the server already holds every field of it.
pub async fn apply_namespaced<K>(
    client: &Client,
    metrics: &Metrics,
    object: &K,
) -> Result<Applied, Error>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Clone
        + Debug
        + Serialize
        + DeserializeOwned,
{
    let namespace = object.namespace().unwrap_or_default();
    let api: Api<K> = Api::namespaced(client.clone(), &namespace);
    apply_with(&api, metrics, object).await
}

/// Applies a cluster-scoped object unless the server already holds every field of it.
pub async fn apply_cluster<K>(
    client: &Client,
    metrics: &Metrics,
    object: &K,
) -> Result<Applied, Error>
where
    K: Resource<DynamicType = ()> + Clone + Debug + Serialize + DeserializeOwned,
{
    let api: Api<K> = Api::all(client.clone());
    apply_with(&api, metrics, object).await
}

async fn apply_with<K>(api: &Api<K>, metrics: &Metrics, object: &K) -> Result<Applied, Error>
where
    K: Resource<DynamicType = ()> + Clone + Debug + Serialize + DeserializeOwned,
{
    let kind = K::kind(&()).to_string();
    let name = object.name_any();
    // Errors name the object with its namespace: the same name lives in every tenant's.
    let qualified = match object.namespace() {
        Some(namespace) => format!("{namespace}/{name}"),
        None => name.clone(),
    };
    let desired = serde_json::to_value(object).map_err(|e| Error::Serialize(e.to_string()))?;
    let current = api
        .get_opt(&name)
        .await
        .map_err(|e| Error::kube("read", &kind, &qualified, e))?;
    if let Some(current) = current {
        let current =
            serde_json::to_value(&current).map_err(|e| Error::Serialize(e.to_string()))?;
        if is_subset(&desired, &current) {
            return Ok(Applied::Unchanged);
        }
    }
    api.patch(
        &name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(object),
    )
    .await
    .map_err(|e| Error::kube("apply", &kind, &qualified, e))?;
    metrics.write(&kind);
    tracing::info!(kind = %kind, name = %name, "applied");
    Ok(Applied::Written)
}

/// Whether every field set in `desired` has the same value in `current`. Lists must have
/// the same length and match element by element.
pub fn is_subset(desired: &Value, current: &Value) -> bool {
    match (desired, current) {
        (Value::Object(d), Value::Object(c)) => d.iter().all(|(k, dv)| match c.get(k) {
            Some(cv) => is_subset(dv, cv),
            // An empty value the server drops is no difference.
            None => is_empty(dv),
        }),
        (Value::Array(d), Value::Array(c)) => {
            d.len() == c.len() && d.iter().zip(c).all(|(dv, cv)| is_subset(dv, cv))
        }
        (Value::Number(d), Value::Number(c)) => d.as_f64() == c.as_f64(),
        (d, c) => d == c,
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(o) => o.values().all(is_empty),
        Value::Array(a) => a.is_empty(),
        Value::String(s) => s.is_empty(),
        Value::Bool(b) => !b,
        Value::Number(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn server_defaults_are_no_difference() {
        let desired = json!({"spec": {"ports": [{"port": 80, "targetPort": "http"}]}});
        let current = json!({"spec": {"ports": [{"port": 80, "targetPort": "http",
                                                  "protocol": "TCP"}],
                                       "clusterIP": "10.0.0.1"},
                             "status": {}});
        assert!(is_subset(&desired, &current));
    }

    #[test]
    fn a_changed_or_missing_field_is_a_difference() {
        let desired = json!({"spec": {"replicas": 4}});
        assert!(!is_subset(&desired, &json!({"spec": {"replicas": 3}})));
        assert!(!is_subset(&desired, &json!({"spec": {}})));
        let list = json!({"items": [1, 2]});
        assert!(!is_subset(&list, &json!({"items": [1, 2, 3]})));
    }

    #[test]
    fn empty_desired_values_may_be_absent() {
        let desired = json!({"metadata": {"annotations": {}}, "spec": {"tolerations": []}});
        assert!(is_subset(&desired, &json!({"metadata": {}, "spec": {}})));
    }
}
