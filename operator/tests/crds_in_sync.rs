//! `crds/boxoffice.dev_crds.yaml` is what `boxoffice-operator crds` prints: the committed
//! CRDs never lag the Rust types.

use std::path::Path;

use serde::Deserialize as _;

const REGENERATE: &str = "cargo run -p boxoffice-operator -- crds > crds/boxoffice.dev_crds.yaml";

#[test]
fn committed_crds_match_the_types() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crds/boxoffice.dev_crds.yaml");
    let committed = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}; generate it with `{REGENERATE}`",
            path.display()
        )
    });
    let generated = boxoffice_operator::crd::crds_yaml();
    if committed != generated {
        let line = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .map_or_else(|| "the end".to_string(), |i| format!("line {}", i + 1));
        panic!(
            "crds/boxoffice.dev_crds.yaml is stale (first difference at {line}); \
             regenerate it with `{REGENERATE}`"
        );
    }
}

#[test]
fn crds_are_two_documents_of_our_group() {
    let yaml = boxoffice_operator::crd::crds_yaml();
    let names: Vec<String> = serde_yaml::Deserializer::from_str(&yaml)
        .map(|doc| {
            let value = serde_yaml::Value::deserialize(doc).expect("valid YAML");
            value["metadata"]["name"]
                .as_str()
                .expect("a named object")
                .to_string()
        })
        .collect();
    assert_eq!(
        names,
        ["tenants.boxoffice.dev", "databaseservers.boxoffice.dev"]
    );
}

/// The chart installs the CRDs from its own `crds/` folder (so `helm uninstall` never
/// deletes them, and with them every Tenant): it must hold the same file.
#[test]
fn the_chart_ships_the_same_crds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let read = |path: &str| {
        std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("read {path}: {e}"))
    };
    let chart = read("charts/boxoffice-operator/crds/boxoffice.dev_crds.yaml");
    assert!(
        chart == read("crds/boxoffice.dev_crds.yaml"),
        "charts/boxoffice-operator/crds/ differs from crds/; copy it: \
         cp crds/boxoffice.dev_crds.yaml charts/boxoffice-operator/crds/"
    );
}
