//! Tenant validation: every rule of the CRD schema and those it cannot express, and the
//! values the builders use, defaults applied.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{LocalObjectReference, Toleration};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::names::{is_dns_label, is_dns_subdomain, is_host_name, is_label_key, is_label_value};
use super::quantity::{self, ParsedQuantity};
use super::ValidationError;
use crate::crd::{
    database_for, namespace_for, DeletionPolicy, Tenant, DEFAULT_CPU, DEFAULT_MEMORY,
    DEFAULT_REPLICAS, MAX_TENANT_NAME,
};

/// Smallest memory a shop pod may get: below it the shop and its pool do not fit.
pub const MIN_MEMORY_BYTES: u128 = 64 * 1024 * 1024;

/// A Tenant that passed validation, with every default applied.
#[derive(Clone, Debug, PartialEq)]
pub struct ValidTenant {
    pub name: String,
    pub uid: String,
    /// `tenant-<name>`.
    pub namespace: String,
    /// `tenant_<name, '-' as '_'>`: the database and its role.
    pub database: String,
    pub display_name: String,
    /// The DatabaseServer the spec pins the tenant to, if it does.
    pub database_server: Option<String>,
    pub replicas: i32,
    /// Memory of a pod, request and limit, in canonical form.
    pub memory: Quantity,
    pub memory_bytes: u128,
    /// CPU request of a pod, in canonical form.
    pub cpu: Quantity,
    pub cpu_millis: u128,
    /// The spec's image, or the operator's `--shop-image`.
    pub image: String,
    /// Set when the spec has a hostname.
    pub ingress: Option<ShopIngress>,
    pub image_pull_secrets: Vec<LocalObjectReference>,
    pub node_selector: BTreeMap<String, String>,
    pub tolerations: Vec<Toleration>,
    pub deletion_policy: DeletionPolicy,
    pub paused: bool,
}

/// The shop's Ingress.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShopIngress {
    pub hostname: String,
    pub tls_secret_name: Option<String>,
    pub class_name: Option<String>,
}

/// Checks a Tenant and resolves its defaults; `shop_image` is the operator's
/// `--shop-image`, used when the spec names no image.
pub fn validate_tenant(tenant: &Tenant, shop_image: &str) -> Result<ValidTenant, ValidationError> {
    let name = tenant
        .metadata
        .name
        .clone()
        .ok_or(ValidationError::MissingName)?;
    if !is_dns_label(&name, MAX_TENANT_NAME) {
        return Err(ValidationError::InvalidTenantName {
            name,
            max: MAX_TENANT_NAME,
        });
    }
    let uid = tenant
        .metadata
        .uid
        .clone()
        .filter(|uid| !uid.is_empty())
        .ok_or(ValidationError::MissingUid)?;

    let spec = &tenant.spec;
    if spec.display_name.trim().is_empty() {
        return Err(empty("spec.displayName"));
    }
    if let Some(server) = &spec.database_server {
        object_name("spec.databaseServer", server)?;
    }

    let shop = &spec.shop;
    let replicas = shop.replicas.unwrap_or(DEFAULT_REPLICAS);
    if !(1..=100).contains(&replicas) {
        return Err(ValidationError::ReplicasOutOfRange(replicas));
    }
    let (memory, memory_bytes) = memory(shop.memory.as_ref())?;
    let (cpu, cpu_millis) = cpu(shop.cpu.as_ref())?;
    let image = image(shop.image.as_deref(), shop_image)?;
    let ingress = ingress(tenant)?;
    for (index, secret) in shop.image_pull_secrets.iter().enumerate() {
        object_name(
            &format!("spec.shop.imagePullSecrets[{index}].name"),
            &secret.name,
        )?;
    }
    for (key, value) in &shop.node_selector {
        if !is_label_key(key) {
            return Err(ValidationError::InvalidNodeSelectorKey(key.clone()));
        }
        if !is_label_value(value) {
            return Err(ValidationError::InvalidNodeSelectorValue {
                key: key.clone(),
                value: value.clone(),
            });
        }
    }
    for (index, toleration) in shop.tolerations.iter().enumerate() {
        check_toleration(toleration)
            .map_err(|problem| ValidationError::InvalidToleration { index, problem })?;
    }

    Ok(ValidTenant {
        namespace: namespace_for(&name),
        database: database_for(&name),
        name,
        uid,
        display_name: spec.display_name.clone(),
        database_server: spec.database_server.clone(),
        replicas,
        memory,
        memory_bytes,
        cpu,
        cpu_millis,
        image,
        ingress,
        image_pull_secrets: shop.image_pull_secrets.clone(),
        node_selector: shop.node_selector.clone(),
        tolerations: shop.tolerations.clone(),
        deletion_policy: spec.deletion_policy,
        paused: spec.paused,
    })
}

fn empty(field: &str) -> ValidationError {
    ValidationError::Empty {
        field: field.into(),
    }
}

fn object_name(field: &str, value: &str) -> Result<(), ValidationError> {
    if value.is_empty() {
        return Err(empty(field));
    }
    if !is_dns_subdomain(value) {
        return Err(ValidationError::InvalidObjectName {
            field: field.into(),
            value: value.into(),
        });
    }
    Ok(())
}

/// A positive quantity, parsed.
fn positive_quantity(field: &str, value: &str) -> Result<ParsedQuantity, ValidationError> {
    let parsed = quantity::parse(value).map_err(|_| ValidationError::NotAQuantity {
        field: field.into(),
        value: value.into(),
    })?;
    if parsed.negative || parsed.milli == 0 {
        return Err(ValidationError::NotPositive {
            field: field.into(),
            value: value.into(),
        });
    }
    Ok(parsed)
}

/// Memory in canonical form and in bytes.
fn memory(given: Option<&Quantity>) -> Result<(Quantity, u128), ValidationError> {
    let value = given.map_or(DEFAULT_MEMORY, |q| q.0.as_str());
    let parsed = positive_quantity("spec.shop.memory", value)?;
    let bytes = parsed
        .whole_units()
        .ok_or_else(|| ValidationError::FractionalMemory(value.into()))?;
    if bytes < MIN_MEMORY_BYTES {
        return Err(ValidationError::MemoryTooSmall(value.into()));
    }
    Ok((
        Quantity(quantity::canonical(parsed.milli, parsed.format)),
        bytes,
    ))
}

/// CPU in canonical form and in millicores (finer values round up to 1m, as the API
/// server rounds them).
fn cpu(given: Option<&Quantity>) -> Result<(Quantity, u128), ValidationError> {
    let value = given.map_or(DEFAULT_CPU, |q| q.0.as_str());
    let parsed = positive_quantity("spec.shop.cpu", value)?;
    Ok((
        Quantity(quantity::canonical(parsed.milli, parsed.format)),
        parsed.milli,
    ))
}

fn image(given: Option<&str>, shop_image: &str) -> Result<String, ValidationError> {
    let image = match given {
        Some("") => return Err(empty("spec.shop.image")),
        Some(image) => image,
        None if shop_image.is_empty() => return Err(ValidationError::NoImage),
        None => shop_image,
    };
    if image.chars().any(char::is_whitespace) {
        return Err(ValidationError::InvalidImage(image.into()));
    }
    Ok(image.into())
}

fn ingress(tenant: &Tenant) -> Result<Option<ShopIngress>, ValidationError> {
    let shop = &tenant.spec.shop;
    let Some(hostname) = &shop.hostname else {
        if shop.tls.is_some() {
            return Err(ValidationError::RequiresHostname {
                field: "spec.shop.tls".into(),
            });
        }
        if shop.ingress_class_name.is_some() {
            return Err(ValidationError::RequiresHostname {
                field: "spec.shop.ingressClassName".into(),
            });
        }
        return Ok(None);
    };
    if !is_host_name(hostname) {
        return Err(ValidationError::InvalidHostname(hostname.clone()));
    }
    if let Some(tls) = &shop.tls {
        object_name("spec.shop.tls.secretName", &tls.secret_name)?;
    }
    if let Some(class) = &shop.ingress_class_name {
        object_name("spec.shop.ingressClassName", class)?;
    }
    Ok(Some(ShopIngress {
        hostname: hostname.clone(),
        tls_secret_name: shop.tls.as_ref().map(|tls| tls.secret_name.clone()),
        class_name: shop.ingress_class_name.clone(),
    }))
}

/// The API server's toleration rules, so a bad one is reported on the Tenant rather than
/// as a failed Deployment apply.
fn check_toleration(t: &Toleration) -> Result<(), String> {
    let key = t.key.as_deref().unwrap_or("");
    let operator = match t.operator.as_deref() {
        None | Some("") => "Equal",
        Some(operator) => operator,
    };
    let value = t.value.as_deref().unwrap_or("");
    let effect = t.effect.as_deref().unwrap_or("");
    if !key.is_empty() && !is_label_key(key) {
        return Err(format!("key {key:?} is not a valid label key"));
    }
    match operator {
        "Equal" if key.is_empty() => return Err("an empty key requires operator Exists".into()),
        "Equal" if !is_label_value(value) => {
            return Err(format!("value {value:?} is not a valid label value"))
        }
        "Equal" => {}
        "Exists" if !value.is_empty() => return Err("operator Exists takes no value".into()),
        "Exists" => {}
        other => return Err(format!("operator {other:?} is not Equal or Exists")),
    }
    if !matches!(effect, "" | "NoSchedule" | "PreferNoSchedule" | "NoExecute") {
        return Err(format!(
            "effect {effect:?} is not NoSchedule, PreferNoSchedule or NoExecute"
        ));
    }
    if t.toleration_seconds.is_some() && effect != "NoExecute" {
        return Err("tolerationSeconds requires effect NoExecute".into());
    }
    Ok(())
}

#[cfg(test)]
#[path = "tenant_tests.rs"]
mod tests;
