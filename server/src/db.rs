//! Opening the database (SQLite or PostgreSQL behind one `sqlx::Any` pool) and migrating it.
//!
//! The store speaks one SQL dialect that both backends accept (`$1` placeholders, `RETURNING`,
//! `ON CONFLICT`); the few statements that differ (full-text search) ask [`Backend`].

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use sqlx::{
    AnyPool, Executor,
    any::{AnyPoolOptions, install_default_drivers},
    migrate::Migrator,
};
use tokio::sync::{Mutex, OwnedMutexGuard};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The connection pool plus what the store needs to know about the backend.
#[derive(Clone)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
    /// SQLite allows one writer at a time and turns lock upgrades inside concurrent
    /// transactions into immediate SQLITE_BUSY errors; writers queue here instead.
    sqlite_writer: Arc<Mutex<()>>,
}

/// A write transaction. On SQLite it also holds the single-writer lock until dropped.
pub struct WriteTx {
    pub tx: sqlx::Transaction<'static, sqlx::Any>,
    _writer: Option<OwnedMutexGuard<()>>,
}

impl WriteTx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }
}

impl std::ops::Deref for WriteTx {
    type Target = sqlx::AnyConnection;
    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

impl Db {
    /// Connects, creates the SQLite file if needed, and runs the migrations.
    pub async fn open(url: &str, pool_size: u32) -> anyhow::Result<Db> {
        install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            anyhow::bail!("unsupported database URL scheme: use sqlite:// or postgres://");
        };
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite {
                pool_size.clamp(1, 8)
            } else {
                pool_size.max(1)
            })
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |connection, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        connection
                            .execute(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                                 PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                            )
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(url)
            .await
            .context("could not connect to the database")?;
        let migrator = match backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator
            .run(&pool)
            .await
            .context("could not migrate the database")?;
        Ok(Db {
            pool,
            backend,
            sqlite_writer: Arc::new(Mutex::new(())),
        })
    }

    /// Begins a transaction that will write.
    pub async fn begin_write(&self) -> Result<WriteTx, sqlx::Error> {
        let writer = match self.backend {
            Backend::Sqlite => Some(self.sqlite_writer.clone().lock_owned().await),
            Backend::Postgres => None,
        };
        // IMMEDIATE takes SQLite's write lock at once: a transaction that read first and wrote
        // later would otherwise fail (SQLITE_BUSY_SNAPSHOT) when another process, such as the
        // console, wrote in between; the mutex above only orders this process's writers.
        let mut tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        if self.backend == Backend::Postgres {
            // seq order equals commit order only under READ COMMITTED row locking; an
            // operator's stricter default would turn concurrent sends into serialization errors.
            sqlx::query("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
                .execute(&mut *tx)
                .await?;
        }
        Ok(WriteTx {
            tx,
            _writer: writer,
        })
    }

    /// Runs one writing statement in its own transaction (through the SQLite writer lock).
    pub async fn execute_write(
        &self,
        query: sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments>,
    ) -> Result<sqlx::any::AnyQueryResult, sqlx::Error> {
        let mut tx = self.begin_write().await?;
        let result = query.execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(result)
    }

    /// True when the database answers a trivial query.
    pub async fn is_reachable(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }
}

/// `$1, $2, …, $count`: the placeholders of an `IN (…)` list, the same text for both backends.
pub fn placeholders(count: usize) -> String {
    (1..=count)
        .map(|index| format!("${index}"))
        .collect::<Vec<_>>()
        .join(", ")
}
