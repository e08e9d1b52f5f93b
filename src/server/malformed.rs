//! Answers for requests rmcp could not type: a known MCP method whose
//! params have the wrong shape, or a method nobody serves.
//!
//! rmcp reads a request into its typed form by method and params together;
//! when the params do not fit (`resources/read` without a `uri`, an
//! unknown logging level), the request arrives as a custom request like an
//! unknown method would. Answering both with "method not found" would tell
//! the client its well-known method does not exist, so a known method gets
//! JSON-RPC's invalid-params error with what was wrong, read from the
//! params' own type.

// `logging/setLevel` is deprecated (SEP-2577) but still served to older
// clients (see `super::logging`), so its params are still read here.
#![allow(deprecated)]

use rmcp::model::{
    CompleteRequestParams, GetPromptRequestParams, InitializeRequestParams, PaginatedRequestParams,
    ReadResourceRequestParams, SetLevelRequestParams, SubscribeRequestParams,
    UnsubscribeRequestParams,
};
use rmcp::ErrorData;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::engine::result::cut_str;

/// Most bytes of the client's own text (a method name, serde's account of
/// a value) repeated in an answer: a client can send megabytes.
const MAX_ECHO: usize = 200;

/// The error for a request to `method` that reached the catch-all.
pub(crate) fn answer(method: &str, params: Option<&Value>) -> ErrorData {
    match why_malformed(method, params) {
        Some(why) => ErrorData::invalid_params(
            format!(
                "Invalid params for `{method}`: {}; see the method's params in the MCP specification",
                cut_str(&why, MAX_ECHO)
            ),
            None,
        ),
        None => ErrorData::new(
            rmcp::model::ErrorCode::METHOD_NOT_FOUND,
            format!(
                "Method not found: `{}`; `tools/list`, `resources/list` and `prompts/list` show what this server serves",
                cut_str(method, MAX_ECHO)
            ),
            None,
        ),
    }
}

/// Why `params` do not read as the params of `method`; `None` when rmcp
/// does not know `method` (then it is not found).
fn why_malformed(method: &str, params: Option<&Value>) -> Option<String> {
    fn why<T: DeserializeOwned>(params: Option<&Value>) -> String {
        let params = params.cloned().unwrap_or(Value::Null);
        match serde_json::from_value::<T>(params) {
            Err(e) => e.to_string(),
            // They read on their own, so the request as a whole did not.
            Ok(_) => "the request does not have the shape of this method's request".into(),
        }
    }
    Some(match method {
        "initialize" => why::<InitializeRequestParams>(params),
        "resources/read" => why::<ReadResourceRequestParams>(params),
        "resources/subscribe" => why::<SubscribeRequestParams>(params),
        "resources/unsubscribe" => why::<UnsubscribeRequestParams>(params),
        "prompts/get" => why::<GetPromptRequestParams>(params),
        "logging/setLevel" => why::<SetLevelRequestParams>(params),
        "completion/complete" => why::<CompleteRequestParams>(params),
        "tools/list" | "resources/list" | "resources/templates/list" | "prompts/list" => {
            why::<Option<PaginatedRequestParams>>(params)
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests;
