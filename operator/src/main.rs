//! `boxoffice-operator`: reconciles `Tenant` resources into isolated shops.
//!
//! Not yet: the controller itself. This binary only reports its version so the workspace builds.

fn main() {
    println!("boxoffice-operator {}", env!("CARGO_PKG_VERSION"));
}
