//! `boxoffice-operator`: reconciles `Tenant` resources into isolated Boxoffice shops.

pub mod crd;
