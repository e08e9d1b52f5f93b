//! The backing store: one PostgreSQL database per emulator, one PostgreSQL
//! schema per project (or project schema), partition columns as ordinary
//! columns.
//!
//! It knows nothing about HTTP or MaxCompute SQL: it runs PostgreSQL text
//! it is given (already translated by `sql.rs`) and answers the few
//! metadata questions the emulator needs (partitions holding data, bytes a
//! scan reads, where a result column came from). The one idea: queries run
//! on a fresh connection in a read-only session, so nothing a client sends
//! can change the stored data.

use std::collections::HashMap;

use tokio_postgres::types::Type;
use tokio_postgres::{Client, NoTls, Row};

use super::catalog::{quote_pg, TableId, TableSpec};
use crate::support::pg::{self, TestDb};

/// The emulator's PostgreSQL database.
pub struct Store {
    db: TestDb,
    admin: Client,
}

/// A result column as PostgreSQL describes it.
#[derive(Debug, Clone)]
pub struct PgColumn {
    /// Column name.
    pub name: String,
    /// PostgreSQL type.
    pub ty: Type,
    /// Source table oid, when the column is a plain table column.
    pub table_oid: Option<u32>,
    /// Source attribute number, likewise.
    pub column_id: Option<i16>,
}

/// Where a result column came from, when it is a plain table column.
#[derive(Debug, Clone)]
pub struct ColumnOrigin {
    /// PostgreSQL schema.
    pub pg_schema: String,
    /// Table name.
    pub table: String,
    /// Column name.
    pub column: String,
}

impl Store {
    /// Create a fresh database for one emulator.
    pub async fn create() -> Store {
        let db = TestDb::create("mcemu").await;
        let admin = db.client().await;
        Store { db, admin }
    }

    /// Create the PostgreSQL schema for a project or project schema.
    pub async fn create_schema(&self, pg_schema: &str) {
        self.admin
            .batch_execute(&format!(
                "CREATE SCHEMA IF NOT EXISTS {}",
                quote_pg(pg_schema)
            ))
            .await
            .unwrap_or_else(|e| panic!("cannot create schema {pg_schema}: {e}"));
    }

    /// Create the table for `spec`: data columns then partition keys.
    pub async fn create_table(&self, spec: &TableSpec) {
        let cols: Vec<String> = spec
            .columns
            .iter()
            .chain(&spec.partition_keys)
            .map(|c| format!("{} {}", quote_pg(&c.name), c.ty.pg_storage()))
            .collect();
        let ddl = format!(
            "CREATE TABLE {} ({})",
            spec.id.pg_qualified(),
            cols.join(", ")
        );
        self.admin
            .batch_execute(&ddl)
            .await
            .unwrap_or_else(|e| panic!("cannot create {ddl}: {e}"));
    }

    /// Run test-setup SQL as the owner (inserts and the like).
    pub async fn setup(&self, sql: &str) {
        self.admin
            .batch_execute(sql)
            .await
            .unwrap_or_else(|e| panic!("setup SQL failed: {sql}: {e}"));
    }

    /// Partition-key tuples present in a table's rows, as text, with the
    /// rows and bytes (text form) each holds: the partition listing's
    /// `PartitionRecordCount` and `PartitionSize`.
    pub async fn partitions_with_rows(
        &self,
        id: &TableId,
        keys: &[String],
    ) -> Result<Vec<(Vec<String>, i64, i64)>, tokio_postgres::Error> {
        let cols: Vec<String> = keys
            .iter()
            .map(|k| format!("{}::text", quote_pg(k)))
            .collect();
        let sql = format!(
            "SELECT {cols}, count(*), sum(octet_length(t::text))::bigint FROM {} t GROUP BY {cols}",
            id.pg_qualified(),
            cols = cols.join(", "),
        );
        let rows = self.admin.query(&sql, &[]).await?;
        let n = keys.len();
        Ok(rows
            .iter()
            .map(|r| {
                let values = (0..n).map(|i| r.get::<_, String>(i)).collect();
                (values, r.get::<_, i64>(n), r.get::<_, i64>(n + 1))
            })
            .collect())
    }

    /// The largest value (string order) of the first partition key among
    /// rows that exist, i.e. the newest first-level partition holding data.
    pub async fn max_first_partition(
        &self,
        id: &TableId,
        key: &str,
    ) -> Result<Option<String>, tokio_postgres::Error> {
        let sql = format!(
            "SELECT max({}::text) FROM {}",
            quote_pg(key),
            id.pg_qualified()
        );
        let row = self.admin.query_one(&sql, &[]).await?;
        row.try_get(0)
    }

    /// The bytes a scan of the table reads under `predicates` (rendered
    /// partition-key filters, ANDed): the byte length of the selected rows'
    /// text form, which depends only on the data and adds up across
    /// partitions (relation sizes on disk and `pg_column_size` do neither).
    /// Runs read-only, since the predicates come from client SQL.
    pub async fn scan_bytes(
        &self,
        id: &TableId,
        predicates: &[String],
    ) -> Result<i64, tokio_postgres::Error> {
        let filter = if predicates.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", predicates.join(" AND "))
        };
        let sql = format!(
            "SELECT coalesce(sum(octet_length(t::text)), 0)::int8 FROM {} AS t{filter}",
            id.pg_qualified()
        );
        let (_, rows) = self.run_query(&sql).await?;
        match rows.first() {
            Some(row) => row.try_get(0),
            None => Ok(0),
        }
    }

    /// Run one translated query in a read-only session of its own; returns
    /// the result's column descriptions and rows.
    pub async fn run_query(
        &self,
        sql: &str,
    ) -> Result<(Vec<PgColumn>, Vec<Row>), tokio_postgres::Error> {
        let conn_str = format!(
            "host={} port={} user=postgres dbname={} options='-c default_transaction_read_only=on -c statement_timeout=60000'",
            pg::host(),
            pg::port(),
            self.db.name
        );
        let (client, connection) = tokio_postgres::connect(&conn_str, NoTls).await?;
        let driver = tokio::spawn(connection);
        let result = async {
            let statement = client.prepare(sql).await?;
            let columns = statement
                .columns()
                .iter()
                .map(|c| PgColumn {
                    name: c.name().to_string(),
                    ty: c.type_().clone(),
                    table_oid: c.table_oid(),
                    column_id: c.column_id(),
                })
                .collect();
            let rows = client.query(&statement, &[]).await?;
            Ok((columns, rows))
        }
        .await;
        drop(client);
        let _ = driver.await;
        result
    }

    /// Map `(table oid, attnum)` of result columns to table columns.
    pub async fn column_origins(
        &self,
        oids: &[u32],
    ) -> Result<HashMap<(u32, i16), ColumnOrigin>, tokio_postgres::Error> {
        if oids.is_empty() {
            return Ok(HashMap::new());
        }
        let oids: Vec<tokio_postgres::types::Oid> = oids.to_vec();
        let rows = self
            .admin
            .query(
                "SELECT c.oid, a.attnum, n.nspname::text, c.relname::text, a.attname::text \
                 FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE c.oid = ANY($1) AND a.attnum > 0",
                &[&oids],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| {
                (
                    (r.get::<_, u32>(0), r.get::<_, i16>(1)),
                    ColumnOrigin {
                        pg_schema: r.get(2),
                        table: r.get(3),
                        column: r.get(4),
                    },
                )
            })
            .collect())
    }
}
