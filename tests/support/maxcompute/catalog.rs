//! The emulator's metadata: projects, optional schemas, tables with column
//! comments and partition keys, and the partitions registry.
//!
//! It holds no rows (those live in PostgreSQL, see `store.rs`) and does no
//! I/O. The one idea: a table is addressed by `(project, schema, name)`,
//! where `schema` is `default` for 2-tier projects, and lives in PostgreSQL
//! schema [`TableId::pg_schema`].

use std::collections::BTreeMap;

use super::types::{McType, UnsupportedType};

/// The schema name a 2-tier project's tables live in.
pub const DEFAULT_SCHEMA: &str = "default";

/// A table's full address.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TableId {
    /// Project name (lower case).
    pub project: String,
    /// Schema name (lower case); [`DEFAULT_SCHEMA`] for 2-tier projects.
    pub schema: String,
    /// Table name (lower case).
    pub name: String,
}

impl TableId {
    /// Parse `project.table` or `project.schema.table`.
    pub fn parse(dotted: &str) -> TableId {
        let parts: Vec<String> = dotted.split('.').map(str::to_ascii_lowercase).collect();
        match parts.as_slice() {
            [p, s, t] => TableId::new(p, s, t),
            [p, t] => TableId::new(p, DEFAULT_SCHEMA, t),
            _ => panic!("table address `{dotted}` must be project.table or project.schema.table"),
        }
    }

    /// A table id from its parts, lower-cased (MaxCompute names are
    /// case-insensitive).
    pub fn new(project: &str, schema: &str, name: &str) -> TableId {
        TableId {
            project: project.to_ascii_lowercase(),
            schema: schema.to_ascii_lowercase(),
            name: name.to_ascii_lowercase(),
        }
    }

    /// The PostgreSQL schema holding this table's rows: the project name,
    /// or `project__schema` for a non-default schema of a 3-tier project.
    pub fn pg_schema(&self) -> String {
        if self.schema == DEFAULT_SCHEMA {
            self.project.clone()
        } else {
            format!("{}__{}", self.project, self.schema)
        }
    }

    /// `"pg_schema"."name"`, quoted for PostgreSQL.
    pub fn pg_qualified(&self) -> String {
        format!("{}.{}", quote_pg(&self.pg_schema()), quote_pg(&self.name))
    }
}

/// Quote an identifier for PostgreSQL.
pub fn quote_pg(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// A column: name, MaxCompute type, comment.
#[derive(Debug, Clone)]
pub struct Column {
    /// Column name (lower case).
    pub name: String,
    /// Declared type.
    pub ty: McType,
    /// Column comment, empty when none.
    pub comment: String,
}

/// A table definition the tests build and hand to
/// [`super::EmulatorHandle::create_table`].
#[derive(Debug, Clone)]
pub struct TableSpec {
    /// Where the table lives.
    pub id: TableId,
    /// Table comment.
    pub comment: String,
    /// Data columns in order.
    pub columns: Vec<Column>,
    /// Partition keys in order (first-level first).
    pub partition_keys: Vec<Column>,
}

impl TableSpec {
    /// A new table at `project.table` or `project.schema.table`.
    pub fn new(dotted: &str) -> TableSpec {
        TableSpec {
            id: TableId::parse(dotted),
            comment: String::new(),
            columns: Vec::new(),
            partition_keys: Vec::new(),
        }
    }

    /// Set the table comment.
    pub fn comment(mut self, comment: &str) -> TableSpec {
        self.comment = comment.into();
        self
    }

    /// Add a data column; panics on a type the emulator does not support
    /// (a test-setup mistake, not a client-reachable path).
    pub fn column(mut self, name: &str, ty: &str, comment: &str) -> TableSpec {
        self.columns.push(column(name, ty, comment));
        self
    }

    /// Add a partition key.
    pub fn partition_key(mut self, name: &str, ty: &str, comment: &str) -> TableSpec {
        self.partition_keys.push(column(name, ty, comment));
        self
    }
}

fn column(name: &str, ty: &str, comment: &str) -> Column {
    let ty = McType::parse(ty).unwrap_or_else(|e: UnsupportedType| panic!("{e}"));
    Column {
        name: name.to_ascii_lowercase(),
        ty,
        comment: comment.into(),
    }
}

/// One registered partition.
#[derive(Debug, Clone)]
pub struct Partition {
    /// `(key, value)` pairs in partition-key order.
    pub values: Vec<(String, String)>,
    /// Creation time, epoch seconds.
    pub created: i64,
    /// Rows it holds (`PartitionRecordCount`).
    pub records: i64,
    /// Bytes it holds (`PartitionSize`).
    pub size: i64,
}

impl Partition {
    /// The spec string `k1=v1/k2=v2`, the registry key and sort order.
    pub fn spec(&self) -> String {
        self.values
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("/")
    }
}

/// A table in the catalog.
#[derive(Debug, Clone)]
pub struct Table {
    /// Definition.
    pub spec: TableSpec,
    /// Creation time, epoch seconds.
    pub created: i64,
    /// Registered partitions by spec string.
    pub partitions: BTreeMap<String, Partition>,
}

impl Table {
    /// The declared type of a data column or partition key.
    pub fn column_type(&self, name: &str) -> Option<&McType> {
        self.spec
            .columns
            .iter()
            .chain(&self.spec.partition_keys)
            .find(|c| c.name == name)
            .map(|c| &c.ty)
    }

    /// True when the table has partition keys.
    pub fn is_partitioned(&self) -> bool {
        !self.spec.partition_keys.is_empty()
    }
}

/// A project: 2-tier (only the default schema) or 3-tier.
#[derive(Debug, Clone)]
pub struct Project {
    /// Project name.
    pub name: String,
    /// True for a 3-tier (schema-enabled) project.
    pub three_tier: bool,
    /// Schema names (always holds [`DEFAULT_SCHEMA`]).
    pub schemas: Vec<String>,
    /// Creation time, epoch seconds.
    pub created: i64,
    /// Project properties set by the test (`odps.sql.allow.fullscan`, …),
    /// beyond the schema switch every project reports.
    pub properties: BTreeMap<String, String>,
}

/// All metadata of one emulator.
#[derive(Debug, Default, Clone)]
pub struct Catalog {
    /// Projects by name.
    pub projects: BTreeMap<String, Project>,
    /// Tables by id.
    pub tables: BTreeMap<TableId, Table>,
}

impl Catalog {
    /// Tables of one project schema, sorted by name.
    pub fn tables_in<'a>(
        &'a self,
        project: &'a str,
        schema: &'a str,
    ) -> impl Iterator<Item = &'a Table> + 'a {
        self.tables
            .values()
            .filter(move |t| t.spec.id.project == project && t.spec.id.schema == schema)
    }
}
