//! Resources, resource templates, prompts and completion as MCP types:
//! paging and the mapping of [`crate::tools`]'s resources and prompts
//! (which own the policy filtering) to rmcp's model.

use std::collections::BTreeMap;

use rmcp::model::{
    CompleteRequestParams, CompleteResult, CompletionInfo, GetPromptResult, ListPromptsResult,
    ListResourceTemplatesResult, ListResourcesResult, PaginatedRequestParams, Prompt,
    PromptArgument, PromptMessage, ReadResourceResult, Reference, Resource, ResourceContents,
    ResourceTemplate, Role,
};
use rmcp::ErrorData;
use serde_json::Value;

use crate::tools::{
    CallContext, Completes, PromptError, ResourceError, Session, PROMPTS, TABLE_TEMPLATE,
};

/// Entries per page of `resources/list`, `resources/templates/list` and
/// `prompts/list`.
pub(super) const PAGE: usize = 50;

/// The MIME type of every resource.
const JSON: &str = "application/json";

/// One page of `items` from the request's cursor (an offset that an earlier
/// page returned), and the cursor of the next page.
pub(super) fn page<T>(
    items: Vec<T>,
    request: Option<&PaginatedRequestParams>,
) -> Result<(Vec<T>, Option<String>), ErrorData> {
    let start = match request.and_then(|r| r.cursor.as_deref()) {
        None => 0,
        Some(cursor) => cursor
            .parse::<usize>()
            .ok()
            .filter(|offset| *offset <= items.len())
            .ok_or_else(|| {
                ErrorData::invalid_params(
                    "unknown cursor: pass a `nextCursor` from the previous page, or none for the first",
                    None,
                )
            })?,
    };
    let end = items.len().min(start + PAGE);
    let next = (end < items.len()).then(|| end.to_string());
    Ok((
        items.into_iter().skip(start).take(end - start).collect(),
        next,
    ))
}

/// `resources/list`.
pub(super) fn list_resources(
    session: &Session,
    request: Option<&PaginatedRequestParams>,
) -> Result<ListResourcesResult, ErrorData> {
    let entries = session.resources();
    let (entries, next) = page(entries, request)?;
    let resources = entries
        .into_iter()
        .map(|e| {
            Resource::new(e.uri, e.name)
                .with_title(e.title)
                .with_description(e.description)
                .with_mime_type(JSON)
        })
        .collect();
    let mut result = ListResourcesResult::with_all_items(resources);
    result.next_cursor = next;
    Ok(result)
}

/// `resources/templates/list`: the table template, when any table is
/// listed.
pub(super) fn list_templates(
    session: &Session,
    request: Option<&PaginatedRequestParams>,
) -> Result<ListResourceTemplatesResult, ErrorData> {
    let templates: Vec<ResourceTemplate> = session
        .resources()
        .iter()
        .any(|e| e.uri != crate::tools::CATALOG_URI)
        .then(|| {
            ResourceTemplate::new(TABLE_TEMPLATE, "table")
                .with_title("Allowed table")
                .with_description(
                    "An allowed table's columns, partition keys and approved joins; `table` is a key from `list_allowed_tables`",
                )
                .with_mime_type(JSON)
        })
        .into_iter()
        .collect();
    let (templates, next) = page(templates, request)?;
    let mut result = ListResourceTemplatesResult::with_all_items(templates);
    result.next_cursor = next;
    Ok(result)
}

/// `resources/read`.
pub(super) async fn read_resource(
    session: &Session,
    uri: &str,
    ctx: CallContext,
) -> Result<ReadResourceResult, ErrorData> {
    match session.read_resource(uri, ctx).await {
        Ok(value) => {
            let text = serde_json::to_string_pretty(&value)
                .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
            Ok(ReadResourceResult::new(vec![ResourceContents::text(
                text, uri,
            )
            .with_mime_type(JSON)]))
        }
        Err(ResourceError::NotFound(message)) => Err(ErrorData::resource_not_found(
            message,
            Some(serde_json::json!({"uri": uri.chars().take(200).collect::<String>()})),
        )),
        Err(ResourceError::Refused {
            code,
            message,
            hint,
        }) => Err(ErrorData::invalid_request(
            format!("{code}: {message} (hint: {hint})"),
            Some(serde_json::json!({"code": code, "message": message, "hint": hint})),
        )),
    }
}

/// `prompts/list`.
pub(super) fn list_prompts(
    session: &Session,
    request: Option<&PaginatedRequestParams>,
) -> Result<ListPromptsResult, ErrorData> {
    let prompts: Vec<Prompt> = session
        .prompts()
        .into_iter()
        .map(|p| {
            let arguments = p
                .arguments
                .iter()
                .map(|a| {
                    PromptArgument::new(a.name)
                        .with_description(a.description)
                        .with_required(a.required)
                })
                .collect();
            Prompt::new(p.name, Some(p.description), Some(arguments)).with_title(p.title)
        })
        .collect();
    let (prompts, next) = page(prompts, request)?;
    let mut result = ListPromptsResult::with_all_items(prompts);
    result.next_cursor = next;
    Ok(result)
}

/// `prompts/get`.
pub(super) fn get_prompt(
    session: &Session,
    name: &str,
    arguments: Option<&serde_json::Map<String, Value>>,
) -> Result<GetPromptResult, ErrorData> {
    let mut args = BTreeMap::new();
    for (key, value) in arguments.into_iter().flatten() {
        let Some(text) = value.as_str() else {
            return Err(ErrorData::invalid_params(
                format!("prompt argument `{key}` must be a string"),
                None,
            ));
        };
        args.insert(key.clone(), text.to_string());
    }
    match session.prompt(name, &args) {
        Ok(text) => {
            let description = PROMPTS
                .iter()
                .find(|p| p.name == name)
                .map(|p| p.description)
                .unwrap_or_default();
            Ok(
                GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)])
                    .with_description(description),
            )
        }
        Err(PromptError::Unknown(message) | PromptError::Argument(message)) => {
            Err(ErrorData::invalid_params(message, None))
        }
    }
}

/// `completion/complete`, for prompt arguments and the table template.
pub(super) fn complete(
    session: &Session,
    request: &CompleteRequestParams,
) -> Result<CompleteResult, ErrorData> {
    let argument = request.argument.name.as_str();
    let what = match &request.r#ref {
        Reference::Prompt(prompt) => session
            .prompts()
            .into_iter()
            .find(|p| p.name == prompt.name)
            .and_then(|p| p.arguments.iter().find(|a| a.name == argument))
            .map(|a| a.completes),
        Reference::Resource(template) if template.uri == TABLE_TEMPLATE => match argument {
            "source" => Some(Completes::Source),
            "table" => Some(Completes::Table),
            _ => None,
        },
        _ => None,
    };
    let Some(what) = what else {
        return Err(ErrorData::invalid_params(
            "nothing to complete: name a listed prompt's argument, or `source` / `table` of the table template",
            None,
        ));
    };
    let source = request
        .context
        .as_ref()
        .and_then(|c| c.get_argument("source"))
        .map(String::as_str);
    let (values, total) = session.complete(what, &request.argument.value, source);
    let shown = values.len();
    let info = CompletionInfo::with_pagination(
        values,
        Some(u32::try_from(total).unwrap_or(u32::MAX)),
        shown < total,
    )
    .map_err(|e| ErrorData::internal_error(e, None))?;
    Ok(CompleteResult::new(info))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
