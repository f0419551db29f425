//! The operator's database work against real PostgreSQL 15 servers.
//!
//! Each test starts its own server with password authentication for every role but the
//! harness's superuser, and an admin role `boxoffice_admin` that has `CREATEROLE` and
//! `CREATEDB` only, as a managed service would give.

use std::time::Duration;

use boxoffice_e2e::pg::{PgOptions, PgServer};
use boxoffice_operator::crd::{database_for, SslMode};
use boxoffice_operator::database::{
    credentials_work, generate_password, is_unreachable, AdminCredentials, DatabaseError, Dropped,
    Provisioned, ServerAddress, ServerAdmin,
};
use sqlx::postgres::{PgConnectOptions, PgSslMode};
use sqlx::{ConnectOptions, Connection, PgConnection};

const ADMIN: &str = "boxoffice_admin";

struct Fixture {
    pg: PgServer,
    addr: ServerAddress,
    admin: AdminCredentials,
}

impl Fixture {
    fn start() -> Fixture {
        Fixture::start_with(PgOptions::default())
    }

    fn start_with(options: PgOptions) -> Fixture {
        let pg = PgServer::start_with(PgOptions {
            password_auth: true,
            max_connections: 40,
            ..options
        })
        .expect("start PostgreSQL");
        let password = generate_password();
        pg.psql(
            "postgres",
            &format!("CREATE ROLE {ADMIN} LOGIN CREATEROLE CREATEDB PASSWORD '{password}'"),
        )
        .expect("create admin role");
        let addr = ServerAddress {
            host: "127.0.0.1".into(),
            port: pg.port(),
            ssl_mode: SslMode::Disable,
            ca_pem: None,
        };
        let admin = AdminCredentials {
            username: ADMIN.into(),
            password,
        };
        Fixture { pg, addr, admin }
    }

    async fn admin(&self) -> ServerAdmin {
        ServerAdmin::connect(&self.addr, &self.admin)
            .await
            .expect("connect as admin")
    }

    /// One value from the superuser's view of the server.
    fn query(&self, sql: &str) -> String {
        self.pg.psql("postgres", sql).expect("psql")
    }
}

async fn connect_as(
    addr: &ServerAddress,
    role: &str,
    password: &str,
    database: &str,
) -> Result<PgConnection, sqlx::Error> {
    PgConnectOptions::new_without_pgpass()
        .host(&addr.host)
        .port(addr.port)
        .username(role)
        .password(password)
        .database(database)
        .ssl_mode(PgSslMode::Disable)
        .connect()
        .await
}

fn sqlstate(err: &sqlx::Error) -> Option<String> {
    err.as_database_error()
        .and_then(|db| db.code())
        .map(|c| c.into_owned())
}

#[tokio::test]
async fn creates_a_database_its_role_owns_and_uses() {
    let fx = Fixture::start();
    assert_eq!(
        fx.query(&format!(
            "SELECT rolsuper FROM pg_roles WHERE rolname = '{ADMIN}'"
        )),
        "f",
        "the admin role must not be a superuser for this test to mean anything"
    );
    let admin = fx.admin().await;
    let name = database_for("devoxx-be");
    assert_eq!(name, "tenant_devoxx_be");
    let password = generate_password();

    let provisioned = admin
        .ensure_tenant_database(&name, &password, 8)
        .await
        .expect("ensure");
    assert_eq!(
        provisioned,
        Provisioned {
            role_created: true,
            database_created: true
        }
    );
    assert!(admin.database_exists(&name).await.expect("exists"));
    assert!(!admin.database_exists("tenant_other").await.expect("exists"));

    // The role: may log in and nothing more.
    let role = fx.query(&format!(
        "SELECT concat_ws(',', rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolinherit, \
         rolreplication, rolbypassrls, rolconnlimit) FROM pg_roles WHERE rolname = '{name}'"
    ));
    assert_eq!(role, "t,f,f,f,t,f,f,8");
    // The server stored a SCRAM verifier, not the password.
    let stored = fx.query(&format!(
        "SELECT rolpassword FROM pg_authid WHERE rolname = '{name}'"
    ));
    assert!(stored.starts_with("SCRAM-SHA-256$4096:"), "{stored}");
    assert!(!stored.contains(&password));

    // The database: owned by the role, no CONNECT for PUBLIC.
    let owner = fx.query(&format!(
        "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '{name}'"
    ));
    assert_eq!(owner, name);
    let public_connect = fx.query(&format!(
        "SELECT count(*) FROM pg_database, aclexplode(datacl) a \
         WHERE datname = '{name}' AND a.grantee = 0 AND a.privilege_type = 'CONNECT'"
    ));
    assert_eq!(public_connect, "0");

    // The tenant can log in and create tables in its own database.
    let mut conn = connect_as(&fx.addr, &name, &password, &name)
        .await
        .expect("tenant logs in");
    sqlx::query("CREATE TABLE seat (id bigint PRIMARY KEY)")
        .execute(&mut conn)
        .await
        .expect("tenant creates a table");
    sqlx::query("INSERT INTO seat VALUES (1), (2)")
        .execute(&mut conn)
        .await
        .expect("tenant inserts");
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM seat")
        .fetch_one(&mut conn)
        .await
        .expect("count");
    assert_eq!(count, 2);
    conn.close().await.expect("close");
    assert!(credentials_work(&fx.addr, &name, &password, &name)
        .await
        .expect("check"));

    admin.close().await;
}

#[tokio::test]
async fn ensuring_again_changes_nothing_but_the_password() {
    let fx = Fixture::start();
    let admin = fx.admin().await;
    let name = database_for("again");
    let first = generate_password();
    admin
        .ensure_tenant_database(&name, &first, 8)
        .await
        .expect("first ensure");

    let second = generate_password();
    let provisioned = admin
        .ensure_tenant_database(&name, &second, 8)
        .await
        .expect("second ensure");
    assert_eq!(provisioned, Provisioned::default());
    let third = admin
        .ensure_tenant_database(&name, &second, 8)
        .await
        .expect("third ensure");
    assert_eq!(third, Provisioned::default());

    assert!(!credentials_work(&fx.addr, &name, &first, &name)
        .await
        .expect("check"));
    assert!(credentials_work(&fx.addr, &name, &second, &name)
        .await
        .expect("check"));
    assert_eq!(
        fx.query(&format!(
            "SELECT count(*) FROM pg_database WHERE datname = '{name}'"
        )),
        "1"
    );
}

#[tokio::test]
async fn tenants_cannot_reach_each_other() {
    let fx = Fixture::start();
    let admin = fx.admin().await;
    let (a, b) = (database_for("alpha"), database_for("beta"));
    let (pa, pb) = (generate_password(), generate_password());
    admin.ensure_tenant_database(&a, &pa, 8).await.expect("a");
    admin.ensure_tenant_database(&b, &pb, 8).await.expect("b");

    // Each role opens its own database only.
    assert!(credentials_work(&fx.addr, &a, &pa, &a).await.expect("a→a"));
    assert!(!credentials_work(&fx.addr, &a, &pa, &b).await.expect("a→b"));
    assert!(!credentials_work(&fx.addr, &b, &pb, &a).await.expect("b→a"));
    let err = connect_as(&fx.addr, &a, &pa, &b)
        .await
        .expect_err("a must not connect to b's database");
    assert_eq!(sqlstate(&err).as_deref(), Some("42501"), "{err}");

    // Wrong passwords and unknown roles are refused.
    assert!(!credentials_work(&fx.addr, &a, &pb, &a)
        .await
        .expect("wrong password"));
    assert!(!credentials_work(&fx.addr, "tenant_ghost", &pa, &a)
        .await
        .expect("unknown role"));
    let err = connect_as(&fx.addr, &a, "not-the-password", &a)
        .await
        .expect_err("wrong password refused");
    assert_eq!(sqlstate(&err).as_deref(), Some("28P01"), "{err}");
}

#[tokio::test]
async fn drop_closes_open_connections() {
    let fx = Fixture::start();
    let admin = fx.admin().await;
    let name = database_for("closing");
    let password = generate_password();
    admin
        .ensure_tenant_database(&name, &password, 8)
        .await
        .expect("ensure");
    let mut held = connect_as(&fx.addr, &name, &password, &name)
        .await
        .expect("tenant connection");
    sqlx::query("SELECT 1")
        .execute(&mut held)
        .await
        .expect("connection works");

    let dropped = admin.drop_tenant_database(&name).await.expect("drop");
    assert_eq!(
        dropped,
        Dropped {
            database: true,
            role: true
        }
    );

    assert!(
        sqlx::query("SELECT 1").execute(&mut held).await.is_err(),
        "the tenant's connection must be gone"
    );
    assert!(!admin.database_exists(&name).await.expect("exists"));
    assert_eq!(
        fx.query(&format!(
            "SELECT count(*) FROM pg_roles WHERE rolname = '{name}'"
        )),
        "0"
    );
    assert!(!credentials_work(&fx.addr, &name, &password, &name)
        .await
        .expect("check"));
}

#[tokio::test]
async fn drop_is_idempotent_and_drops_nothing_that_never_was() {
    let fx = Fixture::start();
    let admin = fx.admin().await;

    let never = database_for("never-provisioned");
    assert_eq!(
        admin.drop_tenant_database(&never).await.expect("drop"),
        Dropped::default()
    );

    let name = database_for("twice");
    admin
        .ensure_tenant_database(&name, &generate_password(), 8)
        .await
        .expect("ensure");
    let first = admin.drop_tenant_database(&name).await.expect("first drop");
    assert!(first.database && first.role);
    let second = admin
        .drop_tenant_database(&name)
        .await
        .expect("second drop");
    assert_eq!(second, Dropped::default());

    // A half-provisioned tenant (role, no database) drops its role.
    let half = database_for("half");
    fx.query(&format!("CREATE ROLE {half} LOGIN"));
    assert_eq!(
        admin.drop_tenant_database(&half).await.expect("drop half"),
        Dropped {
            database: false,
            role: true
        }
    );

    // Only tenants' objects are ever dropped.
    for name in ["postgres", ADMIN, "template1"] {
        let err = admin.drop_tenant_database(name).await.expect_err(name);
        assert!(matches!(err, DatabaseError::InvalidName { .. }), "{err}");
    }
    assert_eq!(
        fx.query("SELECT count(*) FROM pg_database WHERE datname = 'postgres'"),
        "1"
    );
}

#[tokio::test]
async fn rotation_replaces_the_password() {
    let fx = Fixture::start();
    let admin = fx.admin().await;
    let name = database_for("rotating");
    let old = generate_password();
    admin
        .ensure_tenant_database(&name, &old, 8)
        .await
        .expect("ensure");
    assert!(credentials_work(&fx.addr, &name, &old, &name)
        .await
        .expect("old"));

    let new = generate_password();
    admin.set_password(&name, &new).await.expect("rotate");

    assert!(!credentials_work(&fx.addr, &name, &old, &name)
        .await
        .expect("old"));
    assert!(credentials_work(&fx.addr, &name, &new, &name)
        .await
        .expect("new"));
    connect_as(&fx.addr, &name, &new, &name)
        .await
        .expect("new password logs in");

    let err = admin
        .set_password("tenant_ghost", &new)
        .await
        .expect_err("no such role");
    assert!(matches!(err, DatabaseError::Query { .. }), "{err}");
    assert!(admin.set_password(ADMIN, &new).await.is_err());
}

#[tokio::test]
async fn retained_databases_are_adopted_with_their_data() {
    let fx = Fixture::start();
    let name = database_for("returning");
    let old = generate_password();
    {
        let admin = fx.admin().await;
        admin
            .ensure_tenant_database(&name, &old, 8)
            .await
            .expect("ensure");
        admin.close().await;
    }
    let mut conn = connect_as(&fx.addr, &name, &old, &name).await.expect("old");
    for sql in [
        "CREATE TABLE event (slug text)",
        "INSERT INTO event VALUES ('devoxx')",
    ] {
        sqlx::query(sql).execute(&mut conn).await.expect("data");
    }
    conn.close().await.expect("close");

    // The Tenant was deleted with `Retain`: nothing dropped. A new Tenant of that name
    // comes, with a fresh password and a new operator connection.
    let new = generate_password();
    let admin = fx.admin().await;
    let provisioned = admin
        .ensure_tenant_database(&name, &new, 12)
        .await
        .expect("adopt");
    assert_eq!(provisioned, Provisioned::default());

    assert!(!credentials_work(&fx.addr, &name, &old, &name)
        .await
        .expect("old"));
    let mut conn = connect_as(&fx.addr, &name, &new, &name).await.expect("new");
    let slug: String = sqlx::query_scalar("SELECT slug FROM event")
        .fetch_one(&mut conn)
        .await
        .expect("data kept");
    assert_eq!(slug, "devoxx");
    assert_eq!(
        fx.query(&format!(
            "SELECT rolconnlimit FROM pg_roles WHERE rolname = '{name}'"
        )),
        "12"
    );
}

#[tokio::test]
async fn adoption_puts_a_foreign_role_and_database_right() {
    let fx = Fixture::start();
    let name = database_for("foreign");
    // A role made by hand, with more than a tenant may have, and a database it owns that
    // everyone may connect to; then one with a role but no database yet.
    fx.query(&format!(
        "CREATE ROLE {name} LOGIN CREATEDB NOINHERIT PASSWORD 'hand-made'"
    ));
    fx.query(&format!("CREATE DATABASE {name} OWNER {name}"));
    let half = database_for("half");
    fx.query(&format!("CREATE ROLE {half} LOGIN"));

    let admin = fx.admin().await;
    let password = generate_password();
    let provisioned = admin
        .ensure_tenant_database(&name, &password, 4)
        .await
        .expect("adopt");
    assert_eq!(provisioned, Provisioned::default());
    let role = fx.query(&format!(
        "SELECT concat_ws(',', rolcanlogin, rolcreatedb, rolinherit, rolconnlimit) \
         FROM pg_roles WHERE rolname = '{name}'"
    ));
    assert_eq!(role, "t,f,t,4");
    let public_connect = fx.query(&format!(
        "SELECT has_database_privilege('{ADMIN}', '{name}', 'CONNECT')::text \
         || ',' || count(*) FROM pg_database, aclexplode(datacl) a \
         WHERE datname = '{name}' AND a.grantee = 0 AND a.privilege_type = 'CONNECT'"
    ));
    assert_eq!(public_connect, "true,0");
    let mut conn = connect_as(&fx.addr, &name, &password, &name)
        .await
        .expect("adopted role logs in");
    sqlx::query("CREATE TABLE seat (id bigint)")
        .execute(&mut conn)
        .await
        .expect("adopted role creates a table");

    let provisioned = admin
        .ensure_tenant_database(&half, &password, 4)
        .await
        .expect("finish half");
    assert_eq!(
        provisioned,
        Provisioned {
            role_created: false,
            database_created: true
        }
    );

    // A superuser is never adopted.
    let root = database_for("root");
    fx.query(&format!("CREATE ROLE {root} SUPERUSER LOGIN"));
    let err = admin
        .ensure_tenant_database(&root, &password, 4)
        .await
        .expect_err("superuser");
    assert!(matches!(err, DatabaseError::Refused { .. }), "{err}");
}

#[tokio::test]
async fn a_stopped_server_is_unreachable_until_it_restarts() {
    let mut fx = Fixture::start();
    let admin = fx.admin().await;
    let name = database_for("blip");
    let password = generate_password();
    admin
        .ensure_tenant_database(&name, &password, 8)
        .await
        .expect("ensure");
    admin.ping().await.expect("ping");

    fx.pg.stop().expect("stop");
    let err = admin.ping().await.expect_err("ping a stopped server");
    assert!(is_unreachable(&err), "{err:?}");
    let err = admin
        .ensure_tenant_database(&name, &password, 8)
        .await
        .expect_err("ensure on a stopped server");
    assert!(is_unreachable(&err), "{err:?}");
    let err = credentials_work(&fx.addr, &name, &password, &name)
        .await
        .expect_err("check on a stopped server");
    assert!(is_unreachable(&err), "{err:?}");
    let err = ServerAdmin::connect(&fx.addr, &fx.admin)
        .await
        .expect_err("connect to a stopped server");
    assert!(is_unreachable(&err), "{err:?}");
    assert!(err
        .to_string()
        .starts_with("failed to reach database server 127.0.0.1:"));

    fx.pg.restart().expect("restart");
    admin.ping().await.expect("ping after restart");
    assert!(credentials_work(&fx.addr, &name, &password, &name)
        .await
        .expect("check after restart"));
}

#[tokio::test]
async fn a_closed_port_is_unreachable() {
    let port = boxoffice_e2e::net::free_port().expect("free port");
    let addr = ServerAddress {
        host: "127.0.0.1".into(),
        port,
        ssl_mode: SslMode::Disable,
        ca_pem: None,
    };
    let admin = AdminCredentials {
        username: ADMIN.into(),
        password: generate_password(),
    };
    let err = ServerAdmin::connect(&addr, &admin)
        .await
        .expect_err("nothing listens");
    assert!(is_unreachable(&err), "{err:?}");
}

#[tokio::test]
async fn the_connection_limit_is_applied() {
    let fx = Fixture::start();
    let admin = fx.admin().await;
    let name = database_for("limited");
    let password = generate_password();
    admin
        .ensure_tenant_database(&name, &password, 2)
        .await
        .expect("ensure");
    let limit = |fx: &Fixture| {
        fx.query(&format!(
            "SELECT rolconnlimit FROM pg_roles WHERE rolname = '{name}'"
        ))
    };
    assert_eq!(limit(&fx), "2");

    // The server holds the role to it; a check at the limit is an error, not a "no".
    let _one = connect_as(&fx.addr, &name, &password, &name)
        .await
        .expect("1");
    let _two = connect_as(&fx.addr, &name, &password, &name)
        .await
        .expect("2");
    let err = connect_as(&fx.addr, &name, &password, &name)
        .await
        .expect_err("3 is over the limit");
    assert_eq!(sqlstate(&err).as_deref(), Some("53300"), "{err}");
    let err = credentials_work(&fx.addr, &name, &password, &name)
        .await
        .expect_err("at the limit nothing can be told");
    assert!(!is_unreachable(&err), "{err:?}");

    admin
        .ensure_tenant_database(&name, &password, 20)
        .await
        .expect("raise");
    assert_eq!(limit(&fx), "20");
    let err = admin
        .ensure_tenant_database(&name, &password, -2)
        .await
        .expect_err("negative limit");
    assert!(matches!(err, DatabaseError::Refused { .. }));
}

#[tokio::test]
async fn no_password_shows_in_errors_or_the_server_log() {
    let fx = Fixture::start_with(PgOptions {
        settings: vec![("log_statement".into(), "all".into())],
        ..PgOptions::default()
    });
    let admin = fx.admin().await;
    let name = database_for("secretive");
    let password = generate_password();
    let rotated = generate_password();
    admin
        .ensure_tenant_database(&name, &password, 8)
        .await
        .expect("ensure");
    admin.set_password(&name, &rotated).await.expect("rotate");
    admin
        .ensure_tenant_database(&name, &password, 8)
        .await
        .expect("adopt");

    let mut errors: Vec<DatabaseError> = Vec::new();
    let wrong_admin = AdminCredentials {
        username: ADMIN.into(),
        password: password.clone(),
    };
    let err = ServerAdmin::connect(&fx.addr, &wrong_admin)
        .await
        .expect_err("wrong admin password");
    assert!(
        matches!(err, DatabaseError::Authentication { .. }),
        "{err:?}"
    );
    errors.push(err);
    errors.push(
        admin
            .set_password("tenant_ghost", &password)
            .await
            .expect_err("no such role"),
    );
    errors.push(
        admin
            .ensure_tenant_database("Tenant-Bad", &password, 8)
            .await
            .expect_err("bad name"),
    );
    errors.push(
        admin
            .ensure_tenant_database(&name, &format!("{password}\u{e9}"), 8)
            .await
            .expect_err("non-ASCII password"),
    );
    errors.push(
        admin
            .ensure_tenant_database(&name, &password, -5)
            .await
            .expect_err("bad limit"),
    );
    let other = generate_password();
    let other_name = database_for("other");
    admin
        .ensure_tenant_database(&other_name, &other, 1)
        .await
        .expect("other");
    let _held = connect_as(&fx.addr, &other_name, &other, &other_name)
        .await
        .expect("hold the only slot");
    errors.push(
        credentials_work(&fx.addr, &other_name, &other, &other_name)
            .await
            .expect_err("over the limit"),
    );
    let stopped = ServerAddress {
        port: boxoffice_e2e::net::free_port().expect("port"),
        ..fx.addr.clone()
    };
    errors.push(
        credentials_work(&stopped, &name, &password, &name)
            .await
            .expect_err("nothing listens"),
    );

    for err in &errors {
        for shown in [format!("{err:?}"), err.to_string()] {
            for secret in [&password, &rotated, &other, &fx.admin.password] {
                assert!(!shown.contains(secret.as_str()), "{shown}");
            }
        }
    }
    assert!(format!("{admin:?}").contains(ADMIN));
    assert!(!format!("{admin:?}").contains(&fx.admin.password));

    // The server logged every statement, and none held a tenant's password.
    let log = std::fs::read_to_string(fx.pg.log_path()).expect("server log");
    assert!(log.contains("ALTER ROLE"), "statements are logged");
    assert!(log.contains("SCRAM-SHA-256$4096:"));
    for secret in [&password, &rotated, &other] {
        assert!(!log.contains(secret.as_str()));
    }
}

#[tokio::test]
async fn tls_modes_connect_and_verify() {
    let fx = Fixture::start_with(PgOptions {
        tls: true,
        ..PgOptions::default()
    });
    let ca = fx.pg.ca_pem().expect("CA");
    let modes = [
        (SslMode::Disable, None, false),
        (SslMode::Require, None, true),
        (SslMode::VerifyFull, Some(ca.clone()), true),
    ];
    for (ssl_mode, ca_pem, encrypted) in modes {
        let addr = ServerAddress {
            ssl_mode,
            ca_pem,
            ..fx.addr.clone()
        };
        let admin = ServerAdmin::connect(&addr, &fx.admin)
            .await
            .unwrap_or_else(|err| panic!("{ssl_mode:?}: {err}"));
        let name = database_for(&format!("tls-{}", ssl_mode.as_str()));
        let password = generate_password();
        admin
            .ensure_tenant_database(&name, &password, 4)
            .await
            .expect("ensure");
        assert!(credentials_work(&addr, &name, &password, &name)
            .await
            .expect("check"));
        assert_eq!(
            fx.query(&format!(
                "SELECT bool_or(ssl)::text FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) \
                 WHERE usename = '{ADMIN}'"
            )),
            encrypted.to_string(),
            "{ssl_mode:?}"
        );
        admin.close().await;
    }

    // verify-full refuses a server whose certificate another CA signed.
    let other = PgServer::start_with(PgOptions {
        tls: true,
        ..PgOptions::default()
    })
    .expect("second server");
    let wrong_ca = ServerAddress {
        ssl_mode: SslMode::VerifyFull,
        ca_pem: other.ca_pem(),
        ..fx.addr.clone()
    };
    let err = ServerAdmin::connect(&wrong_ca, &fx.admin)
        .await
        .expect_err("wrong CA");
    assert!(is_unreachable(&err), "{err:?}");
    assert!(err.to_string().contains("certificate"), "{err}");
    // verify-full checks the host name too: the certificate names 127.0.0.1 only.
    let right_ca_wrong_name = ServerAddress {
        host: "localhost".into(),
        ssl_mode: SslMode::VerifyFull,
        ca_pem: Some(ca),
        ..fx.addr.clone()
    };
    let err = ServerAdmin::connect(&right_ca_wrong_name, &fx.admin)
        .await
        .expect_err("wrong host name");
    assert!(is_unreachable(&err), "{err:?}");
    assert!(err.to_string().contains("certificate"), "{err}");
}

#[tokio::test]
async fn database_futures_can_run_on_any_thread() {
    fn assert_send<T: Send>(_: &T) {}
    let fx = Fixture::start();
    let admin = fx.admin().await;
    assert_send(&admin.ensure_tenant_database("tenant_x", "pw", 1));
    assert_send(&admin.drop_tenant_database("tenant_x"));
    assert_send(&admin.set_password("tenant_x", "pw"));
    assert_send(&admin.ping());
    assert_send(&credentials_work(&fx.addr, "tenant_x", "pw", "tenant_x"));
    assert_send(&ServerAdmin::connect(&fx.addr, &fx.admin));
    // Also spawned for real.
    let handle = tokio::spawn(async move { admin.ping().await.map(|_| admin) });
    let admin = tokio::time::timeout(Duration::from_secs(30), handle)
        .await
        .expect("in time")
        .expect("joined")
        .expect("ping");
    admin.close().await;
}
