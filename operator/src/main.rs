//! The `boxoffice-operator` binary.

fn main() {
    print!("{}", boxoffice_operator::crd::crds_yaml());
}
