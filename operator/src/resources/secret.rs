//! The Secrets the shop reads: `shop-db` (database credentials, and the server's CA under
//! `verify-full`) and `shop-admin` (admin token, ticket signing key).
//!
//! Values go in `data`, not `stringData`: the API server stores only `data`, so the
//! object read back compares equal to the one built.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::ByteString;

use super::credentials::CA_FILE;
use super::{labels, metadata, BuildInputs, ADMIN_SECRET, DB_SECRET};

/// Keys of `shop-db`.
pub const USERNAME: &str = "username";
pub const PASSWORD: &str = "password";
pub const HOST: &str = "host";
pub const PORT: &str = "port";
pub const DATABASE: &str = "database";
pub const URI: &str = "uri";
/// The server's CA (PEM), present only when the shop verifies the server against it.
pub const CA: &str = CA_FILE;
/// Keys of `shop-admin`.
pub const TOKEN: &str = "token";
pub const TICKET_SIGNING_KEY: &str = "ticket-signing-key";

/// Annotation on `shop-db`: the Tenant's `boxoffice.dev/rotate-credentials` value its
/// password answers, so a rotation is acted on once whatever the Tenant's status says.
pub const ROTATION_ACTED_ON: &str = "boxoffice.dev/credentials-rotation";

pub fn db_secret(inputs: &BuildInputs) -> Secret {
    let c = inputs.credentials;
    let ca = c.root_cert().map(|pem| (CA, pem.to_string()));
    let mut secret = secret(
        inputs,
        DB_SECRET,
        [
            (USERNAME, c.username.clone()),
            (PASSWORD, c.password.clone()),
            (HOST, c.host.clone()),
            (PORT, c.port.to_string()),
            (DATABASE, c.database.clone()),
            (URI, c.uri()),
        ]
        .into_iter()
        .chain(ca),
    );
    if let Some(rotation) = inputs.tenant.rotation_requested() {
        secret.metadata.annotations =
            Some([(ROTATION_ACTED_ON.to_string(), rotation.to_string())].into());
    }
    secret
}

pub fn admin_secret(inputs: &BuildInputs) -> Secret {
    let s = inputs.secrets;
    secret(
        inputs,
        ADMIN_SECRET,
        [
            (TOKEN, s.admin_token.clone()),
            (TICKET_SIGNING_KEY, s.ticket_signing_key.clone()),
        ],
    )
}

fn secret<'a>(
    inputs: &BuildInputs,
    name: &str,
    entries: impl IntoIterator<Item = (&'a str, String)>,
) -> Secret {
    let data: BTreeMap<String, ByteString> = entries
        .into_iter()
        .map(|(k, v)| (k.to_string(), ByteString(v.into_bytes())))
        .collect();
    Secret {
        metadata: metadata(inputs, name, labels(&inputs.valid.name)),
        type_: Some("Opaque".into()),
        data: Some(data),
        ..Secret::default()
    }
}

#[cfg(test)]
mod tests {
    use super::super::credentials::tests::{verify_full_credentials, CA_PEM};
    use super::super::fixtures::*;
    use super::super::Credentials;
    use super::*;
    use crate::crd::{SslMode, ROTATE_ANNOTATION};
    use crate::validate::fixtures::minimal_tenant;

    fn text(secret: &Secret) -> BTreeMap<String, String> {
        assert_eq!(secret.string_data, None);
        secret
            .data
            .clone()
            .unwrap()
            .into_iter()
            .map(|(k, v)| (k, String::from_utf8(v.0).unwrap()))
            .collect()
    }

    #[test]
    fn db_secret_holds_the_credentials_and_the_uri() {
        let f = Fixture::new(minimal_tenant("devoxx"));
        let secret = db_secret(&f.inputs());
        assert_eq!(secret.metadata.name.as_deref(), Some("shop-db"));
        assert_eq!(secret.metadata.namespace.as_deref(), Some("tenant-devoxx"));
        assert_eq!(secret.type_.as_deref(), Some("Opaque"));
        let data = text(&secret);
        let keys: Vec<&str> = data.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["database", "host", "password", "port", "uri", "username"]
        );
        assert_eq!(data["username"], "tenant_devoxx");
        assert_eq!(data["password"], f.credentials.password);
        assert_eq!(data["host"], "10.0.12.7");
        assert_eq!(data["port"], "5433");
        assert_eq!(data["database"], "tenant_devoxx");
        assert_eq!(data["uri"], f.credentials.uri());
        assert_owned_by_devoxx(&secret.metadata);
        assert_eq!(secret.metadata.annotations, None, "no rotation asked for");
    }

    #[test]
    fn db_secret_holds_the_ca_the_uri_names_under_verify_full() {
        let mut f = Fixture::new(minimal_tenant("devoxx"));
        f.credentials = verify_full_credentials();
        let data = text(&db_secret(&f.inputs()));
        let keys: Vec<&str> = data.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["ca.crt", "database", "host", "password", "port", "uri", "username"]
        );
        assert_eq!(data["ca.crt"], CA_PEM);
        assert!(
            data["uri"].ends_with("sslmode=verify-full&sslrootcert=/etc/boxoffice/db/ca.crt"),
            "{}",
            data["uri"]
        );
    }

    #[test]
    fn db_secret_has_no_ca_when_nothing_is_verified_against_one() {
        let mut f = Fixture::new(minimal_tenant("devoxx"));
        f.credentials = Credentials {
            ssl_mode: SslMode::Require,
            ..verify_full_credentials()
        };
        let data = text(&db_secret(&f.inputs()));
        assert!(!data.contains_key("ca.crt"), "{:?}", data.keys());
        assert!(!data["uri"].contains("sslrootcert"), "{}", data["uri"]);
    }

    #[test]
    fn db_secret_records_the_rotation_its_password_answers() {
        let mut tenant = minimal_tenant("devoxx");
        tenant.metadata.annotations =
            Some([(ROTATE_ANNOTATION.to_string(), "2026-12-04".to_string())].into());
        let f = Fixture::new(tenant);
        let secret = db_secret(&f.inputs());
        let annotations = secret.metadata.annotations.expect("annotations");
        assert_eq!(annotations.len(), 1);
        assert_eq!(annotations[ROTATION_ACTED_ON], "2026-12-04");
    }

    #[test]
    fn admin_secret_holds_token_and_signing_key() {
        let f = Fixture::new(minimal_tenant("devoxx"));
        let secret = admin_secret(&f.inputs());
        assert_eq!(secret.metadata.name.as_deref(), Some("shop-admin"));
        let data = text(&secret);
        assert_eq!(data.len(), 2);
        assert_eq!(data["token"], "admin-token");
        assert_eq!(data["ticket-signing-key"], "signing-key");
        assert_owned_by_devoxx(&secret.metadata);
    }
}
