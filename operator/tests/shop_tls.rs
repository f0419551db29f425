//! A shop on a `verify-full` DatabaseServer with a private CA, end to end on one machine:
//! a real PostgreSQL 15 server with TLS, the tenant's database provisioned by the
//! operator's code, `shop-db` and the Deployment as the operator builds them, and the real
//! `ticketing-service` binary run with that Secret's `uri` and CA, as a pod would run it.
//!
//! There is no kubelet here, so the test stands in for the volume mount: it writes the
//! Secret's CA to a file and points the URI's `sslrootcert` there, after checking that the
//! URI names exactly the file the Deployment mounts.
//!
//! Needs `ticketing-service` built next to this test (`cargo test --workspace` builds it;
//! otherwise `cargo build -p ticketing-service` first).

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use boxoffice_e2e::pg::{PgOptions, PgServer};
use boxoffice_e2e::service::{workspace_binary, ShopConfig, ShopProcess};
use boxoffice_operator::crd::{database_for, DatabaseServer, SslMode, Tenant};
use boxoffice_operator::database::{
    generate_password, AdminCredentials, ServerAddress, ServerAdmin,
};
use boxoffice_operator::resources::{
    build, connection_limit, BuildInputs, Credentials, DesiredObjects, OperatorSettings,
    ShopSecrets,
};
use boxoffice_operator::validate::validate_tenant;
use k8s_openapi::api::core::v1::Secret;
use serde_json::json;

const ADMIN: &str = "boxoffice_admin";
const TENANT: &str = "devoxx";
const ADMIN_TOKEN: &str = "shop-tls-test-token";

/// A PostgreSQL server with TLS (a certificate for 127.0.0.1 from a CA of its own) and the
/// operator's admin role, which has `CREATEROLE` and `CREATEDB` only.
struct TlsServer {
    pg: PgServer,
    admin: AdminCredentials,
}

impl TlsServer {
    fn start() -> TlsServer {
        let pg = PgServer::start_with(PgOptions {
            tls: true,
            password_auth: true,
            max_connections: 40,
            ..PgOptions::default()
        })
        .expect("start PostgreSQL with TLS");
        let password = generate_password();
        pg.psql(
            "postgres",
            &format!("CREATE ROLE {ADMIN} LOGIN CREATEROLE CREATEDB PASSWORD '{password}'"),
        )
        .expect("create the admin role");
        let admin = AdminCredentials {
            username: ADMIN.into(),
            password,
        };
        TlsServer { pg, admin }
    }

    fn ca_pem(&self) -> String {
        self.pg.ca_pem().expect("the server's CA")
    }

    /// The tenant's role and database, made as the operator makes them, over a verified
    /// connection; returns the role's password.
    async fn provision(&self) -> String {
        let address = ServerAddress {
            host: "127.0.0.1".into(),
            port: self.pg.port(),
            ssl_mode: SslMode::VerifyFull,
            ca_pem: Some(self.ca_pem()),
        };
        let admin = ServerAdmin::connect(&address, &self.admin)
            .await
            .expect("connect as admin, verifying the server");
        let password = generate_password();
        admin
            .ensure_tenant_database(&database_for(TENANT), &password, connection_limit(4))
            .await
            .expect("provision the tenant's database");
        admin.close().await;
        password
    }

    /// The DatabaseServer a platform operator would write for it.
    fn resource(&self) -> DatabaseServer {
        serde_json::from_value(json!({
            "apiVersion": "boxoffice.dev/v1alpha1",
            "kind": "DatabaseServer",
            "metadata": { "name": "pg-tls", "uid": "uid-pg-tls" },
            "spec": {
                "host": "127.0.0.1",
                "port": self.pg.port(),
                "sslMode": "verify-full",
                "caSecretRef": { "namespace": "boxoffice-system", "name": "pg-tls-ca" },
                "adminSecretRef": { "namespace": "boxoffice-system", "name": "pg-tls-admin" },
            },
        }))
        .expect("a valid DatabaseServer")
    }

    /// One value from the superuser's view of `database`.
    fn query(&self, database: &str, sql: &str) -> String {
        self.pg.psql(database, sql).expect("psql")
    }
}

/// Every object of tenant `devoxx` on `server`, as the operator builds them with the
/// password given and `ca_pem` as the CA its `caSecretRef` holds.
fn objects(server: &TlsServer, password: &str, ca_pem: &str) -> DesiredObjects {
    let tenant: Tenant = serde_json::from_value(json!({
        "apiVersion": "boxoffice.dev/v1alpha1",
        "kind": "Tenant",
        "metadata": { "name": TENANT, "uid": "uid-devoxx", "generation": 1 },
        "spec": { "displayName": "Devoxx Belgium" },
    }))
    .expect("a valid Tenant");
    let settings = OperatorSettings {
        shop_image: "registry.example/boxoffice/ticketing-service:1.0.0".into(),
        ..OperatorSettings::default()
    };
    let valid = validate_tenant(&tenant, &settings.shop_image).expect("a valid tenant");
    let resource = server.resource();
    let database = database_for(TENANT);
    let credentials = Credentials {
        username: database.clone(),
        password: password.into(),
        host: resource.spec.host.clone(),
        port: resource.spec.port,
        database,
        ssl_mode: resource.spec.ssl_mode,
        ca_pem: Some(ca_pem.into()),
    };
    let secrets = ShopSecrets {
        admin_token: ADMIN_TOKEN.into(),
        ticket_signing_key: generate_password(),
    };
    build(&BuildInputs {
        tenant: &tenant,
        valid: &valid,
        server: &resource,
        credentials: &credentials,
        secrets: &secrets,
        settings: &settings,
        serves_policy_v1: true,
    })
}

/// The key of `shop-db` the Deployment mounts, and the file it becomes, the same in every
/// container (the migrate init container and the shop), and mounted read-only.
fn mounted_key(d: &DesiredObjects) -> (String, String) {
    let pod = d.deployment.spec.template.spec.as_ref();
    let pod = pod.expect("a pod spec");
    let volumes: Vec<_> = pod
        .volumes
        .iter()
        .flatten()
        .filter(|v| v.secret.as_ref().and_then(|s| s.secret_name.as_deref()) == Some("shop-db"))
        .collect();
    assert_eq!(volumes.len(), 1, "one volume of shop-db");
    let volume = volumes[0];
    let items = volume.secret.as_ref().and_then(|s| s.items.clone());
    let items = items.expect("only chosen keys of shop-db");
    assert_eq!(items.len(), 1, "one key of shop-db: {items:?}");

    let containers: Vec<_> = pod
        .init_containers
        .iter()
        .flatten()
        .chain(&pod.containers)
        .collect();
    assert_eq!(containers.len(), 2);
    let mut dirs = containers.iter().map(|c| {
        let mounts = c
            .volume_mounts
            .iter()
            .flatten()
            .filter(|m| m.name == volume.name);
        let mounts: Vec<_> = mounts.collect();
        assert_eq!(mounts.len(), 1, "{} mounts it once", c.name);
        assert_eq!(mounts[0].read_only, Some(true), "{}", c.name);
        mounts[0].mount_path.clone()
    });
    let dir = dirs.next().expect("a container");
    assert!(
        dirs.all(|other| other == dir),
        "mounted alike in every container"
    );
    (items[0].key.clone(), format!("{dir}/{}", items[0].path))
}

fn secret_text(secret: &Secret, key: &str) -> String {
    let data = secret.data.as_ref().expect("data");
    let value = data.get(key).unwrap_or_else(|| panic!("key {key}"));
    String::from_utf8(value.0.clone()).expect("UTF-8")
}

/// The value of query parameter `name` of `uri`, percent-decoded.
fn query_value(uri: &str, name: &str) -> Option<String> {
    let (_, query) = uri.split_once('?')?;
    let raw = query
        .split('&')
        .find_map(|pair| pair.strip_prefix(&format!("{name}=")))?;
    let mut bytes = Vec::new();
    let mut rest = raw.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'%' && tail.len() >= 2 {
            let hex = std::str::from_utf8(&tail[..2]).ok()?;
            bytes.push(u8::from_str_radix(hex, 16).ok()?);
            rest = &tail[2..];
        } else {
            bytes.push(b);
            rest = tail;
        }
    }
    String::from_utf8(bytes).ok()
}

/// `uri` with query parameter `name` set to `value` (percent-encoded, `/` kept), or
/// without it when `value` is `None`.
fn with_query_value(uri: &str, name: &str, value: Option<&str>) -> String {
    let (base, query) = uri.split_once('?').expect("a query");
    let mut pairs: Vec<String> = query
        .split('&')
        .filter(|pair| !pair.starts_with(&format!("{name}=")))
        .map(str::to_string)
        .collect();
    if let Some(value) = value {
        let encoded: String = value
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                    char::from(b).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect();
        pairs.push(format!("{name}={encoded}"));
    }
    format!("{base}?{}", pairs.join("&"))
}

/// A directory of this test's own, for CA files and logs.
fn scratch_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("shop-tls-{name}-{}", std::process::id()));
    fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

/// `GET path` on a loopback port over HTTP/1.0: status and body.
fn http_get(port: u16, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the shop");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("a read timeout");
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("an answer");
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok());
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b.to_string());
    (status.expect("a status line"), body.unwrap_or_default())
}

/// Runs `ticketing-service migrate` against `url`; its error, if it failed, and how long it
/// took.
fn migrate(url: &str) -> (Result<(), String>, Duration) {
    let started = Instant::now();
    let result = ShopProcess::migrate(&ShopConfig::new(
        workspace_binary("ticketing-service"),
        url,
        ADMIN_TOKEN,
    ));
    (result.map_err(|e| format!("{e:#}")), started.elapsed())
}

#[tokio::test]
async fn a_shop_verifies_its_server_with_the_ca_from_shop_db() {
    let server = TlsServer::start();
    let password = server.provision().await;
    let ca = server.ca_pem();
    let d = objects(&server, &password, &ca);

    // `shop-db` carries the CA under the key the Deployment mounts, and the URI names the
    // file it becomes.
    let (key, mounted) = mounted_key(&d);
    assert_eq!(secret_text(&d.db_secret, &key), ca);
    let uri = secret_text(&d.db_secret, "uri");
    assert_eq!(query_value(&uri, "sslmode").as_deref(), Some("verify-full"));
    assert_eq!(query_value(&uri, "sslrootcert"), Some(mounted));

    // The kubelet's part: the key as a file; the URI pointed at it.
    let dir = scratch_dir("verified");
    let ca_file = dir.join("ca.crt");
    fs::write(&ca_file, secret_text(&d.db_secret, &key)).expect("write the CA");
    let url = with_query_value(&uri, "sslrootcert", ca_file.to_str());

    let (migrated, _) = migrate(&url);
    migrated.expect("migrate over a verified connection");
    let config = ShopConfig::new(workspace_binary("ticketing-service"), &url, ADMIN_TOKEN);
    let shop = ShopProcess::start(&config, &dir).expect("the shop starts and gets ready");
    assert_eq!(http_get(shop.port(), "/healthz").0, 200);
    // An answer only the database can give: the shop reached it.
    let (status, body) = http_get(shop.port(), "/api/v1/events/no-such-event");
    assert_eq!(status, 404, "{body}\n{}", shop.log());
    assert!(body.contains("event_not_found"), "{body}");

    // Every connection of the shop's role is encrypted.
    let database = database_for(TENANT);
    let sessions = server.query(
        "postgres",
        &format!(
            "SELECT count(*) || ',' || bool_and(ssl) FROM pg_stat_ssl \
             JOIN pg_stat_activity USING (pid) \
             WHERE usename = '{database}' AND application_name = 'ticketing-service'"
        ),
    );
    let (count, all_tls) = sessions.split_once(',').expect("count,ssl");
    assert!(count.parse::<u32>().expect("a count") >= 1, "{sessions}");
    assert_eq!(all_tls, "true", "{sessions}");
    let migrations = server.query(&database, "SELECT count(*) FROM _sqlx_migrations");
    assert_ne!(migrations, "0");

    drop(shop);
    let _ = fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_shop_refuses_a_server_its_ca_does_not_vouch_for() {
    let server = TlsServer::start();
    let other = TlsServer::start();
    let password = server.provision().await;
    let dir = scratch_dir("refused");

    // A `caSecretRef` naming another server's CA: `shop-db` holds that CA.
    let d = objects(&server, &password, &other.ca_pem());
    let (key, _) = mounted_key(&d);
    let ca_file = dir.join("ca.crt");
    fs::write(&ca_file, secret_text(&d.db_secret, &key)).expect("write the CA");
    let uri = secret_text(&d.db_secret, "uri");
    let wrong_ca = with_query_value(&uri, "sslrootcert", ca_file.to_str());
    // No CA at all, as shops were given before the CA was handed on: only the built-in
    // roots, which know nothing of a private CA.
    let no_ca = with_query_value(&uri, "sslrootcert", None);
    assert!(!no_ca.contains("sslrootcert") && no_ca.contains("sslmode=verify-full"));

    for (case, url) in [("another server's CA", wrong_ca), ("no CA", no_ca)] {
        let (migrated, took) = migrate(&url);
        let error = migrated.expect_err(case);
        assert!(
            error.contains("invalid peer certificate"),
            "{case}: {error}"
        );
        assert!(
            !error.contains(&password),
            "{case}: the password leaked: {error}"
        );
        // Waiting would not help: the migration says so at once.
        assert!(took < Duration::from_secs(30), "{case}: took {took:?}");
    }
    let database = database_for(TENANT);
    let tables = server.query(
        &database,
        "SELECT count(*) FROM pg_tables WHERE tablename = '_sqlx_migrations'",
    );
    assert_eq!(tables, "0", "nothing was migrated");
    let _ = fs::remove_dir_all(&dir);
}
