//! The admin role's side: create, adopt, re-key and drop tenants' roles and databases.
//!
//! The admin role is expected to have `CREATEROLE` and `CREATEDB` and nothing more. In
//! PostgreSQL 15 such a role may create a database owned by another role, and drop it
//! `WITH (FORCE)`, only as a member of that role, so the admin grants itself each tenant
//! role before it needs it. The tenant role gains nothing from that grant.

use std::fmt;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Postgres};

use super::error::{classify, sqlstate};
use super::sql::{quote_identifier, quote_literal, validate_name, validate_tenant_name};
use super::CONNECT_TIMEOUT;
use super::{close, scram, timed_out, AdminCredentials, DatabaseError, ServerAddress};

/// The admin's database on every PostgreSQL server.
const ADMIN_DATABASE: &str = "postgres";

/// What [`ServerAdmin::ensure_tenant_database`] had to create; what existed was adopted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Provisioned {
    pub role_created: bool,
    pub database_created: bool,
}

/// What [`ServerAdmin::drop_tenant_database`] found and dropped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Dropped {
    pub database: bool,
    pub role: bool,
}

/// A small pool of connections to one server's `postgres` database as its admin role.
pub struct ServerAdmin {
    pool: PgPool,
    addr: ServerAddress,
    admin: AdminCredentials,
}

impl fmt::Debug for ServerAdmin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerAdmin")
            .field("server", &self.addr.to_string())
            .field("admin", &self.admin.username)
            .finish_non_exhaustive()
    }
}

impl ServerAdmin {
    /// Connects as the admin role, so an unreachable server or a wrong admin password shows
    /// here rather than at the first statement.
    pub async fn connect(
        addr: &ServerAddress,
        admin: &AdminCredentials,
    ) -> Result<ServerAdmin, DatabaseError> {
        let options = addr.connect_options(&admin.username, &admin.password, ADMIN_DATABASE);
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .min_connections(0)
            .acquire_timeout(CONNECT_TIMEOUT)
            .idle_timeout(Duration::from_secs(60))
            .max_lifetime(Duration::from_secs(30 * 60))
            .connect_lazy_with(options);
        let server = ServerAdmin {
            pool,
            addr: addr.clone(),
            admin: admin.clone(),
        };
        // The connection goes back to the pool for the next statement.
        server.acquire().await?;
        Ok(server)
    }

    /// Whether the server answers the admin role now.
    pub async fn ping(&self) -> Result<(), DatabaseError> {
        let mut conn = self.acquire().await?;
        self.execute(&mut conn, "SELECT 1", "ping the server").await
    }

    /// Whether a database of that name exists.
    pub async fn database_exists(&self, database: &str) -> Result<bool, DatabaseError> {
        validate_name(database)?;
        let mut conn = self.acquire().await?;
        Ok(self.database_owner(&mut conn, database).await?.is_some())
    }

    /// Makes role and database `name` (a tenant's, `tenant_…`) exist as a tenant's should,
    /// with `password` and `connection_limit` (-1: none) on the role.
    ///
    /// What is missing is created; what exists is adopted: its password is set, its
    /// attributes and privileges are put right, and its data is left alone. Running it
    /// again changes nothing but the password's salt.
    pub async fn ensure_tenant_database(
        &self,
        name: &str,
        password: &str,
        connection_limit: i32,
    ) -> Result<Provisioned, DatabaseError> {
        validate_tenant_name(name)?;
        if connection_limit < -1 {
            return Err(DatabaseError::Refused {
                action: format!("set connection limit {connection_limit} on role {name}"),
                reason: "a connection limit is -1 (none) or more".into(),
            });
        }
        let verifier = scram::verifier(password)?;
        let ident = quote_identifier(name);
        let mut conn = self.acquire().await?;

        // INHERIT, not NOINHERIT: the role is granted no other role, and in PostgreSQL 15 it
        // can use the `public` schema of its database (owned by `pg_database_owner`, whose
        // member it is as the database's owner) only by inheriting that role's privileges.
        let attributes = format!(
            "LOGIN NOCREATEDB NOCREATEROLE INHERIT CONNECTION LIMIT {connection_limit} \
             PASSWORD {}",
            quote_literal(&verifier)
        );
        let role_created = self
            .ensure_role(&mut conn, name, &ident, &attributes)
            .await?;
        self.ensure_membership(&mut conn, name, &ident).await?;
        let database_created = self.ensure_database(&mut conn, name, &ident).await?;

        // Only the tenant's role may connect to its database.
        let revoke = format!("REVOKE CONNECT ON DATABASE {ident} FROM PUBLIC");
        let action = format!("revoke public access to database {name}");
        self.execute(&mut conn, &revoke, action).await?;
        let grant = format!("GRANT CONNECT ON DATABASE {ident} TO {ident}");
        let action = format!("grant role {name} access to its database");
        self.execute(&mut conn, &grant, action).await?;

        tracing::info!(
            server = %self.addr,
            database = name,
            role_created,
            database_created,
            "tenant database in place"
        );
        Ok(Provisioned {
            role_created,
            database_created,
        })
    }

    /// Sets a new password on tenant role `role` (`tenant_…`).
    pub async fn set_password(&self, role: &str, password: &str) -> Result<(), DatabaseError> {
        validate_tenant_name(role)?;
        let verifier = scram::verifier(password)?;
        let alter = format!(
            "ALTER ROLE {} PASSWORD {}",
            quote_identifier(role),
            quote_literal(&verifier)
        );
        let mut conn = self.acquire().await?;
        self.execute(
            &mut conn,
            &alter,
            format!("set the password of role {role}"),
        )
        .await?;
        tracing::info!(server = %self.addr, role, "tenant password set");
        Ok(())
    }

    /// Drops tenant database `name` (closing its connections) and then its role. Whatever
    /// does not exist is skipped, so it can run any number of times.
    pub async fn drop_tenant_database(&self, name: &str) -> Result<Dropped, DatabaseError> {
        validate_tenant_name(name)?;
        let ident = quote_identifier(name);
        let mut conn = self.acquire().await?;
        let role_exists = self.role_is_superuser(&mut conn, name).await?.is_some();
        let database_exists = self.database_owner(&mut conn, name).await?.is_some();

        // Membership lets the admin drop the role's database and end its sessions.
        if role_exists {
            self.ensure_membership(&mut conn, name, &ident).await?;
        }
        if database_exists {
            let drop = format!("DROP DATABASE IF EXISTS {ident} WITH (FORCE)");
            self.execute(&mut conn, &drop, format!("drop database {name}"))
                .await?;
        }
        if role_exists {
            // Privileges the role may hold in the admin's database would block DROP ROLE.
            let owned = format!("DROP OWNED BY {ident}");
            self.execute(&mut conn, &owned, format!("drop what role {name} owns"))
                .await?;
            let drop = format!("DROP ROLE IF EXISTS {ident}");
            self.execute(&mut conn, &drop, format!("drop role {name}"))
                .await?;
        }

        tracing::info!(
            server = %self.addr,
            database = name,
            database_dropped = database_exists,
            role_dropped = role_exists,
            "tenant database dropped"
        );
        Ok(Dropped {
            database: database_exists,
            role: role_exists,
        })
    }

    /// Closes the pool's connections.
    pub async fn close(self) {
        self.pool.close().await;
    }

    /// A connection from the pool. When none can be had in time, one direct attempt tells
    /// why (refused, TLS, password), which the pool's time-out alone does not.
    async fn acquire(&self) -> Result<PoolConnection<Postgres>, DatabaseError> {
        match self.pool.acquire().await {
            Ok(conn) => Ok(conn),
            Err(sqlx::Error::PoolTimedOut) => Err(self.diagnose().await),
            Err(err) => Err(self.classify("get a connection to the server", err)),
        }
    }

    async fn diagnose(&self) -> DatabaseError {
        let options =
            self.addr
                .connect_options(&self.admin.username, &self.admin.password, ADMIN_DATABASE);
        match tokio::time::timeout(CONNECT_TIMEOUT, options.connect()).await {
            Ok(Ok(conn)) => {
                close(conn).await;
                self.classify("get a connection to the server", sqlx::Error::PoolTimedOut)
            }
            Ok(Err(err)) => self.classify("connect to the server", err),
            Err(_) => timed_out(&self.addr),
        }
    }

    fn classify(&self, action: impl fmt::Display, err: sqlx::Error) -> DatabaseError {
        classify(&self.addr, &self.admin.username, &action, err)
    }

    async fn execute(
        &self,
        conn: &mut PoolConnection<Postgres>,
        sql: &str,
        action: impl fmt::Display,
    ) -> Result<(), DatabaseError> {
        sqlx::query(sql)
            .persistent(false)
            .execute(&mut **conn)
            .await
            .map(drop)
            .map_err(|err| self.classify(action, err))
    }

    /// `Some(rolsuper)` when role `name` exists.
    async fn role_is_superuser(
        &self,
        conn: &mut PoolConnection<Postgres>,
        name: &str,
    ) -> Result<Option<bool>, DatabaseError> {
        sqlx::query_scalar("SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = $1")
            .bind(name)
            .fetch_optional(&mut **conn)
            .await
            .map_err(|err| self.classify(format!("look up role {name}"), err))
    }

    /// The owner of database `name`, when it exists.
    async fn database_owner(
        &self,
        conn: &mut PoolConnection<Postgres>,
        name: &str,
    ) -> Result<Option<String>, DatabaseError> {
        sqlx::query_scalar(
            "SELECT pg_catalog.pg_get_userbyid(datdba)::text \
             FROM pg_catalog.pg_database WHERE datname = $1",
        )
        .bind(name)
        .fetch_optional(&mut **conn)
        .await
        .map_err(|err| self.classify(format!("look up database {name}"), err))
    }

    /// Creates role `name` with `attributes`, or adopts it by setting them; true when
    /// created.
    async fn ensure_role(
        &self,
        conn: &mut PoolConnection<Postgres>,
        name: &str,
        ident: &str,
        attributes: &str,
    ) -> Result<bool, DatabaseError> {
        match self.role_is_superuser(conn, name).await? {
            None => {
                let create = format!(
                    "CREATE ROLE {ident} NOSUPERUSER NOREPLICATION NOBYPASSRLS {attributes}"
                );
                match self
                    .execute(conn, &create, format!("create role {name}"))
                    .await
                {
                    Ok(()) => return Ok(true),
                    // Created since we looked: adopt it like any other.
                    Err(err) if query_sqlstate(&err).as_deref() == Some("42710") => {}
                    Err(err) => return Err(err),
                }
            }
            Some(true) => {
                return Err(DatabaseError::Refused {
                    action: format!("adopt role {name}"),
                    reason: "it is a superuser".into(),
                })
            }
            Some(false) => {}
        }
        // NOSUPERUSER, NOREPLICATION and NOBYPASSRLS are left out: PostgreSQL 15 lets only
        // superusers name them in ALTER ROLE (and only a superuser could have set them, in
        // which case this statement fails for a non-superuser admin).
        let alter = format!("ALTER ROLE {ident} {attributes}");
        self.execute(conn, &alter, format!("adopt role {name}"))
            .await?;
        Ok(false)
    }

    /// Creates database `name` owned by role `name`, or adopts it by making the role its
    /// owner; true when created.
    async fn ensure_database(
        &self,
        conn: &mut PoolConnection<Postgres>,
        name: &str,
        ident: &str,
    ) -> Result<bool, DatabaseError> {
        match self.database_owner(conn, name).await? {
            Some(owner) if owner == name => return Ok(false),
            Some(_) => {}
            None => {
                let create = format!("CREATE DATABASE {ident} OWNER {ident}");
                match self
                    .execute(conn, &create, format!("create database {name}"))
                    .await
                {
                    Ok(()) => return Ok(true),
                    Err(err) if query_sqlstate(&err).as_deref() == Some("42P04") => {}
                    Err(err) => return Err(err),
                }
            }
        }
        let alter = format!("ALTER DATABASE {ident} OWNER TO {ident}");
        let action = format!("make role {name} owner of its database");
        self.execute(conn, &alter, action).await?;
        Ok(false)
    }

    /// Makes the admin role a member of role `name`, unless it is already (or a superuser).
    async fn ensure_membership(
        &self,
        conn: &mut PoolConnection<Postgres>,
        name: &str,
        ident: &str,
    ) -> Result<(), DatabaseError> {
        let member: bool =
            sqlx::query_scalar("SELECT pg_catalog.pg_has_role(current_user, $1::name, 'MEMBER')")
                .bind(name)
                .fetch_one(&mut **conn)
                .await
                .map_err(|err| self.classify(format!("check membership in role {name}"), err))?;
        if member {
            return Ok(());
        }
        let grant = format!("GRANT {ident} TO CURRENT_USER");
        self.execute(conn, &grant, format!("grant role {name} to the admin role"))
            .await
    }
}

/// The SQLSTATE of a failed statement.
fn query_sqlstate(err: &DatabaseError) -> Option<String> {
    match err {
        DatabaseError::Query { cause, .. } => sqlstate(cause),
        _ => None,
    }
}
