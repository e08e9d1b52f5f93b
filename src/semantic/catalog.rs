//! Checking the semantic catalog against the policy: the catalog files are
//! parsed by the config (which knows nothing of policy); this module decides
//! whether every entry fits the policy and the rest of the catalog.
//!
//! A metric over a denied column, a dimension on a table the policy does
//! not allow, a join that is not approved, a term naming a metric that does
//! not exist: each is a config error at the file, line and column of the
//! entry, reported through the config's locator. Session start and
//! `sqlwarden check` run [`check_catalog`] right after loading the config,
//! so a catalog that does not fit never serves a call.
//!
//! The one idea: a catalog entry is only as trusted as the policy lets it
//! be. Everything it names is checked here, once per session, and every
//! query built from it still goes through the gate at call time. No I/O.

use std::collections::BTreeSet;

use crate::config::semantic_catalog::CatalogList;
use crate::config::{ConfigError, SemanticCatalog};
use crate::policy::{Policy, SourceRules};

use super::check::check_metric;

/// The policy's semantic catalog, once every entry is checked against the
/// policy; every problem found otherwise, located.
pub fn check_catalog(policy: &Policy) -> Result<SemanticCatalog, Vec<ConfigError>> {
    let files = &policy.config().catalog;
    let catalog = &files.catalog;
    let mut check = Checker {
        policy,
        catalog,
        problems: Vec::new(),
    };
    check.domains();
    check.metrics();
    check.terms();
    if check.problems.is_empty() {
        return Ok(catalog.clone());
    }
    // Positions are only looked up for a catalog that has problems.
    let [domains, terms, metrics] = [
        CatalogList::Domains,
        CatalogList::Terms,
        CatalogList::Metrics,
    ]
    .map(|l| files.locator(l));
    Err(check
        .problems
        .into_iter()
        .map(|problem| {
            let at = match problem.list {
                CatalogList::Domains => &domains,
                CatalogList::Terms => &terms,
                CatalogList::Metrics => &metrics,
            };
            let path: Vec<&str> = problem.path.iter().map(String::as_str).collect();
            at.error(problem.index, &path, problem.message)
        })
        .collect())
}

/// The connection a metric or term reads: its own `source`, else its
/// domain's `default_source`, else the only connection there is.
pub(crate) fn source_of<'p>(
    catalog: &SemanticCatalog,
    policy: &'p Policy,
    own: Option<&str>,
    domain: Option<&str>,
) -> Option<SourceRules<'p>> {
    let domain_source = domain
        .and_then(|d| catalog.domain(d))
        .and_then(|d| d.default_source.as_deref());
    match own.or(domain_source) {
        Some(name) => policy.source(name),
        None => {
            let connections = &policy.config().connections.connections;
            let mut names = connections.keys();
            match (names.next(), names.next()) {
                (Some(only), None) => policy.source(only),
                _ => None,
            }
        }
    }
}

/// One problem with a catalog entry: item `index` of `list`, then `path`
/// inside it (keys, or list indexes as numbers).
struct Problem {
    list: CatalogList,
    index: usize,
    path: Vec<String>,
    message: String,
}

/// Cross-checks the catalog against policy and itself.
struct Checker<'a> {
    policy: &'a Policy,
    catalog: &'a SemanticCatalog,
    problems: Vec<Problem>,
}

impl Problem {
    fn new(list: CatalogList, index: usize, path: &[&str], message: String) -> Self {
        Self {
            list,
            index,
            path: path.iter().map(|p| (*p).to_string()).collect(),
            message,
        }
    }
}

impl Checker<'_> {
    fn domains(&mut self) {
        let mut seen = BTreeSet::new();
        for (i, domain) in self.catalog.domains.domains.iter().enumerate() {
            if !seen.insert(domain.name.as_str()) {
                let msg = format!("domain `{}` is defined twice", domain.name);
                self.problems
                    .push(Problem::new(CatalogList::Domains, i, &["name"], msg));
            }
            if let Some(source) = &domain.default_source {
                if self.policy.source(source).is_none() {
                    let msg = format!(
                        "domain `{}`: `default_source` `{source}` is not a connection in connections.yaml",
                        domain.name
                    );
                    self.problems.push(Problem::new(
                        CatalogList::Domains,
                        i,
                        &["default_source"],
                        msg,
                    ));
                }
            }
        }
    }

    fn metrics(&mut self) {
        let mut seen = BTreeSet::new();
        for (i, metric) in self.catalog.metrics.metrics.iter().enumerate() {
            let mut push = |path: &[&str], msg: String| {
                let msg = format!("metric `{}`: {msg}", metric.name);
                self.problems
                    .push(Problem::new(CatalogList::Metrics, i, path, msg));
            };
            if !seen.insert(metric.name.as_str()) {
                push(&["name"], "is defined twice".into());
            }
            if self.catalog.domain(&metric.domain).is_none() {
                push(
                    &["domain"],
                    format!("domain `{}` is not in domains.yaml", metric.domain),
                );
            }
            let Some(rules) = source_of(
                self.catalog,
                self.policy,
                metric.source.as_deref(),
                Some(&metric.domain),
            ) else {
                push(
                    &["source"],
                    "no source: set `source:` on the metric or `default_source:` on its domain to a connection in connections.yaml".into(),
                );
                continue;
            };
            for problem in check_metric(&rules, metric) {
                let path: Vec<&str> = problem.path.iter().map(String::as_str).collect();
                push(&path, problem.message);
            }
        }
    }

    fn terms(&mut self) {
        for (i, term) in self.catalog.terms.terms.iter().enumerate() {
            let mut push = |path: &[&str], msg: String| {
                let msg = format!("term `{}`: {msg}", term.name);
                self.problems
                    .push(Problem::new(CatalogList::Terms, i, path, msg));
            };
            if let Some(domain) = &term.domain {
                if self.catalog.domain(domain).is_none() {
                    push(
                        &["domain"],
                        format!("domain `{domain}` is not in domains.yaml"),
                    );
                }
            }
            for metric in &term.metrics {
                if self.catalog.metric(metric).is_none() {
                    push(
                        &["metrics"],
                        format!("metric `{metric}` is not in metrics.yaml"),
                    );
                }
            }
            if term.tables.is_empty() && term.columns.is_empty() {
                continue;
            }
            let Some(rules) = source_of(
                self.catalog,
                self.policy,
                term.source.as_deref(),
                term.domain.as_deref(),
            ) else {
                push(
                    &["source"],
                    "maps to tables or columns but has no source: set `source:` or a domain with `default_source:`".into(),
                );
                continue;
            };
            for (j, table) in term.tables.iter().enumerate() {
                if rules.table(&rules.normalize_key(table)).is_none() {
                    push(
                        &["tables", &j.to_string()],
                        format!(
                            "table `{table}` is not allowed for source `{}` in policy.yaml",
                            rules.name
                        ),
                    );
                }
            }
            for (j, column) in term.columns.iter().enumerate() {
                let allowed = column.rsplit_once('.').is_some_and(|(table, col)| {
                    rules.column_allowed(&rules.normalize_key(table), col)
                });
                if !allowed {
                    push(
                        &["columns", &j.to_string()],
                        format!("column `{column}` (written `table.column`) is not an allowed column of source `{}` in policy.yaml", rules.name),
                    );
                }
            }
        }
    }
}
