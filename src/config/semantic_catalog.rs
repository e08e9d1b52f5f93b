//! The semantic layer's catalog files: `catalog/domains.yaml`,
//! `catalog/terms.yaml` and `catalog/metrics.yaml`.
//!
//! This module holds the typed shapes (every struct `deny_unknown_fields`)
//! and reads and parses the three files with located errors, keeping their
//! text so a later check can point at any entry ([`CatalogFiles::locator`]).
//!
//! Whether the catalog fits the policy (a metric over a denied column, a
//! dimension on a table the policy does not allow, a join that is not
//! approved) is not decided here: the config knows nothing of policy. The
//! semantic layer checks that where both are known, at session start and
//! in `sqlwarden check`, and reports each problem through the locator as a
//! config error naming the file, line and column.

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::parse;
use super::yaml_tree::{Node, YamlTree};
use super::ConfigError;

/// The domains file, relative to the config directory (optional).
pub(crate) const DOMAINS_FILE: &str = "catalog/domains.yaml";
/// The business terms file, relative to the config directory (optional).
pub(crate) const TERMS_FILE: &str = "catalog/terms.yaml";
/// The metrics file, relative to the config directory (optional).
pub(crate) const METRICS_FILE: &str = "catalog/metrics.yaml";

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
    pub(crate) owner: Option<String>,
    /// What the domain covers.
    #[serde(default)]
    pub(crate) description: Option<String>,
    /// Connection the domain's metrics and terms read when they name none.
    #[serde(default)]
    pub(crate) default_source: Option<String>,
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
    pub(crate) synonyms: Vec<String>,
    /// What the term means.
    pub(crate) definition: String,
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
    pub(crate) description: String,
    /// Connection (default: the domain's `default_source`).
    #[serde(default)]
    pub source: Option<String>,
    /// Table key (as in policy) the metric is computed over.
    pub(crate) base_table: String,
    /// Aggregate SQL expression over columns of `base_table`, for example
    /// `sum(amount)`.
    pub(crate) expression: String,
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
    pub(crate) default_filters: Vec<String>,
    /// How to show values (`currency`, `percent`, `integer`, ...).
    #[serde(default)]
    pub(crate) format: Option<String>,
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
    pub(crate) description: Option<String>,
}

/// The time column of a metric and the grains it may be bucketed by.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TimeDimension {
    /// Column of `base_table`.
    pub column: String,
    /// Grains the caller may ask for.
    pub(crate) grains: Vec<Grain>,
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

/// What the three catalog files hold (each part empty when its file is
/// absent).
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
}

/// One of the three catalog files, each a top-level list of entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CatalogList {
    /// `catalog/domains.yaml`, list `domains`.
    Domains,
    /// `catalog/terms.yaml`, list `terms`.
    Terms,
    /// `catalog/metrics.yaml`, list `metrics`.
    Metrics,
}

impl CatalogList {
    /// The top-level key that holds the file's entries.
    fn key(self) -> &'static str {
        match self {
            Self::Domains => "domains",
            Self::Terms => "terms",
            Self::Metrics => "metrics",
        }
    }
}

/// One catalog file as read: where it is and its text (`None` when the
/// file is absent).
#[derive(Debug, Clone, Default)]
struct FileText {
    path: PathBuf,
    text: Option<String>,
}

/// The catalog files as read and parsed: what they hold, and their text so
/// a check made later can point at the entry at fault.
#[derive(Debug, Clone, Default)]
pub struct CatalogFiles {
    /// What the files hold.
    pub catalog: SemanticCatalog,
    domains: FileText,
    terms: FileText,
    metrics: FileText,
}

impl CatalogFiles {
    /// Points errors at the entries of one file (its positioned tree is
    /// built here, once; call this only to report problems).
    pub(crate) fn locator(&self, list: CatalogList) -> Locator {
        let file = match list {
            CatalogList::Domains => &self.domains,
            CatalogList::Terms => &self.terms,
            CatalogList::Metrics => &self.metrics,
        };
        Locator {
            file: file.path.clone(),
            list: list.key(),
            root: file
                .text
                .as_deref()
                .and_then(YamlTree::parse)
                .and_then(|t| t.root),
        }
    }
}

/// Points errors at the entries of one catalog file.
pub(crate) struct Locator {
    file: PathBuf,
    list: &'static str,
    root: Option<Node>,
}

impl Locator {
    /// An error at item `index` of the file's list, then at `path` inside
    /// it (keys, or list indexes written as numbers), or at the nearest of
    /// those nodes that exists; about the whole file when none does.
    pub(crate) fn error(&self, index: usize, path: &[&str], message: String) -> ConfigError {
        let item = self
            .root
            .as_ref()
            .and_then(|r| r.get(self.list))
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

/// Read and parse the catalog files of `dir`. Every problem found is
/// returned, located.
pub(crate) fn read(dir: &Path) -> Result<CatalogFiles, Vec<ConfigError>> {
    let mut errors = Vec::new();
    let (domains, domains_text) =
        read_parse::<DomainsFile, DomainDef>(dir, DOMAINS_FILE, CatalogList::Domains, &mut errors);
    let (terms, terms_text) =
        read_parse::<TermsFile, TermDef>(dir, TERMS_FILE, CatalogList::Terms, &mut errors);
    let (metrics, metrics_text) =
        read_parse::<MetricsFile, MetricDef>(dir, METRICS_FILE, CatalogList::Metrics, &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(CatalogFiles {
        catalog: SemanticCatalog {
            domains,
            terms,
            metrics,
        },
        domains: domains_text,
        terms: terms_text,
        metrics: metrics_text,
    })
}

/// Read and parse one file: its value (the default when absent or broken)
/// and its text (kept only when it parsed, since only then are its entries
/// checked further).
fn read_parse<T, Item>(
    dir: &Path,
    name: &str,
    list: CatalogList,
    errors: &mut Vec<ConfigError>,
) -> (T, FileText)
where
    T: Default + serde::de::DeserializeOwned,
    Item: serde::de::DeserializeOwned,
{
    let path = dir.join(name);
    let text = match fs_err::read_to_string(&path) {
        Ok(text) => text,
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            return (T::default(), FileText { path, text: None })
        }
        Err(err) => {
            errors.push(ConfigError::in_file(
                &path,
                format!("cannot read the file: {}", io::Error::from(err.kind())),
            ));
            return (T::default(), FileText { path, text: None });
        }
    };
    match parse::catalog_list::<T, Item>(&path, &text, list.key()) {
        Ok(value) => (
            value,
            FileText {
                path,
                text: Some(text),
            },
        ),
        Err(errs) => {
            errors.extend(errs);
            (T::default(), FileText { path, text: None })
        }
    }
}
