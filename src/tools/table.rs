//! Tools about one table: `describe_table`, `list_partitions` and
//! `preview_table`.
//!
//! They apply the same table and column policy as queries: a table must be
//! allowed, only allowed columns are described or previewed, and the
//! database's comments are returned as untrusted data (they end up inside
//! the fence, next to the policy's own descriptions, which are trusted).

use serde_json::{json, Value};

use crate::engine::PageRequest;
use crate::error::ToolError;

use super::args::{
    positive_limit, ListPartitionsArgs, PreviewTableArgs, TableArgs, PARTITIONS_DEFAULT_LIMIT,
    PARTITIONS_MAX_LIMIT, PREVIEW_DEFAULT_LIMIT,
};
use super::call::{Call, Handler};
use super::envelope::ToolSuccess;
use super::run::GateInput;

/// `describe_table`: the allowed columns of one table.
pub(crate) struct DescribeTable;

impl Handler for DescribeTable {
    type Args = TableArgs;

    async fn run(mut call: Call<'_>, args: TableArgs) -> Result<ToolSuccess, ToolError> {
        let rules = call.source(args.source.as_deref())?;
        let (key, policy) = call.allowed_table(&rules, &args.table)?;
        let session = call.session;
        let engine = session.engine(rules.name)?;
        let all = session.table_columns(rules.name, &engine, &key).await?;
        let columns: Vec<Value> = all
            .iter()
            .filter(|c| rules.column_allowed(&key, &c.name))
            .map(|c| {
                json!({
                    "name": c.name,
                    "type": c.type_name,
                    "nullable": c.nullable,
                    "description": policy.columns.get(&c.name),
                    "comment": c.comment,
                    "partition_key": c.partition_key,
                    "primary_key": c.primary_key,
                })
            })
            .collect();
        let partition_keys: Vec<&str> = all
            .iter()
            .filter(|c| c.partition_key && rules.column_allowed(&key, &c.name))
            .map(|c| c.name.as_str())
            .collect();
        call.facts.columns_used = columns
            .iter()
            .filter_map(|c| c["name"].as_str())
            .map(|name| format!("{key}.{name}"))
            .collect();
        call.facts.row_count = Some(columns.len() as u64);
        let hidden = all.len() - columns.len();
        Ok(ToolSuccess {
            rows: None,
            summary: format!(
                "source `{}`: table `{key}` has {} allowed column(s){}",
                rules.name,
                columns.len(),
                if hidden > 0 {
                    format!(" ({hidden} hidden by policy)")
                } else {
                    String::new()
                }
            ),
            data: json!({
                "source": rules.name,
                "table": key,
                "description": policy.description,
                "domain": policy.domain,
                "owner": policy.owner,
                "sensitivity": policy.sensitivity,
                "columns": columns,
                "partition_keys": partition_keys,
                "hidden_columns": hidden,
                "row_filtered": !rules.row_policies(&key).is_empty(),
                "requires_partition_filter": policy.require_partition_filter,
                "max_limit": rules.row_limit(&[key.as_str()], Some(u64::MAX)),
                "approved_joins": rules.approved_joins(Some(&key)).iter().map(|j| j.id.as_str()).collect::<Vec<_>>(),
            }),
        })
    }
}

/// `list_partitions`: one page of a table's partitions, newest first.
pub(crate) struct ListPartitions;

impl Handler for ListPartitions {
    type Args = ListPartitionsArgs;

    async fn run(mut call: Call<'_>, args: ListPartitionsArgs) -> Result<ToolSuccess, ToolError> {
        let limit = positive_limit(args.limit.map(u64::from))?
            .map_or(PARTITIONS_DEFAULT_LIMIT, |l| {
                l.min(u64::from(PARTITIONS_MAX_LIMIT)) as u32
            });
        let rules = call.source(args.source.as_deref())?;
        let (key, _) = call.allowed_table(&rules, &args.table)?;
        call.facts.applied_limit = Some(u64::from(limit));
        let engine = call.session.engine(rules.name)?;
        let page = engine
            .list_partitions(
                &key,
                PageRequest {
                    marker: args.marker,
                    limit,
                },
            )
            .await?;
        call.facts.row_count = Some(page.partitions.len() as u64);
        call.facts.truncated = page.next_marker.is_some();
        Ok(ToolSuccess {
            rows: None,
            summary: format!(
                "source `{}`: {} partition(s) of `{key}`{}",
                rules.name,
                page.partitions.len(),
                if page.next_marker.is_some() {
                    ", more pages follow (pass `next_marker` as `marker`)"
                } else {
                    ""
                }
            ),
            data: json!({
                "source": rules.name,
                "table": key,
                "partitions": page.partitions,
                "next_marker": page.next_marker,
            }),
        })
    }
}

/// `preview_table`: a few rows of the allowed columns.
pub(crate) struct PreviewTable;

impl Handler for PreviewTable {
    type Args = PreviewTableArgs;

    async fn run(mut call: Call<'_>, args: PreviewTableArgs) -> Result<ToolSuccess, ToolError> {
        let limit = positive_limit(args.limit)?.unwrap_or(PREVIEW_DEFAULT_LIMIT);
        let rules = call.source(args.source.as_deref())?;
        let (key, _) = call.allowed_table(&rules, &args.table)?;
        call.query(
            &rules,
            GateInput::Preview {
                table: &key,
                limit: Some(limit),
            },
        )
        .await
    }
}
