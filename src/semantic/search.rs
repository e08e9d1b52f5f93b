//! `search_business_terms`: ranked matching of a keyword against the
//! catalog's terms and metrics (names, synonyms, descriptions), in any
//! language.
//!
//! Text is cut into tokens: runs of letters and digits become lower-case
//! words; runs of CJK characters become overlapping character bigrams
//! (a lone character stays a unigram), because Chinese and Japanese do not
//! separate words with spaces and a bigram index finds `销售额` in
//! `月度销售额` without a dictionary. A name or synonym that equals the
//! keyword ranks first, one that contains it next, then token overlap;
//! descriptions add a smaller share. Pure functions over the catalog.

use serde::Serialize;

use super::args::SearchBusinessTermsArgs;
use super::refusal::{self, invalid};
use crate::config::semantic_catalog::SemanticCatalog;
use crate::error::ToolError;

/// Matches returned when the caller sets no `limit`.
const DEFAULT_HITS: u64 = 10;
/// Most matches one call returns.
const MAX_HITS: u64 = 50;
/// Longest keyword accepted, in characters.
const MAX_KEYWORD_CHARS: usize = 200;

/// One match.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchHit {
    /// `term` or `metric`.
    pub kind: &'static str,
    /// Its name.
    pub name: String,
    /// Its domain, when it has one.
    pub domain: Option<String>,
    /// Relevance, higher is better (100 for an exact name match).
    pub score: u32,
    /// Synonyms (terms only).
    pub(crate) synonyms: Vec<String>,
    /// Definition (terms) or description (metrics).
    pub(crate) definition: String,
    /// Tables the term maps to (a metric's base table).
    pub tables: Vec<String>,
    /// Columns the term maps to, `table.column`.
    pub columns: Vec<String>,
    /// Metrics the term maps to.
    pub metrics: Vec<String>,
}

/// Rank the catalog's terms and metrics against `args.keyword`.
pub fn search_business_terms(
    catalog: &SemanticCatalog,
    args: &SearchBusinessTermsArgs,
) -> Result<Vec<SearchHit>, ToolError> {
    let keyword = args.keyword.trim();
    if keyword.is_empty() || keyword.chars().count() > MAX_KEYWORD_CHARS {
        return Err(invalid(
            format!("`keyword` needs 1 to {MAX_KEYWORD_CHARS} characters"),
            "Send a word or phrase, for example `revenue` or `销售额`",
        ));
    }
    let limit = args.limit.unwrap_or(DEFAULT_HITS);
    if limit == 0 || limit > MAX_HITS {
        return Err(invalid(
            format!("`limit` must be between 1 and {MAX_HITS}"),
            format!("Leave `limit` out for {DEFAULT_HITS}"),
        ));
    }
    if let Some(domain) = &args.domain {
        if catalog.domain(domain).is_none() {
            let known = catalog.domains.domains.iter().map(|d| d.name.as_str());
            return Err(refusal::domain_not_found(domain, known));
        }
    }
    let query = Query::new(keyword);
    let in_domain = |d: Option<&str>| args.domain.as_deref().is_none_or(|want| d == Some(want));
    let mut hits = Vec::new();
    for term in &catalog.terms.terms {
        if !in_domain(term.domain.as_deref()) {
            continue;
        }
        let score = query.score(&term.name, &term.synonyms, &term.definition);
        if score > 0 {
            hits.push(SearchHit {
                kind: "term",
                name: term.name.clone(),
                domain: term.domain.clone(),
                score,
                synonyms: term.synonyms.clone(),
                definition: term.definition.clone(),
                tables: term.tables.clone(),
                columns: term.columns.clone(),
                metrics: term.metrics.clone(),
            });
        }
    }
    for metric in &catalog.metrics.metrics {
        if !in_domain(Some(&metric.domain)) {
            continue;
        }
        let score = query.score(&metric.name, &[], &metric.description);
        if score > 0 {
            hits.push(SearchHit {
                kind: "metric",
                name: metric.name.clone(),
                domain: Some(metric.domain.clone()),
                score,
                synonyms: Vec::new(),
                definition: metric.description.clone(),
                tables: vec![metric.base_table.clone()],
                columns: Vec::new(),
                metrics: vec![metric.name.clone()],
            });
        }
    }
    hits.sort_by(|a, b| b.score.cmp(&a.score).then_with(|| a.name.cmp(&b.name)));
    hits.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok(hits)
}

/// A keyword, normalised and tokenised once.
struct Query {
    text: String,
    tokens: Vec<String>,
}

impl Query {
    fn new(keyword: &str) -> Self {
        Self {
            text: normalise(keyword),
            tokens: tokens(keyword),
        }
    }

    /// 0 to 120: the best of name and synonyms, plus up to 20 for the
    /// description.
    fn score(&self, name: &str, synonyms: &[String], description: &str) -> u32 {
        let names = std::iter::once(name).chain(synonyms.iter().map(String::as_str));
        let best_name = names.map(|n| self.name_score(n)).fold(0.0, f64::max);
        let text = normalise(description);
        let description = if !self.text.is_empty() && text.contains(&self.text) {
            20.0
        } else {
            20.0 * self.overlap(&text)
        };
        // Scores are small and non-negative, so the cast is exact enough.
        (best_name + description).round() as u32
    }

    fn name_score(&self, name: &str) -> f64 {
        let name = normalise(name);
        if name == self.text {
            100.0
        } else if name.contains(&self.text) {
            70.0
        } else {
            60.0 * self.overlap(&name)
        }
    }

    /// Share of the keyword's tokens found in `text`'s tokens.
    fn overlap(&self, text: &str) -> f64 {
        if self.tokens.is_empty() {
            return 0.0;
        }
        let theirs = tokens(text);
        let found = self.tokens.iter().filter(|t| theirs.contains(t)).count();
        found as f64 / self.tokens.len() as f64
    }
}

/// Lower case, with runs of separators as one space.
fn normalise(text: &str) -> String {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether `c` is written without spaces between words (CJK ideographs,
/// kana, Hangul).
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF
        | 0xF900..=0xFAFF | 0x20000..=0x2FA1F)
}

/// Words and CJK bigrams of `text`, deduplicated.
fn tokens(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |t: String| {
        if !out.contains(&t) {
            out.push(t);
        }
    };
    let mut word = String::new();
    let mut cjk: Vec<char> = Vec::new();
    let flush_cjk = |run: &mut Vec<char>, push: &mut dyn FnMut(String)| {
        match run.len() {
            0 => {}
            1 => push(run[0].to_string()),
            _ => run.windows(2).for_each(|w| push(w.iter().collect())),
        }
        run.clear();
    };
    for c in text.chars() {
        if is_cjk(c) {
            if !word.is_empty() {
                push(std::mem::take(&mut word));
            }
            cjk.push(c);
        } else {
            flush_cjk(&mut cjk, &mut push);
            if c.is_alphanumeric() {
                word.extend(c.to_lowercase());
            } else if !word.is_empty() {
                push(std::mem::take(&mut word));
            }
        }
    }
    flush_cjk(&mut cjk, &mut push);
    if !word.is_empty() {
        push(word);
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
