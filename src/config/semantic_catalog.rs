//! The semantic layer's catalog files: `catalog/domains.yaml`,
//! `catalog/terms.yaml` and `catalog/metrics.yaml`.
//!
//! This module holds the typed shapes (every struct `deny_unknown_fields`),
//! reads and parses the three files with located errors, and cross-checks
//! them against the merged policy: a metric over a denied column, a
//! dimension on a table the policy does not allow, or a join that is not
//! approved is a config error naming the file, line and column. It does not
//! build SQL; `crate::semantic` does that from the loaded catalog.
//!
//! The one idea: a catalog entry is only as trusted as the policy lets it
//! be. Everything it names is checked here at load time, and every query
//! built from it still goes through the gate at call time.

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::parse;
use super::yaml_tree::{Node, YamlTree};
use super::ConfigError;
use crate::policy::{Policy, SourceRules};

/// The domains file, relative to the config directory (optional).
pub const DOMAINS_FILE: &str = "catalog/domains.yaml";
/// The business terms file, relative to the config directory (optional).
pub const TERMS_FILE: &str = "catalog/terms.yaml";
/// The metrics file, relative to the config directory (optional).
pub const METRICS_FILE: &str = "catalog/metrics.yaml";

/// The whole `catalog/domains.yaml` file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DomainsFile {
    /// Business domains.
    #[serde(default)]
    pub domains: Vec<DomainDef>,
}

/// One business domain (sales, supply chain, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DomainDef {
    /// Unique name, used by `domain:` elsewhere and by the `domain` argument.
    pub name: String,
    /// Owning team.
    #[serde(default)]
    pub owner: Option<String>,
    /// What the domain covers.
    #[serde(default)]
    pub description: Option<String>,
    /// Connection the domain's metrics and terms read when they name none.
    #[serde(default)]
    pub default_source: Option<String>,
}

/// The whole `catalog/terms.yaml` file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TermsFile {
    /// Business terms.
    #[serde(default)]
    pub terms: Vec<TermDef>,
}

/// One business term and what it maps to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TermDef {
    /// The term as the business says it.
    pub name: String,
    /// Other names, in any language.
    #[serde(default)]
    pub synonyms: Vec<String>,
    /// What the term means.
    pub definition: String,
    /// Domain the term belongs to.
    #[serde(default)]
    pub domain: Option<String>,
    /// Connection its tables and columns live in (default: the domain's).
    #[serde(default)]
    pub source: Option<String>,
    /// Table keys (as in policy) the term maps to.
    #[serde(default)]
    pub tables: Vec<String>,
    /// Columns the term maps to, as `table_key.column`.
    #[serde(default)]
    pub columns: Vec<String>,
    /// Metric names the term maps to.
    #[serde(default)]
    pub metrics: Vec<String>,
}

/// The whole `catalog/metrics.yaml` file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricsFile {
    /// Curated metrics.
    #[serde(default)]
    pub metrics: Vec<MetricDef>,
}

/// One curated metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricDef {
    /// Unique name, the `metric` argument.
    pub name: String,
    /// Domain (from `domains.yaml`).
    pub domain: String,
    /// What the metric measures.
    pub description: String,
    /// Connection (default: the domain's `default_source`).
    #[serde(default)]
    pub source: Option<String>,
    /// Table key (as in policy) the metric is computed over.
    pub base_table: String,
    /// Aggregate SQL expression over columns of `base_table`, for example
    /// `sum(amount)`.
    pub expression: String,
    /// Ids of approved joins (from `joins.yaml`) dimensions may use.
    #[serde(default)]
    pub joins: Vec<String>,
    /// Dimensions the metric may be grouped and filtered by.
    #[serde(default)]
    pub dimensions: Vec<DimensionDef>,
    /// The time column for `time_range` and `grain`.
    #[serde(default)]
    pub time_dimension: Option<TimeDimension>,
    /// SQL conditions over `base_table` columns that always apply.
    #[serde(default)]
    pub default_filters: Vec<String>,
    /// How to show values (`currency`, `percent`, `integer`, ...).
    #[serde(default)]
    pub format: Option<String>,
    /// Unit of the values (`CNY`, `orders`, ...).
    #[serde(default)]
    pub unit: Option<String>,
}

/// One dimension of a metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DimensionDef {
    /// Name the caller uses in `dimensions` and `filters`.
    pub name: String,
    /// Column that holds it.
    pub column: String,
    /// Table key of the column (default: the metric's `base_table`); any
    /// other table must be reached through one of the metric's `joins`.
    #[serde(default)]
    pub table: Option<String>,
    /// What the dimension means.
    #[serde(default)]
    pub description: Option<String>,
}

/// The time column of a metric and the grains it may be bucketed by.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TimeDimension {
    /// Column of `base_table`.
    pub column: String,
    /// Grains the caller may ask for.
    pub grains: Vec<Grain>,
    /// The grain the data team suggests, shown by `get_dimensions`; a query
    /// is bucketed only when the caller passes `grain`.
    #[serde(default)]
    pub default_grain: Option<Grain>,
}

/// A time bucket size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Grain {
    /// One hour.
    Hour,
    /// One day.
    Day,
    /// One ISO week (Monday first).
    Week,
    /// One calendar month.
    Month,
    /// One calendar quarter.
    Quarter,
    /// One calendar year.
    Year,
}

impl Grain {
    /// The spelling in config and arguments.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hour => "hour",
            Self::Day => "day",
            Self::Week => "week",
            Self::Month => "month",
            Self::Quarter => "quarter",
            Self::Year => "year",
        }
    }
}

/// The three catalog files, parsed and checked against policy (each empty
/// when its file is absent).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SemanticCatalog {
    /// `catalog/domains.yaml`.
    pub domains: DomainsFile,
    /// `catalog/terms.yaml`.
    pub terms: TermsFile,
    /// `catalog/metrics.yaml`.
    pub metrics: MetricsFile,
}

impl SemanticCatalog {
    /// The domain called `name`.
    pub fn domain(&self, name: &str) -> Option<&DomainDef> {
        self.domains.domains.iter().find(|d| d.name == name)
    }

    /// The metric called `name`.
    pub fn metric(&self, name: &str) -> Option<&MetricDef> {
        self.metrics.metrics.iter().find(|m| m.name == name)
    }

    /// The connection a metric or term reads: its own `source`, else its
    /// domain's `default_source`, else the only connection there is.
    pub fn source_of<'p>(
        &self,
        policy: &'p Policy,
        own: Option<&str>,
        domain: Option<&str>,
    ) -> Option<SourceRules<'p>> {
        let domain_source = domain
            .and_then(|d| self.domain(d))
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
}

/// Read, parse and check the catalog files of the policy's config
/// directory. Every problem found is returned, located.
pub fn load(policy: &Policy) -> Result<SemanticCatalog, Vec<ConfigError>> {
    let dir = &policy.config().dir;
    let mut errors = Vec::new();
    let domains = read_parse::<DomainsFile, DomainDef>(dir, DOMAINS_FILE, "domains", &mut errors);
    let terms = read_parse::<TermsFile, TermDef>(dir, TERMS_FILE, "terms", &mut errors);
    let metrics = read_parse::<MetricsFile, MetricDef>(dir, METRICS_FILE, "metrics", &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    let catalog = SemanticCatalog {
        domains: domains.value,
        terms: terms.value,
        metrics: metrics.value,
    };
    let mut check = Checker {
        policy,
        catalog: &catalog,
        errors: Vec::new(),
    };
    check.domains(&domains.at);
    check.metrics(&metrics.at);
    check.terms(&terms.at);
    if check.errors.is_empty() {
        Ok(catalog)
    } else {
        Err(check.errors)
    }
}

/// A parsed file and the means to locate its errors.
struct Parsed<T> {
    value: T,
    at: Locator,
}

/// Points errors at a file's nodes (the tree is built once per file, only
/// when the file exists).
struct Locator {
    file: PathBuf,
    root: Option<Node>,
}

impl Locator {
    /// Item `index` of the top-level list `list`, then the key `field` in it
    /// (the nearest node that exists).
    fn error(&self, list: &str, index: usize, path: &[&str], message: String) -> ConfigError {
        let item = self
            .root
            .as_ref()
            .and_then(|r| r.get(list))
            .and_then(|l| l.items().get(index));
        let node = (0..=path.len())
            .rev()
            .find_map(|n| item.and_then(|i| walk(i, &path[..n])));
        match node {
            Some(node) => ConfigError::at(&self.file, node, message),
            None => ConfigError::in_file(&self.file, message),
        }
    }
}

/// The node at `path` below `node`; a segment that is a number indexes a
/// list.
fn walk<'n>(node: &'n Node, path: &[&str]) -> Option<&'n Node> {
    path.iter()
        .try_fold(node, |node, key| match key.parse::<usize>() {
            Ok(index) if !node.is_map() => node.items().get(index),
            _ => node.get(key),
        })
}

fn read_parse<T, Item>(
    dir: &Path,
    name: &str,
    list: &str,
    errors: &mut Vec<ConfigError>,
) -> Parsed<T>
where
    T: Default + serde::de::DeserializeOwned,
    Item: serde::de::DeserializeOwned,
{
    let file = dir.join(name);
    let empty = |file: PathBuf| Parsed {
        value: T::default(),
        at: Locator { file, root: None },
    };
    let text = match fs_err::read_to_string(&file) {
        Ok(text) => text,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return empty(file),
        Err(err) => {
            errors.push(ConfigError::in_file(
                &file,
                format!("cannot read the file: {}", io::Error::from(err.kind())),
            ));
            return empty(file);
        }
    };
    match parse::catalog_list::<T, Item>(&file, &text, list) {
        Ok(value) => Parsed {
            value,
            at: Locator {
                root: YamlTree::parse(&text).and_then(|t| t.root),
                file,
            },
        },
        Err(errs) => {
            errors.extend(errs);
            empty(file)
        }
    }
}

/// Cross-checks the catalog against policy and itself.
struct Checker<'a> {
    policy: &'a Policy,
    catalog: &'a SemanticCatalog,
    errors: Vec<ConfigError>,
}

impl Checker<'_> {
    fn domains(&mut self, at: &Locator) {
        let mut seen = BTreeSet::new();
        for (i, domain) in self.catalog.domains.domains.iter().enumerate() {
            if !seen.insert(domain.name.as_str()) {
                let msg = format!("domain `{}` is defined twice", domain.name);
                self.errors.push(at.error("domains", i, &["name"], msg));
            }
            if let Some(source) = &domain.default_source {
                if self.policy.source(source).is_none() {
                    let msg = format!(
                        "domain `{}`: `default_source` `{source}` is not a connection in connections.yaml",
                        domain.name
                    );
                    self.errors
                        .push(at.error("domains", i, &["default_source"], msg));
                }
            }
        }
    }

    fn metrics(&mut self, at: &Locator) {
        let mut seen = BTreeSet::new();
        for (i, metric) in self.catalog.metrics.metrics.iter().enumerate() {
            let mut push = |path: &[&str], msg: String| {
                self.errors.push(at.error(
                    "metrics",
                    i,
                    path,
                    format!("metric `{}`: {msg}", metric.name),
                ));
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
            let Some(rules) =
                self.catalog
                    .source_of(self.policy, metric.source.as_deref(), Some(&metric.domain))
            else {
                push(
                    &["source"],
                    "no source: set `source:` on the metric or `default_source:` on its domain to a connection in connections.yaml".into(),
                );
                continue;
            };
            for problem in crate::semantic::check_metric(&rules, metric) {
                let path: Vec<&str> = problem.path.iter().map(String::as_str).collect();
                push(&path, problem.message);
            }
        }
    }

    fn terms(&mut self, at: &Locator) {
        for (i, term) in self.catalog.terms.terms.iter().enumerate() {
            let mut push = |path: &[&str], msg: String| {
                self.errors.push(at.error(
                    "terms",
                    i,
                    path,
                    format!("term `{}`: {msg}", term.name),
                ));
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
            let Some(rules) =
                self.catalog
                    .source_of(self.policy, term.source.as_deref(), term.domain.as_deref())
            else {
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
