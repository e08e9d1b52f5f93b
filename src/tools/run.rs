//! The one step from "SQL (the agent's, or compiled by the semantic layer)
//! or a table to preview, on a source" to an admitted result, written once
//! for every tool that gates or runs a query.
//!
//! [`Call::gate`] takes the gate's two steps with the engine's table facts
//! in between: prepare (parse, resolve and allow tables), gather the facts
//! of those tables from the session cache or the engine, check and rewrite.
//! Only then does an engine see anything, and it sees the gate's rendering,
//! never the agent's text. [`Call::run`] then admits the checked query and
//! runs it, in this order: the session row budget (the row limit is clamped
//! to what is left, or the query is refused), the result cache (a fresh
//! entry is served without the engine or the scan budget), the scan budget
//! (see [`super::budget`]), the engine. Every row-returning tool
//! (`run_select_sql`, `preview_table`, `query_table`, `run_metric_query`)
//! ends here, so none of them can skip a rule, a budget or the cache's
//! rules. Both steps note what they decided in the call's facts, which the
//! envelope and the audit record report.

use serde_json::{json, Map, Value};

use crate::engine::{QueryResult, ResultColumn, SharedEngine, Truncation};
use crate::error::ToolError;
use crate::guard::{CheckedQuery, Gate, PreparedQuery, TableFacts};
use crate::policy::{EffectiveLimits, SourceRules};
use crate::semantic::GatedQuery;

use super::budget;
use super::cache::CacheKey;
use super::call::Call;
use super::envelope::{SessionRows, ToolSuccess};
use super::session::Session;

/// What a tool asks the gate to admit.
pub(crate) enum GateInput<'q> {
    /// The agent's SQL and its `limit` argument.
    Sql {
        /// The text as the agent sent it.
        sql: &'q str,
        /// The `limit` argument, already known to be positive.
        limit: Option<u64>,
    },
    /// SQL the semantic layer compiled (a metric or a structured read).
    Compiled(&'q (dyn GatedQuery + Sync)),
    /// The allowed columns of one table (`preview_table`).
    Preview {
        /// The table's policy key.
        table: &'q str,
        /// Rows to return.
        limit: Option<u64>,
    },
}

impl GateInput<'_> {
    /// Bytes of text the gate reads: the agent's SQL; others are small.
    fn text_len(&self) -> usize {
        match self {
            Self::Sql { sql, .. } => sql.len(),
            Self::Compiled(_) | Self::Preview { .. } => 0,
        }
    }
}

/// SQL longer than this is gated with the runtime's worker thread handed
/// to other tasks ([`off_the_worker`]). The gate's time grows with the text
/// (an IN list of 400,000 values, 2.7 MB, takes about a second in a
/// release build), and over stdio the runtime has one worker thread:
/// without the hand-off, one long query held up every other request of
/// the session, pings and cancellations included, for as long.
const LONG_SQL_BYTES: usize = 64 * 1024;

/// Run `work` (the gate's synchronous steps) where it holds up no other
/// task when `text_len` is over [`LONG_SQL_BYTES`]: the worker thread's
/// tasks move to a fresh worker while this one works. Shorter texts, and
/// runtimes that cannot hand off (a current-thread runtime), run it in
/// place: the hand-off costs more than a short text's gate.
fn off_the_worker<T>(text_len: usize, work: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    let can_hand_off = Handle::try_current()
        .is_ok_and(|runtime| runtime.runtime_flavor() == RuntimeFlavor::MultiThread);
    if text_len > LONG_SQL_BYTES && can_hand_off {
        tokio::task::block_in_place(work)
    } else {
        work()
    }
}

/// A query the gate admitted, with the engine that will run it.
pub(crate) struct Gated {
    /// The source's name.
    pub source: String,
    /// The source's limits (for the budgets).
    pub(crate) limits: EffectiveLimits,
    /// The source's engine.
    pub(crate) engine: SharedEngine,
    /// The gate's rendering and what it decided.
    pub(crate) checked: CheckedQuery,
}

/// A query that ran (or was served from the cache).
pub(crate) struct Ran {
    /// The query as admitted: its row limit may have been lowered to the
    /// session row budget's remainder.
    pub(crate) checked: CheckedQuery,
    /// Its rows.
    pub(crate) result: QueryResult,
}

/// The gate's first step done: the tables whose facts the second needs.
enum Prepared<'q> {
    Sql {
        prepared: PreparedQuery,
        limit: Option<u64>,
    },
    Compiled {
        prepared: PreparedQuery,
        query: &'q (dyn GatedQuery + Sync),
    },
    Preview {
        table: [String; 1],
        limit: Option<u64>,
    },
}

impl<'q> Prepared<'q> {
    /// Step one: parse and resolve the SQL; a preview names its one table.
    fn new(gate: &Gate<'_>, input: GateInput<'q>) -> Result<Self, ToolError> {
        Ok(match input {
            GateInput::Sql { sql, limit } => Self::Sql {
                prepared: gate.prepare(sql)?,
                limit,
            },
            GateInput::Compiled(query) => Self::Compiled {
                prepared: query.prepare(gate)?,
                query,
            },
            GateInput::Preview { table, limit } => Self::Preview {
                table: [table.to_owned()],
                limit,
            },
        })
    }

    /// The policy keys of the tables the query reads.
    fn tables(&self) -> &[String] {
        match self {
            Self::Sql { prepared, .. } | Self::Compiled { prepared, .. } => prepared.tables(),
            Self::Preview { table, .. } => table,
        }
    }

    /// Step two: every other rule, the rewrites and the limit.
    fn check(self, gate: &Gate<'_>, facts: &TableFacts) -> Result<CheckedQuery, ToolError> {
        match self {
            Self::Sql { prepared, limit } => gate.check(prepared, facts, limit),
            Self::Compiled { prepared, query } => query.check(gate, prepared, facts),
            Self::Preview {
                table: [table],
                limit,
            } => gate.preview(&table, facts, limit),
        }
    }
}

impl Call<'_> {
    /// Gate `input` on `rules`' source: prepare, gather table facts, check.
    pub(crate) async fn gate(
        &mut self,
        rules: &SourceRules<'_>,
        input: GateInput<'_>,
    ) -> Result<Gated, ToolError> {
        let gate = Gate::new(rules);
        let text_len = input.text_len();
        let prepared = off_the_worker(text_len, || Prepared::new(&gate, input))?;
        self.facts.tables_used = prepared.tables().to_vec();
        let engine = self.session.engine(rules.name)?;
        let table_facts = self
            .session
            .table_facts(rules, &engine, prepared.tables())
            .await?;
        let checked = off_the_worker(text_len, || prepared.check(&gate, &table_facts))?;
        self.note_checked(&checked);
        Ok(Gated {
            source: rules.name.to_owned(),
            limits: rules.limits.clone(),
            engine,
            checked,
        })
    }

    /// Admit a gated query against its source's row and scan budgets, then
    /// serve it from the result cache or run it.
    pub(crate) async fn run(&mut self, gated: Gated) -> Result<Ran, ToolError> {
        let Gated {
            source,
            limits,
            engine,
            mut checked,
        } = gated;
        let session = self.session;
        let reservation =
            session
                .rows()
                .reserve(&source, limits.max_session_rows, checked.applied_limit())?;
        let limited = checked.cap_rows(reservation.granted());
        self.facts.applied_limit = Some(checked.applied_limit());
        let cache = cache_slot(session, &source, &checked);
        let cached = cache
            .as_ref()
            .and_then(|(key, _)| session.result_cache()?.get(key, session.now()));
        let result = match cached {
            Some(hit) => {
                self.facts.cache_age = Some(hit.age);
                hit.result
            }
            None => {
                budget::admit(session.scanned(), &source, &limits, &engine, &checked).await?;
                let result = engine.run(&checked, self.ctx.run_context()).await?;
                if let (Some((key, ttl)), Some(store)) = (cache, session.result_cache()) {
                    store.put(key, &result, ttl, session.now());
                }
                result
            }
        };
        reservation.settle(result.rows.len() as u64);
        self.facts.session_rows = limits.max_session_rows.map(|max| {
            let used = session.rows().used(&source);
            SessionRows {
                max_session_rows: max,
                used,
                remaining: max.saturating_sub(used),
                limited_this_call: limited,
            }
        });
        Ok(Ran { checked, result })
    }

    /// Gate `input`, run it and describe its rows: the whole path of a tool
    /// whose answer is the rows.
    pub(crate) async fn query(
        &mut self,
        rules: &SourceRules<'_>,
        input: GateInput<'_>,
    ) -> Result<ToolSuccess, ToolError> {
        let gated = self.gate(rules, input).await?;
        let ran = self.run(gated).await?;
        Ok(self.rows(&ran.checked, ran.result))
    }

    /// Describe a query result: the envelope data and the summary line.
    pub(crate) fn rows(&mut self, checked: &CheckedQuery, result: QueryResult) -> ToolSuccess {
        let facts = &mut *self.facts;
        let rows = result.rows.len() as u64;
        facts.row_count = Some(rows);
        facts.truncated = result.truncation.is_some() || result.cells_truncated > 0;
        let budget_cut = facts.session_rows.filter(|r| r.limited_this_call);
        let truncation = match (result.truncation, budget_cut) {
            (Some(Truncation::RowLimit), Some(rows)) => format!(
                "yes (the applied limit was lowered to the {} row(s) left of this session's row budget of {} for this source, `max_session_rows`, and more rows exist)",
                checked.applied_limit(),
                rows.max_session_rows
            ),
            (Some(Truncation::RowLimit), None) => {
                "yes (more rows exist than the applied limit)".to_string()
            }
            (Some(Truncation::ResultBytes), _) => "yes (result byte cap reached)".to_string(),
            (None, _) if result.cells_truncated > 0 => {
                "cells only (long values were cut)".to_string()
            }
            (None, _) => "no".to_string(),
        };
        let cached = match facts.cache_age {
            Some(age) => format!(
                ", served from the result cache ({:.0} s old)",
                age.as_secs_f64()
            ),
            None => String::new(),
        };
        let partitions = if checked.partitions_used().is_empty() {
            "none".to_string()
        } else {
            checked
                .partitions_used()
                .iter()
                .map(|(t, p)| format!("{t}={p}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        // Which mode ran and on which quota, where the engine says.
        let execution: serde_json::Map<String, serde_json::Value> = [
            ("execution_mode", "mode"),
            ("quota", "quota"),
            ("maxqa_fallback", "maxqa_fallback"),
        ]
        .iter()
        .filter_map(|(from, to)| {
            let value = result.engine_metadata.get(*from)?;
            Some(((*to).to_string(), value.clone()))
        })
        .collect();
        if execution.contains_key("mode") {
            facts.execution = Some(execution);
        }
        ToolSuccess {
            summary: format!(
                "source `{}`: {rows} row(s), truncated: {truncation}, applied limit {}, default partitions: {partitions}{cached}",
                facts.source.as_deref().unwrap_or("?"),
                checked.applied_limit(),
            ),
            rows: Some(result.rows),
            data: result_data(result.columns, result.truncation, result.cells_truncated, result.engine_metadata),
        }
    }

    /// Copy what the gate decided into the call's facts.
    fn note_checked(&mut self, checked: &CheckedQuery) {
        let facts = &mut *self.facts;
        facts.tables_used = checked.tables_used().to_vec();
        facts.columns_used = checked.columns_used().to_vec();
        facts.applied_limit = Some(checked.applied_limit());
        facts.partitions_used = checked.partitions_used().clone();
        facts.rewritten_sql = Some(checked.sql().to_string());
    }
}

/// The envelope data of a query result but its rows: they stay in their
/// compact JSON beside it ([`ToolSuccess::rows`]), the bulk of the answer,
/// and `rows` is null here until the envelope is written.
fn result_data(
    columns: Vec<ResultColumn>,
    truncation: Option<Truncation>,
    cells_truncated: u64,
    engine: Map<String, Value>,
) -> Value {
    let mut data = Map::new();
    data.insert("columns".into(), json!(columns));
    data.insert("rows".into(), Value::Null);
    data.insert("truncation".into(), json!(truncation));
    data.insert("cells_truncated".into(), json!(cells_truncated));
    data.insert("engine".into(), Value::Object(engine));
    Value::Object(data)
}

/// The cache key and time to live of `checked`, when the session caches
/// results and every table the query reads has a TTL.
fn cache_slot(
    session: &Session,
    source: &str,
    checked: &CheckedQuery,
) -> Option<(CacheKey, std::time::Duration)> {
    session.result_cache()?;
    let rules = session.policy().source(source)?;
    let ttl = rules.cache_ttl(checked.tables_used())?;
    let policy = session.policy();
    let key = CacheKey::new(
        source,
        checked,
        policy.identity(),
        &policy.config().policy_sha256,
    );
    Some((key, ttl))
}
