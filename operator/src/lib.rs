//! `boxoffice-operator`: reconciles `Tenant` resources into isolated Boxoffice shops.

pub mod controller;
pub mod crd;
pub mod database;
pub mod leader;
pub mod metrics;
pub mod resources;
pub mod settings;
pub mod validate;
