//! Cross-checks: how the parsed files fit together, each error at the key or
//! value at fault.
//!
//! The typed parse already rejected unknown keys and wrong types; this
//! module checks what a type cannot say: a policy source must be a
//! configured connection, table keys must have the engine's shape, a column
//! cannot be both allowed and denied, limits are positive and consistent,
//! row-policy placeholders name something the identity has, and joins
//! reference allowed tables and columns. It reads no files.

use std::collections::BTreeSet;
use std::path::Path;

use super::parse::quoted_list;
use super::yaml_tree::Node;
use super::{
    builtin, ConfigError, ConnectionsFile, EngineKind, Identity, JoinsFile, Limits, PolicyFile,
    RateLimit, Security, TablePolicy, TOOL_NAMES,
};

/// Collects errors for one file, located through its tree.
struct Report<'a> {
    file: &'a Path,
    root: Option<&'a Node>,
    errors: Vec<ConfigError>,
}

impl<'a> Report<'a> {
    fn new(file: &'a Path, root: Option<&'a Node>) -> Self {
        Self {
            file,
            root,
            errors: Vec::new(),
        }
    }

    /// The node at `path`, or the nearest ancestor that exists.
    fn node(&self, path: &[&str]) -> Option<&'a Node> {
        (0..=path.len())
            .rev()
            .find_map(|n| self.root.and_then(|root| root.at(&path[..n])))
    }

    /// The key node of the last segment of `path` (or the nearest node).
    fn key(&self, path: &[&str]) -> Option<&'a Node> {
        let Some((last, parent)) = path.split_last() else {
            return self.root;
        };
        match self.root.and_then(|root| root.at(parent)) {
            Some(parent_node) => match parent_node.entry(last) {
                Some((key, _)) => Some(key),
                None => Some(parent_node),
            },
            None => self.node(parent),
        }
    }

    /// Item `index` of the sequence at `path` (or the nearest node).
    fn item(&self, path: &[&str], index: usize) -> Option<&'a Node> {
        match self.root.and_then(|root| root.at(path)) {
            Some(seq) => seq.items().get(index).or(Some(seq)),
            None => self.node(path),
        }
    }

    fn push(&mut self, node: Option<&Node>, message: String) {
        self.errors.push(match node {
            Some(node) => ConfigError::at(self.file, node, message),
            None => ConfigError::in_file(self.file, message),
        });
    }
}

/// What the policy checks need besides the policy itself.
pub(crate) struct PolicyContext<'a> {
    /// The configured connections.
    pub(crate) connections: &'a ConnectionsFile,
    /// The identity row policies will see (the managed one when it sets one).
    pub(crate) identity: Option<&'a Identity>,
    /// The managed file may name sources this user has not configured.
    pub(crate) managed: bool,
}

/// Check one policy file.
pub(crate) fn policy(
    file: &Path,
    root: Option<&Node>,
    policy: &PolicyFile,
    cx: &PolicyContext<'_>,
) -> Vec<ConfigError> {
    let mut report = Report::new(file, root);
    check_tools(&mut report, policy);
    check_rate_limits(&mut report, policy);
    check_cache(&mut report, policy);
    check_limits(&mut report, &["defaults"], &policy.defaults);
    check_join_tables(&mut report, &["security"], policy.security.max_join_tables);
    check_operators(&mut report, &["security"], &policy.security);
    if policy.audit.retention_days == Some(0) {
        let node = report.node(&["audit", "retention_days"]);
        report.push(node, "`retention_days` must be at least 1".into());
    }
    check_default_within_max(&mut report, &["defaults"], &policy.defaults, None);
    for (name, source) in &policy.sources {
        let at = ["sources", name.as_str()];
        check_limits(&mut report, &[at[0], at[1], "defaults"], &source.defaults);
        check_join_tables(
            &mut report,
            &[at[0], at[1], "security"],
            source.security.max_join_tables,
        );
        check_operators(&mut report, &[at[0], at[1], "security"], &source.security);
        check_default_within_max(
            &mut report,
            &[at[0], at[1], "defaults"],
            &source.defaults,
            Some(&policy.defaults),
        );
        let engine = match cx.connections.connections.get(name) {
            Some(conn) => Some(conn.engine()),
            None if cx.managed => None,
            None => {
                let names: Vec<&str> = cx
                    .connections
                    .connections
                    .keys()
                    .map(|k| k.as_str())
                    .collect();
                let node = report.key(&at);
                report.push(
                    node,
                    format!(
                        "source `{name}` is not a connection in connections.yaml{}",
                        suggestion(name, &names).unwrap_or_else(|| format!(
                            "; the connections are {}",
                            quoted_list(&names)
                        ))
                    ),
                );
                None
            }
        };
        for (key, table) in &source.tables {
            let at = ["sources", name.as_str(), "tables", key.as_str()];
            if let Some(engine) = engine {
                check_table_key(&mut report, &at, name, key, engine);
            }
            check_table(&mut report, &at, table, cx.identity);
        }
    }
    report.errors
}

fn check_tools(report: &mut Report<'_>, policy: &PolicyFile) {
    for tool in policy.tools.keys() {
        if !TOOL_NAMES.contains(&tool.as_str()) {
            let node = report.key(&["tools", tool]);
            report.push(
                node,
                format!(
                    "unknown tool `{tool}` in `tools:`{}",
                    suggestion(tool, TOOL_NAMES)
                        .unwrap_or_else(|| format!("; the tools are {}", quoted_list(TOOL_NAMES)))
                ),
            );
        }
    }
}

/// Rate limits: known tool names, and each limit with at least one
/// window and no zero count.
fn check_rate_limits(report: &mut Report<'_>, policy: &PolicyFile) {
    let limits = &policy.rate_limits;
    if let Some(limit) = &limits.per_session {
        check_rate(report, &["rate_limits", "per_session"], limit);
    }
    for (tool, limit) in &limits.tools {
        if !TOOL_NAMES.contains(&tool.as_str()) {
            let node = report.key(&["rate_limits", "tools", tool]);
            report.push(
                node,
                format!(
                    "unknown tool `{tool}` in `rate_limits.tools`{}",
                    suggestion(tool, TOOL_NAMES)
                        .unwrap_or_else(|| format!("; the tools are {}", quoted_list(TOOL_NAMES)))
                ),
            );
            continue;
        }
        check_rate(report, &["rate_limits", "tools", tool], limit);
    }
}

fn check_rate(report: &mut Report<'_>, at: &[&str], limit: &RateLimit) {
    let windows = [
        ("per_second", limit.per_second),
        ("per_minute", limit.per_minute),
        ("per_hour", limit.per_hour),
    ];
    if windows.iter().all(|(_, count)| count.is_none()) {
        let node = report.node(at);
        report.push(
            node,
            "a rate limit needs at least one of `per_second`, `per_minute`, `per_hour`".into(),
        );
    }
    for (window, count) in windows {
        if count == Some(0) {
            let node = report.node(&[at, &[window]].concat());
            report.push(
                node,
                format!(
                    "`{window}` must be at least 1; to stop a tool, switch it off under `tools:`"
                ),
            );
        }
    }
}

fn check_cache(report: &mut Report<'_>, policy: &PolicyFile) {
    for (field, value) in [
        ("max_entries", policy.cache.max_entries),
        ("max_bytes", policy.cache.max_bytes),
    ] {
        if value == Some(0) {
            let node = report.node(&["cache", field]);
            report.push(
                node,
                format!(
                    "`{field}` must be greater than 0; to turn the cache off, set `enabled: false`"
                ),
            );
        }
    }
}

/// The fields of [`Limits`] with their config names.
fn limit_fields(limits: &Limits) -> [(&'static str, Option<u64>); 8] {
    [
        ("default_limit", limits.default_limit),
        ("max_limit", limits.max_limit),
        ("query_timeout_seconds", limits.query_timeout_seconds),
        ("max_cell_bytes", limits.max_cell_bytes),
        ("max_result_bytes", limits.max_result_bytes),
        ("max_scan_bytes", limits.max_scan_bytes),
        ("max_session_scan_bytes", limits.max_session_scan_bytes),
        ("max_session_rows", limits.max_session_rows),
    ]
}

fn check_limits(report: &mut Report<'_>, at: &[&str], limits: &Limits) {
    for (field, value) in limit_fields(limits) {
        if value == Some(0) {
            let node = report.node(&[at, &[field]].concat());
            report.push(node, format!("`{field}` must be greater than 0"));
        }
    }
}

fn check_join_tables(report: &mut Report<'_>, at: &[&str], value: Option<u32>) {
    if value == Some(0) {
        let node = report.node(&[at, &["max_join_tables"]].concat());
        report.push(node, "`max_join_tables` must be at least 1".into());
    }
}

/// Each allowed operator is `schema.op`: a plain lower-case schema name
/// and an operator symbol, as `OPERATOR(schema.op)` names it.
fn check_operators(report: &mut Report<'_>, at: &[&str], security: &Security) {
    for entry in security.allowed_operators.iter().flatten() {
        if operator_entry(entry).is_none() {
            let node = report.node(&[at, &["allowed_operators"]].concat());
            report.push(
                node,
                format!("`{entry}` is not an operator name: write `schema.op`, a lower-case schema name and the operator's symbol, as in `public.<->`"),
            );
        }
    }
}

/// An allowed-operator entry split into schema and symbol, if well formed.
pub(crate) fn operator_entry(entry: &str) -> Option<(&str, &str)> {
    let (schema, symbol) = entry.split_once('.')?;
    let schema_ok = schema.len() <= 63
        && schema.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && schema
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$');
    // PostgreSQL's operator characters; `--` and `/*` would start comments.
    let symbol_ok = (1..=63).contains(&symbol.len())
        && symbol.chars().all(|c| "+-*/<>=~!@#%^&|`?".contains(c))
        && !symbol.contains("--")
        && !symbol.contains("/*");
    (schema_ok && symbol_ok).then_some((schema, symbol))
}

/// `default_limit` may not exceed `max_limit` once layers are applied (a
/// source's value over the global one over the built-in).
fn check_default_within_max(
    report: &mut Report<'_>,
    at: &[&str],
    limits: &Limits,
    global: Option<&Limits>,
) {
    let default = limits
        .default_limit
        .or(global.and_then(|g| g.default_limit));
    let max = limits.max_limit.or(global.and_then(|g| g.max_limit));
    let (Some(default), Some(max)) = (default, max.or(Some(builtin::MAX_LIMIT))) else {
        return;
    };
    let set_here = limits.default_limit.is_some() || limits.max_limit.is_some();
    if default > max && set_here {
        let field = if limits.default_limit.is_some() {
            "default_limit"
        } else {
            "max_limit"
        };
        let node = report.node(&[at, &[field]].concat());
        let origin = if max == builtin::MAX_LIMIT && limits.max_limit.is_none() {
            " (built-in)"
        } else {
            ""
        };
        report.push(
            node,
            format!("`default_limit` {default} is above `max_limit` {max}{origin}; lower `default_limit` or raise `max_limit`"),
        );
    }
}

fn check_table_key(
    report: &mut Report<'_>,
    at: &[&str],
    source: &str,
    key: &str,
    engine: EngineKind,
) {
    let parts: Vec<&str> = key.split('.').collect();
    let well_formed = parts.iter().all(|p| !p.trim().is_empty());
    let (ok, expected) = match engine {
        EngineKind::Postgres => (parts.len() == 2, "`schema.table`"),
        EngineKind::MaxCompute => (
            parts.len() == 2 || parts.len() == 3,
            "`project.table` or `project.schema.table`",
        ),
    };
    if !(ok && well_formed) {
        let node = report.key(at);
        report.push(
            node,
            format!(
                "table key `{key}` of {} source `{source}` must be {expected}",
                engine.as_str()
            ),
        );
    }
}

fn check_table(
    report: &mut Report<'_>,
    at: &[&str],
    table: &TablePolicy,
    identity: Option<&Identity>,
) {
    if let Some(allowed) = &table.allowed_columns {
        for (i, denied) in table.denied_columns.iter().enumerate() {
            if allowed.contains(denied) {
                let node = report.item(&[at, &["denied_columns"]].concat(), i);
                report.push(
                    node,
                    format!("column `{denied}` is both in `allowed_columns` and in `denied_columns`; keep it in one"),
                );
            }
        }
        if let Some(partition) = &table.default_partition {
            if !allowed.contains(&partition.field) {
                let node = report.node(&[at, &["default_partition", "field"]].concat());
                report.push(
                    node,
                    format!(
                        "default partition field `{}` is not in `allowed_columns`; add it there",
                        partition.field
                    ),
                );
            }
        }
    }
    if table.max_limit == Some(0) {
        let node = report.node(&[at, &["max_limit"]].concat());
        report.push(node, "`max_limit` must be greater than 0".into());
    }
    if table.cache_ttl_seconds == Some(0) {
        let node = report.node(&[at, &["cache_ttl_seconds"]].concat());
        report.push(
            node,
            "`cache_ttl_seconds` must be greater than 0; leave it out to never cache this table"
                .into(),
        );
    }
    for (i, row_policy) in table.row_policies.iter().enumerate() {
        let item = report.item(&[at, &["row_policies"]].concat(), i);
        if row_policy.max_limit == Some(0) {
            let node = item.and_then(|n| n.get("max_limit")).or(item);
            report.push(node, "`max_limit` must be greater than 0".into());
        }
        for problem in placeholder_problems(&row_policy.predicate, identity) {
            let node = item.and_then(|n| n.get("predicate")).or(item);
            report.push(node, problem);
        }
    }
}

/// What is wrong with the `${...}` placeholders of a row-policy predicate.
fn placeholder_problems(predicate: &str, identity: Option<&Identity>) -> Vec<String> {
    let mut problems = Vec::new();
    let mut rest = predicate;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            problems.push(
                "unterminated `${` in row-policy predicate; write `${user.<attribute>}`".into(),
            );
            break;
        };
        let name = after[..end].trim();
        rest = &after[end + 1..];
        let Some(attribute) = name.strip_prefix("user.") else {
            problems.push(format!(
                "placeholder `${{{name}}}` is not `${{user.<attribute>}}`"
            ));
            continue;
        };
        let Some(identity) = identity else {
            problems.push(format!(
                "placeholder `${{{name}}}` needs an `identity:` in policy.yaml"
            ));
            continue;
        };
        if attribute != "user_id" && !identity.attributes.contains_key(attribute) {
            let known: Vec<&str> = std::iter::once("user_id")
                .chain(identity.attributes.keys().map(|k| k.as_str()))
                .collect();
            problems.push(format!(
                "placeholder `${{{name}}}` names no attribute of identity `{}`; it has {}",
                identity.user_id,
                quoted_list(&known)
            ));
        }
    }
    problems
}

/// Check `catalog/joins.yaml` against the connections and the user's policy.
pub(crate) fn joins(
    file: &Path,
    root: Option<&Node>,
    joins: &JoinsFile,
    policy: &PolicyFile,
    connections: &ConnectionsFile,
) -> Vec<ConfigError> {
    let mut report = Report::new(file, root);
    let mut ids = BTreeSet::new();
    for (i, join) in joins.joins.iter().enumerate() {
        let item = report.item(&["joins"], i);
        let field = |name: &str| item.and_then(|n| n.get(name)).or(item);
        if !ids.insert(join.id.as_str()) {
            report.push(field("id"), format!("join id `{}` is used twice", join.id));
        }
        let Some(connection) = connections.connections.get(&join.source) else {
            report.push(
                field("source"),
                format!(
                    "join `{}`: source `{}` is not a connection in connections.yaml",
                    join.id, join.source
                ),
            );
            continue;
        };
        let engine = connection.engine();
        let tables = policy.sources.get(&join.source).map(|s| &s.tables);
        let find = |key: &str| {
            tables.and_then(|t| {
                t.iter()
                    .find(|(k, _)| same_name(engine, k, key))
                    .map(|(_, v)| v)
            })
        };
        let left = find(&join.left_table);
        let right = find(&join.right_table);
        for (side, key, table) in [
            ("left_table", &join.left_table, left),
            ("right_table", &join.right_table, right),
        ] {
            if table.is_none() {
                report.push(
                    field(side),
                    format!(
                        "join `{}`: table `{key}` is not allowed for source `{}` in policy.yaml",
                        join.id, join.source
                    ),
                );
            }
        }
        let on = item.and_then(|n| n.get("on"));
        for (j, pair) in join.on.iter().enumerate() {
            let pair_node = on.and_then(|n| n.items().get(j)).or(item);
            for (side, column, table, key) in [
                ("left_field", &pair.left_field, left, &join.left_table),
                ("right_field", &pair.right_field, right, &join.right_table),
            ] {
                if table.is_some_and(|t| !column_allowed(engine, t, column)) {
                    let node = pair_node.and_then(|n| n.get(side)).or(pair_node);
                    report.push(
                        node,
                        format!(
                            "join `{}`: column `{column}` of `{key}` is not allowed by policy.yaml",
                            join.id
                        ),
                    );
                }
            }
        }
    }
    report.errors
}

/// Table and column names: exact on Postgres, case-insensitive on MaxCompute.
fn same_name(engine: EngineKind, a: &str, b: &str) -> bool {
    match engine {
        EngineKind::Postgres => a == b,
        EngineKind::MaxCompute => a.eq_ignore_ascii_case(b),
    }
}

fn column_allowed(engine: EngineKind, table: &TablePolicy, column: &str) -> bool {
    let listed = |cols: &[String]| cols.iter().any(|c| same_name(engine, c, column));
    table.allowed_columns.as_deref().is_none_or(listed) && !listed(&table.denied_columns)
}

/// "; did you mean `x`?" when a candidate is one or two edits away.
fn suggestion(word: &str, candidates: &[&str]) -> Option<String> {
    candidates
        .iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, c)| format!("; did you mean `{c}`?"))
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (prev + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            prev = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
