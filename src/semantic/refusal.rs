//! The semantic layer's refusals: each with its code, a message and a hint
//! that names the allowed choices.
//!
//! Kept in one place so the wording stays consistent and every refusal
//! names the fix; the catalog names listed are ones the caller may see.

use crate::error::{ErrorCode, ToolError};

/// Most choices a hint lists before it says how many more there are.
const MAX_LISTED: usize = 20;

/// `a`, `b`, `c` (and N more).
pub(crate) fn choices<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.into_iter().collect();
    if names.is_empty() {
        return "(none)".into();
    }
    let mut listed: Vec<String> = names
        .iter()
        .take(MAX_LISTED)
        .map(|n| format!("`{n}`"))
        .collect();
    if names.len() > MAX_LISTED {
        listed.push(format!("and {} more", names.len() - MAX_LISTED));
    }
    listed.join(", ")
}

/// The metric is not in the catalog.
pub(crate) fn metric_not_found<'a>(
    name: &str,
    known: impl IntoIterator<Item = &'a str>,
) -> ToolError {
    ToolError::new(
        ErrorCode::MetricNotFound,
        format!("metric `{name}` is not in the catalog"),
        format!(
            "Use one of {} (see `list_metrics` or `search_business_terms`)",
            choices(known)
        ),
    )
}

/// The domain is not in the catalog.
pub(crate) fn domain_not_found<'a>(
    name: &str,
    known: impl IntoIterator<Item = &'a str>,
) -> ToolError {
    invalid(
        format!("domain `{name}` is not in the catalog"),
        format!("Use one of {} (see `list_domains`)", choices(known)),
    )
}

/// The name is not a dimension of the metric.
pub(crate) fn dimension_not_allowed<'a>(
    metric: &str,
    name: &str,
    allowed: impl IntoIterator<Item = &'a str>,
) -> ToolError {
    ToolError::new(
        ErrorCode::DimensionNotAllowed,
        format!("dimension `{name}` is not allowed for metric `{metric}`"),
        format!("Use one of {} (see `get_dimensions`)", choices(allowed)),
    )
}

/// A bad argument value.
pub(crate) fn invalid(message: impl Into<String>, hint: impl Into<String>) -> ToolError {
    ToolError::new(ErrorCode::InvalidArgument, message, hint)
}
