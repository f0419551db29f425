//! Validation: the checks a Tenant or DatabaseServer must pass before anything is built
//! from it, and the values it resolves to, defaults applied.
//!
//! The CRD schema already rejects much of this at admission, but Kubernetes 1.20 runs no
//! CEL rules and an integer quantity skips the schema's `pattern`, so every rule the
//! operator relies on is checked again here. Pure: no API call, no database.

mod database_server;
#[cfg(test)]
pub(crate) mod fixtures;
mod names;
pub mod quantity;
mod tenant;

pub use database_server::{validate_database_server, ValidDatabaseServer};
pub use tenant::{validate_tenant, ShopIngress, ValidTenant, MIN_MEMORY_BYTES};

use thiserror::Error;

/// The first problem found in a resource's spec, naming the field.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum ValidationError {
    #[error("metadata.name: missing")]
    MissingName,
    #[error("metadata.name: {name:?} is not a DNS label of at most {max} characters")]
    InvalidTenantName { name: String, max: usize },
    #[error("metadata.uid: missing (the resource was not read from the API server)")]
    MissingUid,
    #[error("{field}: must not be empty")]
    Empty { field: String },
    #[error("{field}: {value:?} is not a valid object name")]
    InvalidObjectName { field: String, value: String },
    #[error("spec.shop.replicas: {0} is out of range 1..=100")]
    ReplicasOutOfRange(i32),
    #[error("{field}: {value:?} is not a quantity")]
    NotAQuantity { field: String, value: String },
    #[error("{field}: {value:?} must be greater than zero")]
    NotPositive { field: String, value: String },
    #[error("spec.shop.memory: {0:?} is not a whole number of bytes")]
    FractionalMemory(String),
    #[error("spec.shop.memory: {0:?} is less than the minimum 64Mi")]
    MemoryTooSmall(String),
    #[error("spec.shop.image: not set, and the operator has no --shop-image default")]
    NoImage,
    #[error("spec.shop.image: {0:?} must not contain white space")]
    InvalidImage(String),
    #[error("spec.shop.hostname: {0:?} is not a DNS name")]
    InvalidHostname(String),
    #[error("{field}: requires spec.shop.hostname (there is no Ingress without one)")]
    RequiresHostname { field: String },
    #[error("spec.shop.nodeSelector: {0:?} is not a valid label key")]
    InvalidNodeSelectorKey(String),
    #[error("spec.shop.nodeSelector[{key}]: {value:?} is not a valid label value")]
    InvalidNodeSelectorValue { key: String, value: String },
    #[error("spec.shop.tolerations[{index}]: {problem}")]
    InvalidToleration { index: usize, problem: String },
    #[error("spec.host: {0:?} is neither an IP address nor a DNS name")]
    InvalidHost(String),
    #[error("spec.port: {0} is out of range 1..=65535")]
    PortOutOfRange(i32),
    #[error("spec.capacity: {0} must not be negative")]
    NegativeCapacity(i32),
    #[error("spec.caSecretRef: required when spec.sslMode is verify-full")]
    MissingCaSecret,
    #[error("spec.egress: required when spec.host ({0:?}) is not an IP address")]
    MissingEgress(String),
    #[error(
        "spec.egress: names no destination (give cidrs, or a namespaceSelector with an \
         optional podSelector)"
    )]
    EmptyEgress,
    #[error("spec.egress.cidrs[{index}]: {value:?} is not a CIDR (e.g. 10.0.12.7/32)")]
    InvalidCidr { index: usize, value: String },
    #[error(
        "spec.egress.podSelector: requires spec.egress.namespaceSelector (alone it would \
         select pods in each tenant's own namespace)"
    )]
    PodSelectorWithoutNamespace,
    #[error(
        "spec.egress.namespaceSelector: selects every namespace; give matchLabels or \
         matchExpressions"
    )]
    EmptyNamespaceSelector,
}
