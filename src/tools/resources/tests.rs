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

/// The listed tables are exactly what `list_allowed_tables` shows, then the
/// catalog; `employees` (not in policy) is nowhere.
#[tokio::test]
async fn lists_the_allowed_tables_and_the_catalog() {
    let session = session("");
    let uris: Vec<String> = session.resources().into_iter().map(|e| e.uri).collect();
    let listed = session
        .call("list_allowed_tables", None, CallContext::default())
        .await;
    let mut expected: Vec<String> = listed.envelope()["data"]["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| table_uri("demo", t["table"].as_str().unwrap()))
        .collect();
    expected.push(CATALOG_URI.to_string());
    assert_eq!(uris, expected);
    assert!(uris.iter().all(|u| !u.contains("employees")));
}

/// Only the exact listed spelling is read: case, quoting, percent-encoding,
/// traversal, other sources, query strings and other schemes are not found
/// (and nothing is asked of the database for them).
#[tokio::test]
async fn only_listed_uris_are_read() {
    let session = session("");
    for uri in [
        "sqlwarden://demo/tables/public.employees",
        "sqlwarden://demo/tables/employees",
        "sqlwarden://demo/tables/PUBLIC.ORDERS",
        "sqlwarden://DEMO/tables/public.orders",
        "sqlwarden://demo/tables/\"public\".\"orders\"",
        "sqlwarden://demo/tables/%22public%22.%22orders%22",
        "sqlwarden://demo/tables/public%2Eorders",
        "sqlwarden://demo/tables/public%2eemployees",
        "sqlwarden://demo/tables/public.orders/../public.employees",
        "sqlwarden://demo/tables/../tables/public.employees",
        "sqlwarden://demo/tables/./public.orders",
        "sqlwarden://demo//tables/public.orders",
        "sqlwarden://down/tables/public.orders",
        "sqlwarden://other/tables/public.orders",
        "sqlwarden://demo/tables/public.orders ",
        "sqlwarden://demo/tables/public.orders%20",
        "sqlwarden://demo/tables/public.orders?source=other",
        "sqlwarden://demo/tables/public.orders#x",
        "sqlwarden://demo/tables/orders",
        "sqlwarden://demo/tables/public.orders\0",
        "SQLWARDEN://catalog",
        "sqlwarden://catalog/",
        "file:///etc/passwd",
        "",
    ] {
        let read = session.read_resource(uri, CallContext::default()).await;
        assert!(
            matches!(read, Err(ResourceError::NotFound(_))),
            "{uri:?}: {read:?}"
        );
    }
}

/// A listed table whose database is down is refused with the tool's code,
/// not found or half-read.
#[tokio::test]
async fn a_listed_table_on_a_down_source_is_refused_with_the_tool_code() {
    let session = session("");
    let uri = table_uri("demo", "public.orders");
    let read = session.read_resource(&uri, CallContext::default()).await;
    let Err(ResourceError::Refused { code, hint, .. }) = read else {
        panic!("{read:?}")
    };
    assert_eq!(code, "BACKEND_UNAVAILABLE");
    assert!(!hint.is_empty());
}

/// Switching off a tool behind a resource unlists it.
#[tokio::test]
async fn switched_off_tools_unlist_their_resources() {
    let tables_off = session("tools:\n  describe_table: false\n");
    let uris: Vec<String> = tables_off.resources().into_iter().map(|e| e.uri).collect();
    assert_eq!(uris, [CATALOG_URI]);
    let read = tables_off
        .read_resource(&table_uri("demo", "public.orders"), CallContext::default())
        .await;
    assert!(matches!(read, Err(ResourceError::NotFound(_))), "{read:?}");
    let catalog_off = session("tools:\n  list_metrics: false\n");
    assert!(catalog_off.resources().iter().all(|e| e.uri != CATALOG_URI));
}

/// The catalog resource holds domains, metrics and terms.
#[tokio::test]
async fn the_catalog_resource_has_domains_metrics_and_terms() {
    let session = session("");
    let catalog = session
        .read_resource(CATALOG_URI, CallContext::default())
        .await
        .unwrap();
    assert!(!catalog["domains"].as_array().unwrap().is_empty());
    assert!(catalog["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["name"] == "revenue"));
    assert!(catalog["terms"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["synonyms"].to_string().contains("销售额")));
}

/// Segments are percent-encoded beyond letters, digits, `.`, `_`, `-`.
#[test]
fn uris_encode_unusual_names() {
    assert_eq!(
        table_uri("demo", "public.orders"),
        "sqlwarden://demo/tables/public.orders"
    );
    assert_eq!(
        table_uri("my src", "s/x.\"T\""),
        "sqlwarden://my%20src/tables/s%2Fx.%22T%22"
    );
}
