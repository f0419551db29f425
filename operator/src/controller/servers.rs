//! Reaching a DatabaseServer with its admin credentials.

use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client, ResourceExt};

use super::Error;
use crate::crd::{DatabaseServer, SslMode};
use crate::database::{AdminCredentials, ServerAddress, ServerAdmin};

/// Reads the server's admin Secret (and CA) and connects.
pub async fn connect_admin(
    client: &Client,
    server: &DatabaseServer,
) -> Result<(ServerAdmin, ServerAddress), Error> {
    let name = server.name_any();
    let address = address_of(client, server).await?;
    let admin = admin_credentials(client, server).await?;
    let connection = ServerAdmin::connect(&address, &admin)
        .await
        .map_err(|source| Error::Database {
            server: name,
            source,
        })?;
    Ok((connection, address))
}

/// How shops and the operator reach the server.
pub async fn address_of(client: &Client, server: &DatabaseServer) -> Result<ServerAddress, Error> {
    let spec = &server.spec;
    let ca_pem = match (&spec.ssl_mode, &spec.ca_secret_ref) {
        (SslMode::VerifyFull, Some(reference)) => {
            let data = read_secret(
                client,
                &server.name_any(),
                &reference.namespace,
                &reference.name,
            )
            .await?;
            Some(key(&server.name_any(), &data, "ca.crt")?)
        }
        _ => None,
    };
    Ok(ServerAddress {
        host: spec.host.clone(),
        port: u16::try_from(spec.port).unwrap_or(5432),
        ssl_mode: spec.ssl_mode,
        ca_pem,
    })
}

async fn admin_credentials(
    client: &Client,
    server: &DatabaseServer,
) -> Result<AdminCredentials, Error> {
    let reference = &server.spec.admin_secret_ref;
    let name = server.name_any();
    let data = read_secret(client, &name, &reference.namespace, &reference.name).await?;
    Ok(AdminCredentials {
        username: key(&name, &data, "username")?,
        password: key(&name, &data, "password")?,
    })
}

async fn read_secret(
    client: &Client,
    server: &str,
    namespace: &str,
    name: &str,
) -> Result<Secret, Error> {
    Api::<Secret>::namespaced(client.clone(), namespace)
        .get_opt(name)
        .await
        .map_err(|e| Error::kube("read", "Secret", &format!("{namespace}/{name}"), e))?
        .ok_or_else(|| Error::AdminSecret {
            server: server.to_string(),
            message: format!("Secret {namespace}/{name} does not exist"),
        })
}

fn key(server: &str, secret: &Secret, key: &str) -> Result<String, Error> {
    secret
        .data
        .as_ref()
        .and_then(|d| d.get(key))
        .and_then(|v| String::from_utf8(v.0.clone()).ok())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Error::AdminSecret {
            server: server.to_string(),
            message: format!("Secret {} has no key {key}", secret.name_any()),
        })
}

/// An annotation of a Secret, if present.
pub fn secret_annotation(secret: Option<&Secret>, key: &str) -> Option<String> {
    secret?.metadata.annotations.as_ref()?.get(key).cloned()
}

/// A string value of a Secret, if present.
pub fn secret_value(secret: Option<&Secret>, key: &str) -> Option<String> {
    secret?
        .data
        .as_ref()?
        .get(key)
        .and_then(|v| String::from_utf8(v.0.clone()).ok())
        .filter(|v| !v.is_empty())
}
