//! PostgreSQL: the connection pool (every connection's `search_path` set to the server's
//! schema) and versioned migrations, applied once under an advisory lock so several server
//! instances can start together.

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;

use crate::error::ServerError;

/// One migration: version, name, SQL.
struct Migration {
    version: i32,
    name: &'static str,
    sql: &'static str,
}

/// Every migration, in order. Never edit a released one: add the next version.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "schema",
        sql: include_str!("../migrations/0001_schema.sql"),
    },
    Migration {
        version: 2,
        name: "accounts",
        sql: include_str!("../migrations/0002_accounts.sql"),
    },
    Migration {
        version: 3,
        name: "ingest_dead_letters",
        sql: include_str!("../migrations/0003_ingest_dead_letters.sql"),
    },
    Migration {
        version: 4,
        name: "mission_transitions",
        sql: include_str!("../migrations/0004_mission_transitions.sql"),
    },
    Migration {
        version: 5,
        name: "ingest_members",
        sql: include_str!("../migrations/0005_ingest_members.sql"),
    },
    Migration {
        version: 6,
        name: "schedules",
        sql: include_str!("../migrations/0006_schedules.sql"),
    },
];

/// Latest schema version this build knows.
pub const SCHEMA_VERSION: i32 = 6;

/// Checks that `schema` is a plain identifier (it is spliced into SQL).
pub fn check_schema_name(schema: &str) -> Result<(), ServerError> {
    let ok = !schema.is_empty()
        && schema.len() <= 63
        && schema
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !schema.starts_with(|c: char| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(ServerError::Config(format!(
            "schema name {schema:?} must be [a-z_][a-z0-9_]*"
        )))
    }
}

/// Builds the pool; connections use `schema` first on their search path.
pub fn pool(database_url: &str, schema: &str, size: usize) -> Result<Pool, ServerError> {
    check_schema_name(schema)?;
    let mut cfg: tokio_postgres::Config = database_url
        .parse()
        .map_err(|e: tokio_postgres::Error| ServerError::Config(format!("database URL: {e}")))?;
    // NOTICEs (e.g. "temp table already exists" on every ingest batch) are not worth a log line.
    cfg.options(format!(
        "-c search_path={schema},public -c client_min_messages=warning"
    ));
    cfg.application_name("aviary-server");
    let mgr = Manager::from_config(
        cfg,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Ok(Pool::builder(mgr).max_size(size.max(2)).build()?)
}

/// Creates the schema if needed and applies pending migrations. Returns the versions applied.
pub async fn migrate(pool: &Pool, schema: &str) -> Result<Vec<i32>, ServerError> {
    check_schema_name(schema)?;
    let mut client = pool.get().await?;
    client
        .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
        .await?;
    // Serialise concurrent starts on the same schema.
    client
        .execute("SELECT pg_advisory_lock(hashtext($1))", &[&schema])
        .await?;
    let result = apply(&mut client).await;
    client
        .execute("SELECT pg_advisory_unlock(hashtext($1))", &[&schema])
        .await?;
    result
}

async fn apply(client: &mut deadpool_postgres::Object) -> Result<Vec<i32>, ServerError> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                version INT PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
        )
        .await?;
    let done: Vec<i32> = client
        .query("SELECT version FROM schema_migrations", &[])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut applied = Vec::new();
    for m in MIGRATIONS.iter().filter(|m| !done.contains(&m.version)) {
        let tx = client.transaction().await?;
        tx.batch_execute(m.sql)
            .await
            .map_err(|source| ServerError::Migration {
                version: m.version,
                source,
            })?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
            &[&m.version, &m.name],
        )
        .await?;
        tx.commit().await?;
        tracing::info!(version = m.version, name = m.name, "migration applied");
        applied.push(m.version);
    }
    Ok(applied)
}

/// Drops `schema` and everything in it (tests clean up with this).
pub async fn drop_schema(pool: &Pool, schema: &str) -> Result<(), ServerError> {
    check_schema_name(schema)?;
    pool.get()
        .await?
        .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .await?;
    Ok(())
}
