use super::*;

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

const DATE: &str = "Wed, 05 Aug 2026 06:00:00 GMT";

/// §2.6 A: the Java SDK's `testHmacsha1Signature` vector.
#[test]
fn java_sdk_vector_a() {
    let canonical = "POST\n6c2e10f17bb7385f2ac30811b5e8e46f\napplication/xml\nTue, 13 May 2014 09:51:17 GMT\nx-odps-user-agent:JavaSDK/0.12.0;Linux\n/projects/odps_test_tunnel_project/instances";
    assert_eq!(
        sign_v2("oRd30z7sV4hBX9aYtJgii5qnyhg=", canonical),
        "+2cFzBzr2v7mAlOVGgulQ+58nuQ="
    );
}

/// §2.6 A again, but with the canonical string built from parts:
/// `User-Agent` and `Content-Length` are not signed.
#[test]
fn java_sdk_vector_a_from_parts() {
    let headers = owned(&[
        ("User-Agent", "JavaSDK/0.12.0;Linux"),
        ("Content-Length", "10"),
        ("x-odps-user-agent", "JavaSDK/0.12.0;Linux"),
    ]);
    let parts = SignedParts {
        method: "POST",
        content_md5: "6c2e10f17bb7385f2ac30811b5e8e46f",
        content_type: "application/xml",
        date: "Tue, 13 May 2014 09:51:17 GMT",
        headers: &headers,
        resource: "/projects/odps_test_tunnel_project/instances",
        params: &[],
    };
    assert_eq!(
        sign_v2("oRd30z7sV4hBX9aYtJgii5qnyhg=", &canonical_string(&parts)),
        "+2cFzBzr2v7mAlOVGgulQ+58nuQ="
    );
}

/// §2.6 B: the Go SDK's `TestGenerateSignatureV2` vector.
#[test]
fn go_sdk_vector_b() {
    assert_eq!(
        authorization(
            "my-access-id",
            "my-secret-key",
            &SignatureVersion::V2,
            "",
            "testdata"
        ),
        "ODPS my-access-id:iAcVTeAghMtN74BeKwFTj/pgFEA="
    );
}

fn c1_parts_canonical() -> String {
    let headers = owned(&[("x-odps-user-agent", "mcp-test/1.0")]);
    let params = owned(&[("expectmarker", "true"), ("curr_project", "demo")]);
    canonical_string(&SignedParts {
        method: "GET",
        content_md5: "",
        content_type: "",
        date: DATE,
        headers: &headers,
        resource: "/projects/demo/tables",
        params: &params,
    })
}

/// §2.6 C1: canonical string, V2 and V4 of a pyodps GET.
#[test]
fn pyodps_vector_c1() {
    let canonical = c1_parts_canonical();
    assert_eq!(
        canonical,
        "GET\n\n\nWed, 05 Aug 2026 06:00:00 GMT\nx-odps-user-agent:mcp-test/1.0\n/projects/demo/tables?curr_project=demo&expectmarker=true"
    );
    assert_eq!(
        authorization("test_ak", "test_sk", &SignatureVersion::V2, "", &canonical),
        "ODPS test_ak:40n0K1MM6Fctyiz6cqvp86jpp0w="
    );
    let v4 = SignatureVersion::V4 {
        region: "cn-hangzhou".into(),
    };
    assert_eq!(
        authorization("test_ak", "test_sk", &v4, "20260805", &canonical),
        "ODPS test_ak/20260805/cn-hangzhou/odps/aliyun_v4_request:s4V3gzriDj9TrNo+rpLzZq5MUj0="
    );
}

/// §2.6 C2: decoded space, lower-cased header names, an `x-odps-*`
/// query parameter both as a header line and in the resource.
#[test]
fn pyodps_vector_c2() {
    let headers = owned(&[
        ("Content-Type", "application/xml"),
        ("x-odps-user-agent", "mcp-test/1.0"),
        ("X-Odps-Zeta", "z"),
    ]);
    let params = owned(&[("curr_project", "my proj"), ("x-odps-foo", "bar")]);
    let canonical = canonical_string(&SignedParts {
        method: "POST",
        content_md5: "ae54e884a0bfa18466790441f4360eab",
        content_type: "application/xml",
        date: DATE,
        headers: &headers,
        resource: "/projects/my proj/instances",
        params: &params,
    });
    assert_eq!(
        canonical,
        "POST\nae54e884a0bfa18466790441f4360eab\napplication/xml\nWed, 05 Aug 2026 06:00:00 GMT\nx-odps-foo:bar\nx-odps-user-agent:mcp-test/1.0\nx-odps-zeta:z\n/projects/my proj/instances?curr_project=my proj&x-odps-foo=bar"
    );
    assert_eq!(
        sign_v2("test_sk", &canonical),
        "6tf67AODZ58Q1/pczo00m+4z6gQ="
    );
}

/// Empty values are bare flags; `x-odpsfoo` (no dash) is not signed.
#[test]
fn bare_flags_and_prefix_needs_dash() {
    let headers = owned(&[("x-odpsfoo", "1"), ("x-odps-a", " spaced ")]);
    let params = owned(&[("partitions", ""), ("expectmarker", "true")]);
    let canonical = canonical_string(&SignedParts {
        method: "GET",
        content_md5: "",
        content_type: "",
        date: DATE,
        headers: &headers,
        resource: "/projects/p/tables/t",
        params: &params,
    });
    assert!(canonical
        .ends_with("\nx-odps-a: spaced \n/projects/p/tables/t?expectmarker=true&partitions"));
    assert!(!canonical.contains("x-odpsfoo"));
}
