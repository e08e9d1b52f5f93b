//! Catalog reads: columns, partitions, the newest partition value.
//!
//! Every identifier the caller supplies (schema, table, column) is bound as
//! a parameter (`$1`, `$2`) of a fixed catalog query, never spliced into SQL
//! text. The one statement that must name a table in `FROM`
//! ([`max_value`]) first resolves the table and column through the catalogs
//! and then quotes the names the catalog returned. These functions run
//! inside a transaction opened by the caller; they do not check policy.

use std::cmp::Ordering;
use std::collections::HashMap;

use tokio_postgres::types::Type;
use tokio_postgres::Transaction;

use super::bound::ColumnType;
use super::session::quote_ident;
use crate::engine::{ColumnInfo, PageRequest, PartitionPage};

/// A policy key split into schema and table; unqualified keys use
/// `default_schema`.
pub(crate) fn split_key<'a>(key: &'a str, default_schema: &'a str) -> (&'a str, &'a str) {
    key.split_once('.').unwrap_or((default_schema, key))
}

const TABLE_OID: &str = "SELECT c.oid FROM pg_catalog.pg_class c \
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
     WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')";

const COLUMNS: &str = "SELECT a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod), \
     NOT a.attnotnull, pg_catalog.col_description(a.attrelid, a.attnum), \
     COALESCE(a.attnum = ANY (i.indkey::int2[]), false), \
     COALESCE(a.attnum = ANY (p.partattrs::int2[]), false), a.atttypid, a.atttypmod \
     FROM pg_catalog.pg_attribute a \
     LEFT JOIN pg_catalog.pg_index i ON i.indrelid = a.attrelid AND i.indisprimary \
     LEFT JOIN pg_catalog.pg_partitioned_table p ON p.partrelid = a.attrelid \
     WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped \
     ORDER BY a.attnum";

const COLUMN_EXISTS: &str = "SELECT a.attname::text FROM pg_catalog.pg_attribute a \
     WHERE a.attrelid = $1 AND a.attname = $2 AND a.attnum > 0 AND NOT a.attisdropped";

const PARTITIONS: &str = "SELECT n.nspname::text, c.relname::text, \
     pg_catalog.pg_get_expr(c.relpartbound, c.oid) \
     FROM pg_catalog.pg_inherits h \
     JOIN pg_catalog.pg_class c ON c.oid = h.inhrelid \
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
     WHERE h.inhparent = $1";

/// The oid of a table, view or foreign table, if it exists.
async fn table_oid(
    tx: &Transaction<'_>,
    schema: &str,
    table: &str,
) -> Result<Option<u32>, tokio_postgres::Error> {
    let row = tx.query_opt(TABLE_OID, &[&schema, &table]).await?;
    row.map(|r| r.try_get(0)).transpose()
}

/// The columns of a table.
pub(crate) struct TableColumns {
    /// Every column, in order.
    pub(crate) columns: Vec<ColumnInfo>,
    /// Every column's type and modifier by name, when the driver knows
    /// all the types without asking the server (`run.rs` sends a query in
    /// one flight only then: looking a type up in the middle of a flight
    /// would wait behind its own rows); `None` when a column has another
    /// type.
    pub(crate) types: Option<HashMap<String, ColumnType>>,
}

/// Every column of `schema.table`, or `None` when it does not exist.
pub(crate) async fn columns(
    tx: &Transaction<'_>,
    schema: &str,
    table: &str,
) -> Result<Option<TableColumns>, tokio_postgres::Error> {
    let Some(oid) = table_oid(tx, schema, table).await? else {
        return Ok(None);
    };
    let rows = tx.query(COLUMNS, &[&oid]).await?;
    let mut types = Some(HashMap::with_capacity(rows.len()));
    let columns = rows
        .iter()
        .map(|r| {
            let name: String = r.try_get(0)?;
            match (Type::from_oid(r.try_get(6)?), &mut types) {
                (Some(ty), Some(types)) => {
                    let typmod = r.try_get(7)?;
                    types.insert(name.clone(), ColumnType { ty, typmod });
                }
                (None, _) => types = None,
                (Some(_), None) => {}
            }
            Ok(ColumnInfo {
                name,
                type_name: r.try_get(1)?,
                nullable: r.try_get(2)?,
                comment: r.try_get(3)?,
                primary_key: r.try_get(4)?,
                partition_key: r.try_get(5)?,
            })
        })
        .collect::<Result<Vec<_>, tokio_postgres::Error>>()?;
    Ok(Some(TableColumns { columns, types }))
}

/// The greatest value of `column` in `schema.table`, as text; `None` when
/// the table is empty, or the table or column does not exist.
pub(crate) async fn max_value(
    tx: &Transaction<'_>,
    schema: &str,
    table: &str,
    column: &str,
) -> Result<Option<String>, tokio_postgres::Error> {
    let Some(oid) = table_oid(tx, schema, table).await? else {
        return Ok(None);
    };
    let Some(found) = tx.query_opt(COLUMN_EXISTS, &[&oid, &column]).await? else {
        return Ok(None);
    };
    let column: String = found.try_get(0)?;
    let sql = format!(
        "SELECT max({})::text FROM {}.{}",
        quote_ident(&column),
        quote_ident(schema),
        quote_ident(table)
    );
    let row = tx.query_one(sql.as_str(), &[]).await?;
    row.try_get(0)
}

/// One partition and its bound, as listed.
#[derive(Debug, Clone, PartialEq)]
struct Partition {
    name: String,
    bound: String,
}

/// Declarative partitions of `schema.table`, newest first, one page at a
/// time. The marker is the name of the last partition of the previous page.
pub(crate) async fn partitions(
    tx: &Transaction<'_>,
    schema: &str,
    table: &str,
    page: &PageRequest,
) -> Result<Option<PartitionPage>, tokio_postgres::Error> {
    let Some(oid) = table_oid(tx, schema, table).await? else {
        return Ok(None);
    };
    let mut all: Vec<Partition> = tx
        .query(PARTITIONS, &[&oid])
        .await?
        .iter()
        .map(|r| {
            Ok(Partition {
                name: format!(
                    "{}.{}",
                    r.try_get::<_, String>(0)?,
                    r.try_get::<_, String>(1)?
                ),
                bound: r.try_get::<_, Option<String>>(2)?.unwrap_or_default(),
            })
        })
        .collect::<Result<_, tokio_postgres::Error>>()?;
    all.sort_by(|a, b| newest_first(&a.bound, &b.bound).then_with(|| b.name.cmp(&a.name)));
    let start = match &page.marker {
        Some(marker) => all
            .iter()
            .position(|p| &p.name == marker)
            .map_or(all.len(), |i| i + 1),
        None => 0,
    };
    let limit = usize::try_from(page.limit.max(1)).unwrap_or(usize::MAX);
    let slice: Vec<&Partition> = all.iter().skip(start).take(limit).collect();
    let next_marker = (start + slice.len() < all.len())
        .then(|| slice.last().map(|p| p.name.clone()))
        .flatten();
    Ok(Some(PartitionPage {
        partitions: slice
            .iter()
            .map(|p| format!("{} {}", p.name, p.bound))
            .collect(),
        next_marker,
    }))
}

/// Order two partition bounds newest (greatest upper bound) first; the
/// `DEFAULT` partition goes last.
fn newest_first(a: &str, b: &str) -> Ordering {
    match (sort_key(a), sort_key(b)) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => y.compare(&x),
    }
}

/// What a bound sorts by: the upper bound of a range (`TO (...)`), the
/// values of a list (`IN (...)`), or the remainder of a hash partition.
/// Numbers compare as numbers and before text.
#[derive(Debug)]
enum BoundKey {
    Number(f64),
    Text(String),
}

impl BoundKey {
    fn compare(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Self::Number(a), Self::Number(b)) => a.total_cmp(b),
            (Self::Number(_), Self::Text(_)) => Ordering::Less,
            (Self::Text(_), Self::Number(_)) => Ordering::Greater,
            (Self::Text(a), Self::Text(b)) => a.cmp(b),
        }
    }
}

fn sort_key(bound: &str) -> Option<BoundKey> {
    if bound == "DEFAULT" {
        return None;
    }
    let values = ["TO (", "IN (", "REMAINDER "]
        .iter()
        .find_map(|marker| bound.rfind(marker).map(|at| &bound[at + marker.len()..]))
        .unwrap_or(bound);
    let first = values
        .trim_end_matches(')')
        .split(',')
        .next()
        .unwrap_or("")
        .trim()
        .trim_matches('\'');
    Some(match first.parse::<f64>() {
        Ok(n) => BoundKey::Number(n),
        Err(_) => BoundKey::Text(first.to_owned()),
    })
}

#[cfg(test)]
mod tests;
