//! Engine tests that need no server: construction never touches the
//! network, and each refusal before the network carries the right code.

use std::collections::BTreeMap;
use std::time::Duration;

use super::*;
use crate::engine::RunContext;
use crate::secrets::{MaxComputeKeys, Secret};

fn connection(endpoint: &str) -> MaxComputeConnection {
    MaxComputeConnection {
        endpoint: endpoint.into(),
        project: "demo".into(),
        region: None,
        schema: None,
        tunnel_endpoint: None,
        settings: BTreeMap::new(),
        acceleration: Default::default(),
        result_read: Default::default(),
    }
}

fn keys() -> MaxComputeKeys {
    MaxComputeKeys {
        access_key_id: "LTAI5tExampleKeyId".into(),
        access_key_secret: Secret::new("secret"),
        security_token: None,
    }
}

#[test]
fn missing_or_empty_keys_name_the_fix() {
    let conn = connection("https://service.cn-hangzhou.maxcompute.aliyun.com/api");
    for keys in [
        None,
        Some(MaxComputeKeys {
            access_key_secret: Secret::new(""),
            ..keys()
        }),
    ] {
        let Err(error) = MaxComputeEngine::new("dw", &conn, keys) else {
            panic!("engine built without keys");
        };
        assert_eq!(error.code, ErrorCode::CredentialsMissing);
        assert!(error.hint.contains("sqlwarden auth set dw"));
        assert!(error.hint.contains("ALIBABA_CLOUD_ACCESS_KEY_ID"));
        assert!(error.hint.contains("ALIBABA_CLOUD_ACCESS_KEY_SECRET"));
    }
}

#[test]
fn a_bad_endpoint_is_refused_at_construction() {
    let Err(error) = MaxComputeEngine::new("dw", &connection("service.example.com"), Some(keys()))
    else {
        panic!("engine built with a bad endpoint");
    };
    assert_eq!(error.code, ErrorCode::BackendError);
    assert!(error.hint.contains("connections.yaml"));
}

#[test]
fn region_picks_v4_and_ip_endpoints_v2() {
    let cloud = MaxComputeEngine::new(
        "dw",
        &connection("https://service.cn-shanghai.maxcompute.aliyun.com/api"),
        Some(keys()),
    )
    .unwrap();
    assert_eq!(cloud.client.masked_key_id(), "LTAI****eyId");
    let local =
        MaxComputeEngine::new("dw", &connection("http://127.0.0.1:9/api"), Some(keys())).unwrap();
    assert_eq!(local.client.schema(), None);
}

#[tokio::test]
async fn an_unreachable_endpoint_is_backend_unavailable() {
    // Port 9 (discard) on loopback is closed on test machines.
    let engine =
        MaxComputeEngine::new("dw", &connection("http://127.0.0.1:9/api"), Some(keys())).unwrap();
    let query = CheckedQuery::for_engine_tests("SELECT 1", 10, 100, 1000, Duration::from_secs(20));
    let error = engine.run(&query, RunContext::default()).await.unwrap_err();
    assert_eq!(error.code, ErrorCode::BackendUnavailable, "{error:?}");
    assert!(error.message.contains("127.0.0.1:9"));
    let error = engine.table_columns("demo.t").await.unwrap_err();
    assert_eq!(error.code, ErrorCode::BackendUnavailable);
}

#[tokio::test]
async fn malformed_table_keys_and_markers_are_invalid_arguments() {
    let engine =
        MaxComputeEngine::new("dw", &connection("http://127.0.0.1:9/api"), Some(keys())).unwrap();
    let error = engine.table_columns("a.b.c.d").await.unwrap_err();
    assert_eq!(error.code, ErrorCode::InvalidArgument);
    let page = PageRequest {
        marker: Some("not-a-number".into()),
        limit: 10,
    };
    let error = engine.list_partitions("demo.t", page).await.unwrap_err();
    assert_eq!(error.code, ErrorCode::InvalidArgument);
}
