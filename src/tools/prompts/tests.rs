use std::collections::BTreeMap;
use std::sync::Arc;

use super::*;
use crate::tools::tests::{demo_policy, Discard};
use crate::tools::ConfiguredEngines;

/// A session over the demo config (its database is not reachable), with
/// `extra` appended to `policy.yaml`.
fn session(extra: &str) -> Session {
    Session::new(
        demo_policy(extra),
        Arc::new(ConfiguredEngines),
        Arc::new(Discard),
    )
}

fn args(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn explore_table_names_the_table_and_the_tools() {
    let session = session("");
    let text = session
        .prompt("explore_table", &args(&[("table", "orders")]))
        .unwrap();
    assert!(text.contains("`public.orders` on source `demo`"), "{text}");
    for tool in ["describe_table", "get_join_paths", "preview_table"] {
        assert!(text.contains(tool), "{tool}");
    }
}

/// A prompt cannot be used to probe for a table policy hides, nor take
/// unknown or missing arguments.
#[test]
fn prompts_refuse_hidden_tables_and_bad_arguments() {
    let session = session("");
    for (name, given) in [
        ("explore_table", args(&[("table", "public.employees")])),
        ("explore_table", args(&[("table", "pg_catalog.pg_authid")])),
        (
            "explore_table",
            args(&[("table", "public.orders"), ("source", "nope")]),
        ),
        ("explore_table", args(&[])),
        (
            "explore_table",
            args(&[("table", "public.orders"), ("sql", "x")]),
        ),
        (
            "answer_with_metrics",
            args(&[("question", "q"), ("metric", "salaries")]),
        ),
        ("explain_refusal", args(&[("code", "NOT_A_CODE")])),
    ] {
        let result = session.prompt(name, &given);
        assert!(
            matches!(result, Err(PromptError::Argument(_))),
            "{name} {given:?}: {result:?}"
        );
    }
    assert!(matches!(
        session.prompt("drop_everything", &args(&[])),
        Err(PromptError::Unknown(_))
    ));
}

#[test]
fn metric_and_refusal_prompts() {
    let session = session("");
    let text = session
        .prompt(
            "answer_with_metrics",
            &args(&[("question", "各区域的销售额?"), ("metric", "revenue")]),
        )
        .unwrap();
    assert!(
        text.contains("各区域的销售额?") && text.contains("`revenue`"),
        "{text}"
    );
    assert!(text.contains("run_metric_query"));
    let text = session
        .prompt("explain_refusal", &args(&[("code", "COLUMN_NOT_ALLOWED")]))
        .unwrap();
    assert!(
        text.contains("COLUMN_NOT_ALLOWED") && text.contains("describe_table"),
        "{text}"
    );
}

/// Completion offers only what the tools would show.
#[test]
fn completion_is_policy_filtered() {
    let session = session("");
    let (tables, total) = session.complete(Completes::Table, "public.", Some("demo"));
    assert_eq!(total, tables.len());
    assert!(tables.contains(&"public.orders".to_string()));
    assert!(
        tables.iter().all(|t| !t.contains("employees")),
        "{tables:?}"
    );
    assert_eq!(
        session.complete(Completes::Table, "", Some("nope")).0,
        Vec::<String>::new()
    );
    assert_eq!(session.complete(Completes::Source, "D", None).0, ["demo"]);
    assert!(session
        .complete(Completes::Metric, "rev", None)
        .0
        .contains(&"revenue".to_string()));
    assert_eq!(
        session.complete(Completes::ErrorCode, "column_n", None).0,
        ["COLUMN_NOT_ALLOWED"]
    );
    assert!(session.complete(Completes::Text, "", None).0.is_empty());
}

/// A prompt whose tools are switched off is not listed nor served.
#[test]
fn switched_off_tools_unlist_their_prompts() {
    let session = session("tools:\n  run_metric_query: false\n");
    let names: Vec<&str> = session.prompts().iter().map(|p| p.name).collect();
    assert_eq!(names, ["explore_table", "explain_refusal"]);
    assert!(matches!(
        session.prompt("answer_with_metrics", &args(&[("question", "q")])),
        Err(PromptError::Unknown(_))
    ));
}
