//! The shop's ServiceAccount: the shop never calls the Kubernetes API, so no token.

use k8s_openapi::api::core::v1::ServiceAccount;

use super::{labels, metadata, BuildInputs, SHOP};

pub fn service_account(inputs: &BuildInputs) -> ServiceAccount {
    ServiceAccount {
        metadata: metadata(inputs, SHOP, labels(&inputs.valid.name)),
        automount_service_account_token: Some(false),
        ..ServiceAccount::default()
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;

    #[test]
    fn service_account_mounts_no_token() {
        let f = Fixture::new(full_tenant());
        let sa = service_account(&f.inputs());
        assert_eq!(sa.metadata.name.as_deref(), Some("shop"));
        assert_eq!(sa.metadata.namespace.as_deref(), Some("tenant-devoxx"));
        assert_eq!(sa.automount_service_account_token, Some(false));
        assert_eq!(sa.secrets, None);
        assert_owned_by_devoxx(&sa.metadata);
    }
}
