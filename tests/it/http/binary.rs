//! Team mode as an operator runs it: `sqlwarden token create`, a
//! `server.yaml` with static tokens and an OAuth issuer's JWKS, and
//! `sqlwarden serve --http` as a process. The official Python and
//! TypeScript SDKs get in with a static token and with a JWT, each seeing
//! its caller's rows; every bad credential is answered 401 with a
//! challenge before anything runs, and no token reaches the audit log or
//! the server's output.

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use tokio::io::AsyncBufReadExt;

use super::*;

const ISSUER: &str = "https://issuer.sqlwarden.test";
const AUDIENCE: &str = "https://sqlwarden.test/mcp";

pub(super) fn key(name: &str) -> Vec<u8> {
    std::fs::read(repo().join("tests/fixtures/auth").join(name)).unwrap()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn sign(alg: Algorithm, kid: &str, key: &EncodingKey, claims: &Value) -> String {
    sign_typed(alg, kid, "JWT", key, claims)
}

/// [`sign`] with the header's `typ` set to `typ`.
fn sign_typed(alg: Algorithm, kid: &str, typ: &str, key: &EncodingKey, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = Some(kid.into());
    header.typ = Some(typ.into());
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

/// An unsigned token with a hand-made header (`alg: none` and friends).
fn handmade(header: &Value, claims: &Value, signature: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    format!(
        "{}.{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes()),
        b64(signature)
    )
}

pub(super) fn sqlwarden(fx: &Fixture, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_sqlwarden"))
        .env("SQLWARDEN_CONFIG_DIR", fx.dir.path())
        .env("SQLWARDEN_AUDIT_DIR", fx.audit_dir())
        .args(args)
        .output()
        .unwrap()
}

/// `sqlwarden serve --http` on a free loopback port, as a child process.
pub(super) struct Served {
    /// The process (killed when dropped).
    pub(super) server: tokio::process::Child,
    /// `http://127.0.0.1:PORT/mcp`.
    pub(super) url: String,
    /// Where it listens.
    pub(super) addr: SocketAddr,
    /// Its stderr up to the line naming the URL.
    pub(super) log: String,
    /// The rest of its stderr, once it ends.
    pub(super) rest: tokio::task::JoinHandle<String>,
}

/// Start `sqlwarden serve --http 127.0.0.1:0` on `fx`'s config and audit
/// directories, logging at debug level, and wait for its URL.
pub(super) async fn serve(fx: &Fixture) -> Served {
    let mut server = tokio::process::Command::new(env!("CARGO_BIN_EXE_sqlwarden"))
        .env("SQLWARDEN_CONFIG_DIR", fx.dir.path())
        .env("SQLWARDEN_AUDIT_DIR", fx.audit_dir())
        .env("RUST_LOG", "debug")
        .args(["serve", "--http", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stderr = tokio::io::BufReader::new(server.stderr.take().unwrap()).lines();
    let mut log = String::new();
    let url = loop {
        let line = tokio::time::timeout(Duration::from_secs(60), stderr.next_line())
            .await
            .expect("the server starts")
            .unwrap()
            .unwrap_or_else(|| panic!("the server ended:\n{log}"));
        log.push_str(&line);
        log.push('\n');
        if let Some(at) = line.find("http://") {
            break line[at..].split_whitespace().next().unwrap().to_string();
        }
    };
    let addr: SocketAddr = url
        .trim_start_matches("http://")
        .trim_end_matches("/mcp")
        .parse()
        .unwrap();
    let rest = tokio::spawn(async move {
        let mut text = String::new();
        while let Ok(Some(line)) = stderr.next_line().await {
            text.push_str(&line);
            text.push('\n');
        }
        text
    });
    Served {
        server,
        url,
        addr,
        log,
        rest,
    }
}

/// SIGTERM `server`; it must stop cleanly having written nothing on stdout.
pub(super) async fn stop(server: &mut tokio::process::Child) {
    let pid = server.id().unwrap();
    std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(60), server.wait())
        .await
        .expect("stops on SIGTERM")
        .unwrap();
    assert!(status.success(), "{status:?}");
    let mut stdout = String::new();
    server
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .await
        .unwrap();
    assert_eq!(stdout, "", "team mode writes nothing on stdout");
}

/// Write `issuer-keys.json` (the JWKS of `rsa-a.pem` as key `k1`) into
/// `dir`, and return the key that signs the issuer's tokens.
pub(super) fn issuer_keys(dir: &std::path::Path) -> EncodingKey {
    let signer = EncodingKey::from_rsa_pem(&key("rsa-a.pem")).unwrap();
    let mut jwk = Jwk::from_encoding_key(&signer, Algorithm::RS256).unwrap();
    jwk.common.key_id = Some("k1".into());
    std::fs::write(
        dir.join("issuer-keys.json"),
        json!({"keys": [jwk]}).to_string(),
    )
    .unwrap();
    signer
}

#[tokio::test]
async fn the_binary_lets_in_static_tokens_and_jwts_and_nothing_else() {
    let fx = Fixture::new("http_binary", "").await;
    let dir = fx.dir.path().to_path_buf();

    // The issuer's keys: rsa-a signs good tokens; rsa-b is a stranger.
    let signer = issuer_keys(&dir);
    let stranger = EncodingKey::from_rsa_pem(&key("rsa-b.pem")).unwrap();
    std::fs::write(
        dir.join(http::SERVER_FILE),
        format!(
            "auth:\n  static_tokens: {{file: team-tokens.json}}\n  oauth:\n    issuer: {ISSUER}\n    audience: {AUDIENCE}\n    jwks_file: issuer-keys.json\n    claims:\n      roles: roles\n      attributes: {{regions: region_codes}}\nlimits: {{refused_auth_records_per_minute: 1000}}\n"
        ),
    )
    .unwrap();
    // `check` finds nothing wrong with server.yaml (the fixture's `down`
    // connection is its one problem).
    let check = sqlwarden(&fx, &["check"]);
    let said = String::from_utf8_lossy(&check.stdout).to_string()
        + &String::from_utf8_lossy(&check.stderr);
    assert!(said.contains("1 problem(s)"), "{said}");
    assert!(!said.contains(http::SERVER_FILE), "{said}");

    // Static tokens, made as an operator does; the CLI finds the store
    // server.yaml names.
    let create = |user: &str, region: &str| {
        let out = sqlwarden(
            &fx,
            &[
                "token",
                "create",
                "--user",
                user,
                "--roles",
                "analyst,region_manager",
                "--attr",
                &format!("region_codes={region}"),
            ],
        );
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let alice = create("alice", "EAST");
    let revoked = create("mallory", "SOUTH");
    assert!(dir.join("team-tokens.json").is_file());
    let list = sqlwarden(&fx, &["token", "list", "--json"]);
    let listed: Value = serde_json::from_slice(&list.stdout).unwrap();
    let mallory_id = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["user_id"] == "mallory")
        .unwrap_or_else(|| panic!("{listed:#}"))["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(sqlwarden(&fx, &["token", "revoke", &mallory_id])
        .status
        .success());

    let good_claims = |user: &str, region: &str| {
        json!({
            "iss": ISSUER, "aud": AUDIENCE, "sub": user, "exp": now() + 300, "iat": now(),
            "jti": format!("jti-{user}"), "roles": ["analyst", "region_manager"], "regions": [region],
        })
    };
    let carol = sign(
        Algorithm::RS256,
        "k1",
        &signer,
        &good_claims("carol", "NORTH"),
    );

    let Served {
        mut server,
        url,
        addr,
        log: seen,
        rest,
    } = serve(&fx).await;

    // The official SDK, once per kind of token: each sees its own rows.
    let sdk = |token: &str| {
        let mut command = Command::new(repo().join("target/clients/venv/bin/python"));
        command
            .arg(repo().join("tests/clients/python_http_client.py"))
            .env("SQLWARDEN_URL", &url)
            .env("SQLWARDEN_TOKEN", token);
        command
    };
    let run = |mut command: Command, what: &'static str| async move {
        let output = command.output().await.unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).to_string();
        assert!(
            output.status.success(),
            "{what}:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_str::<Value>(stdout.lines().last().unwrap_or_default()).unwrap()
    };
    let by_static = run(sdk(&alice), "static token").await;
    assert_eq!(by_static["regions"], json!(["EAST"]), "{by_static}");
    let by_jwt = run(sdk(&carol), "JWT").await;
    assert_eq!(by_jwt["regions"], json!(["NORTH"]), "{by_jwt}");
    // And the official TypeScript SDK, with each kind of token.
    let script = repo().join("target/clients/node/ts_http_client.mjs");
    std::fs::copy(repo().join("tests/clients/ts_http_client.mjs"), &script).unwrap();
    for (token, region) in [(&alice, "EAST"), (&carol, "NORTH")] {
        let mut command = Command::new("node");
        command
            .arg(&script)
            .env("SQLWARDEN_URL", &url)
            .env("SQLWARDEN_TOKEN", token);
        let by_ts = run(command, "TypeScript SDK").await;
        assert_eq!(by_ts["regions"], json!([region]), "{by_ts}");
    }
    let records_before = fx.audit_records().len();

    // Every bad credential: 401, a challenge pointing at the metadata,
    // nothing run.
    let rsa_public_pem = key("rsa-a.pub.pem");
    let hs256_with_public_key = sign(
        Algorithm::HS256,
        "k1",
        &EncodingKey::from_secret(&rsa_public_pem).unwrap(),
        &good_claims("eve", "EAST"),
    );
    let mut expired = good_claims("eve", "EAST");
    expired["exp"] = json!(now() - 3600);
    let mut early = good_claims("eve", "EAST");
    early["nbf"] = json!(now() + 3600);
    let mut wrong_issuer = good_claims("eve", "EAST");
    wrong_issuer["iss"] = json!("https://elsewhere.test");
    let mut wrong_audience = good_claims("eve", "EAST");
    wrong_audience["aud"] = json!("https://other.test/mcp");
    let bad: Vec<(&str, Option<String>)> = vec![
        ("missing", None),
        ("malformed", Some("Bearer not-a-token".into())),
        ("not bearer", Some(format!("Basic {alice}"))),
        (
            "expired",
            Some(sign(Algorithm::RS256, "k1", &signer, &expired)),
        ),
        (
            "not yet valid",
            Some(sign(Algorithm::RS256, "k1", &signer, &early)),
        ),
        (
            "wrong issuer",
            Some(sign(Algorithm::RS256, "k1", &signer, &wrong_issuer)),
        ),
        (
            "wrong audience",
            Some(sign(Algorithm::RS256, "k1", &signer, &wrong_audience)),
        ),
        (
            "wrong signature",
            Some(sign(
                Algorithm::RS256,
                "k1",
                &stranger,
                &good_claims("eve", "EAST"),
            )),
        ),
        (
            "alg none",
            Some(handmade(
                &json!({"alg": "none", "kid": "k1"}),
                &good_claims("eve", "EAST"),
                b"",
            )),
        ),
        (
            "HS256 keyed with the public key",
            Some(hs256_with_public_key),
        ),
        (
            // The issuer's own key and good claims, but an ID token's type.
            "typ of an ID token",
            Some(sign_typed(
                Algorithm::RS256,
                "k1",
                "id+jwt",
                &signer,
                &good_claims("eve", "EAST"),
            )),
        ),
        ("revoked static token", Some(revoked.clone())),
        ("unknown static token", Some(format!("{alice}x"))),
    ];
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}})
    .to_string();
    let mut sent_tokens = vec![alice.clone(), carol.clone(), revoked.clone()];
    for (what, credential) in &bad {
        let authorization = match credential {
            None => String::new(),
            Some(c) if c.starts_with("Bearer ") || c.starts_with("Basic ") => {
                format!("\r\nAuthorization: {c}")
            }
            Some(token) => {
                sent_tokens.push(token.clone());
                format!("\r\nAuthorization: Bearer {token}")
            }
        };
        let reply = send(
            addr,
            &format!("POST /mcp HTTP/1.1\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream{authorization}"),
            initialize.as_bytes(),
        )
        .await;
        assert_eq!(reply.status, 401, "{what}: {reply:?}");
        let challenge = reply.header("WWW-Authenticate").unwrap_or_default();
        assert!(
            challenge.starts_with("Bearer ")
                && challenge.contains(
                    "resource_metadata=\"https://sqlwarden.test/.well-known/oauth-protected-resource/mcp\""
                ),
            "{what}: {challenge}"
        );
        assert_eq!(
            challenge.contains("error=\"invalid_token\""),
            credential
                .as_deref()
                .is_some_and(|c| !c.starts_with("Basic ")),
            "{what}: {challenge}"
        );
    }
    let ran = |records: &[Value]| {
        records
            .iter()
            .filter(|r| r["tool_name"] != "auth_refused")
            .count()
    };
    assert_eq!(
        ran(&fx.audit_records()),
        records_before,
        "a refused credential ran nothing"
    );

    // The same bad credentials through each official SDK, one client
    // run each: `initialize` is answered 401 with the challenge, the SDK
    // raises it, and no session is opened.
    let cases: Vec<Value> = bad
        .iter()
        .map(|(what, credential)| {
            let authorization = credential.as_ref().map(|c| {
                if c.starts_with("Bearer ") || c.starts_with("Basic ") {
                    c.clone()
                } else {
                    format!("Bearer {c}")
                }
            });
            json!({"name": what, "authorization": authorization})
        })
        .collect();
    let cases_file = dir.join("bad-credentials.json");
    std::fs::write(&cases_file, Value::Array(cases).to_string()).unwrap();
    let mut python = Command::new(repo().join("target/clients/venv/bin/python"));
    python.arg(repo().join("tests/clients/python_http_refused.py"));
    let mut node = Command::new("node");
    node.arg(crate::support::clients::node_script("ts_http_refused.mjs"));
    let expected_challenge =
        "resource_metadata=\"https://sqlwarden.test/.well-known/oauth-protected-resource/mcp\"";
    for (sdk, mut command) in [("Python", python), ("TypeScript", node)] {
        command
            .env("SQLWARDEN_URL", &url)
            .env("SQLWARDEN_CASES", &cases_file);
        let reports = run(command, "an SDK given bad credentials").await;
        let reports = reports.as_array().unwrap();
        assert_eq!(reports.len(), bad.len(), "{sdk}: {reports:#?}");
        for report in reports {
            let what = format!("{sdk} SDK, {}: {report}", report["name"]);
            assert_eq!(report["initialized"], false, "{what}");
            // What the SDK raises: the TypeScript SDK's error carries the
            // HTTP status as its code; the Python SDK turns any refused
            // POST into a JSON-RPC error, so the status is read from the
            // SDK's own HTTP client.
            if sdk == "Python" {
                assert_eq!(report["error"], "MCPError", "{what}");
                assert_eq!(report["code"], -32603, "{what}");
                assert_eq!(
                    report["message"], "Server returned an error response",
                    "{what}"
                );
            } else {
                assert_eq!(report["error"], "StreamableHTTPError", "{what}");
                assert_eq!(report["code"], 401, "{what}");
                assert!(
                    report["message"]
                        .as_str()
                        .unwrap()
                        .contains("UNAUTHENTICATED"),
                    "{what}"
                );
                assert_eq!(report["session"], Value::Null, "{what}");
            }
            let responses = report["responses"].as_array().unwrap();
            assert!(!responses.is_empty(), "{what}");
            for response in responses {
                assert_eq!(response["status"], 401, "{what}");
                assert_eq!(response["session"], Value::Null, "{what}");
                assert!(
                    response["challenge"]
                        .as_str()
                        .is_some_and(|c| c.starts_with("Bearer ") && c.contains(expected_challenge)),
                    "{what}"
                );
            }
        }
    }
    assert_eq!(
        ran(&fx.audit_records()),
        records_before,
        "a refused credential ran nothing through an SDK"
    );

    // The metadata document, where the challenge points.
    let metadata = send(
        addr,
        "GET /.well-known/oauth-protected-resource/mcp HTTP/1.1",
        b"",
    )
    .await;
    assert_eq!(metadata.status, 200, "{metadata:?}");
    let document: Value = serde_json::from_str(&metadata.body).unwrap();
    assert_eq!(document["resource"], AUDIENCE);
    assert_eq!(document["authorization_servers"], json!([ISSUER]));

    // SIGTERM: a clean stop.
    stop(&mut server).await;
    let log = seen + &rest.await.unwrap();

    // Who did what, by token id; no token anywhere.
    let records = fx.audit_records();
    let (refusals, records): (Vec<Value>, Vec<Value>) = records
        .into_iter()
        .partition(|r| r["tool_name"] == "auth_refused");
    let users: std::collections::BTreeSet<String> = records
        .iter()
        .map(|r| {
            format!(
                "{}:{}",
                r["user_id"].as_str().unwrap(),
                r["token_id"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(
        users
            .iter()
            .map(|u| u.split(':').next().unwrap())
            .collect::<Vec<_>>(),
        ["alice", "carol"],
        "{users:?}"
    );
    assert!(
        users.iter().any(|u| u.starts_with("alice:tok_")),
        "{users:?}"
    );
    assert!(users.contains("carol:jwt:jti-carol"), "{users:?}");

    // Each presented credential refused, raw and through each SDK, left
    // one `auth_refused` record (the limit is raised here so all are
    // written): its reason, where it came from, and the token's id only
    // where it is known for sure: a static token found in the store, a
    // JWT whose signature verified. No credential, or another scheme,
    // left none.
    let mut seen: Vec<(String, String)> = refusals
        .iter()
        .map(|r| {
            assert_eq!(r["outcome"], "denied", "{r}");
            assert_eq!(r["suppressed"], 0, "{r}");
            assert!(r["user_id"].is_null(), "{r}");
            assert!(
                r["remote_addr"]
                    .as_str()
                    .is_some_and(|a| a.starts_with("127.0.0.1:")),
                "{r}"
            );
            (
                r["auth_failure"].as_str().unwrap().to_string(),
                r["token_id"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    seen.sort();
    let verified_jwt = "jwt:jti-eve";
    let mut expected: Vec<(String, String)> = [
        ("malformed", ""),
        ("expired", verified_jwt),
        ("not_yet_valid", verified_jwt),
        ("bad_issuer", verified_jwt),
        ("bad_audience", verified_jwt),
        ("bad_signature", ""),
        ("alg_not_allowed", ""),
        ("alg_not_allowed", ""),
        ("bad_typ", ""),
        ("revoked", mallory_id.as_str()),
        ("unknown_token", ""),
    ]
    .iter()
    .flat_map(|(reason, id)| std::iter::repeat_n((reason.to_string(), id.to_string()), 3))
    .collect();
    expected.sort();
    assert_eq!(seen, expected);
    let audit_text: String = std::fs::read_dir(fx.audit_dir())
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    let store = std::fs::read_to_string(dir.join("team-tokens.json")).unwrap();
    for token in &sent_tokens {
        // A JWT's signature is what makes it usable; `alg: none` has none.
        let secret_part = match token.rsplit('.').next() {
            Some(signature) if !signature.is_empty() => signature,
            _ => token.as_str(),
        };
        assert!(
            !audit_text.contains(secret_part),
            "a token in the audit log: {token}"
        );
        assert!(
            !log.contains(secret_part),
            "a token in the server's log: {token}"
        );
        assert!(!store.contains(token.as_str()), "a token in the store");
    }
    assert!(sqlwarden::audit::verify(&fx.audit_dir()).is_ok());
}

/// `required_scopes`: a valid JWT without the scope is answered 403
/// `insufficient_scope` with a challenge naming it (and still pointing at
/// the metadata), nothing runs, and the refusal is audited; a JWT with the
/// scope, in `scope` or in `scp`, is served.
#[tokio::test]
async fn a_jwt_without_a_required_scope_gets_403_and_one_with_it_is_served() {
    let fx = Fixture::new("http_scopes", "").await;
    let dir = fx.dir.path().to_path_buf();
    let signer = issuer_keys(&dir);
    std::fs::write(
        dir.join(http::SERVER_FILE),
        format!(
            "auth:\n  oauth:\n    issuer: {ISSUER}\n    audience: {AUDIENCE}\n    jwks_file: issuer-keys.json\n    required_scopes: [sqlwarden.query]\n    claims:\n      roles: roles\n      attributes: {{regions: region_codes}}\n"
        ),
    )
    .unwrap();
    let claims = |user: &str, scope_claim: &str, scopes: Value| {
        let mut claims = json!({
            "iss": ISSUER, "aud": AUDIENCE, "sub": user, "exp": now() + 300, "iat": now(),
            "jti": format!("jti-{user}"), "roles": ["analyst", "region_manager"], "regions": ["NORTH"],
        });
        claims[scope_claim] = scopes;
        claims
    };
    let lacking = sign(
        Algorithm::RS256,
        "k1",
        &signer,
        &claims("dave", "scope", json!("openid profile")),
    );
    let by_scope = sign(
        Algorithm::RS256,
        "k1",
        &signer,
        &claims("carol", "scope", json!("openid sqlwarden.query")),
    );
    let by_scp = sign(
        Algorithm::RS256,
        "k1",
        &signer,
        &claims("erin", "scp", json!(["sqlwarden.query"])),
    );

    let Served {
        mut server,
        url,
        addr,
        ..
    } = serve(&fx).await;

    let metadata =
        "resource_metadata=\"https://sqlwarden.test/.well-known/oauth-protected-resource/mcp\"";
    for message in [
        initialize(),
        tool_call(
            7,
            "run_select_sql",
            json!({"source": "demo", "sql": REGIONS}),
        ),
    ] {
        let reply = post(addr, Some(&lacking), None, "", &message).await;
        assert_eq!(reply.status, 403, "{reply:?}");
        assert_eq!(reply.error_code(), "INSUFFICIENT_SCOPE");
        let challenge = reply.header("WWW-Authenticate").unwrap_or_default();
        assert!(
            challenge.starts_with("Bearer ")
                && challenge.contains(metadata)
                && challenge.contains("error=\"insufficient_scope\"")
                && challenge.contains("scope=\"sqlwarden.query\""),
            "{challenge}"
        );
        assert!(reply.header("mcp-session-id").is_none(), "{reply:?}");
    }
    // An invalid token is still 401, and its challenge names the scope
    // to ask for.
    let mut expired = claims("dave", "scope", json!("sqlwarden.query"));
    expired["exp"] = json!(now() - 3600);
    let reply = post(
        addr,
        Some(&sign(Algorithm::RS256, "k1", &signer, &expired)),
        None,
        "",
        &initialize(),
    )
    .await;
    assert_eq!(reply.status, 401, "{reply:?}");
    let challenge = reply.header("WWW-Authenticate").unwrap_or_default();
    assert!(
        challenge.contains("error=\"invalid_token\"")
            && challenge.contains("scope=\"sqlwarden.query\""),
        "{challenge}"
    );
    assert!(
        fx.audit_records()
            .iter()
            .all(|r| r["tool_name"] == "auth_refused"),
        "nothing ran without the scope"
    );

    // With the scope, in either claim: served, each its own rows.
    for token in [&by_scope, &by_scp] {
        let session = open_session(addr, token).await;
        assert_eq!(regions(addr, token, &session).await, ["NORTH"]);
    }
    // And through the official Python SDK.
    let output = Command::new(repo().join("target/clients/venv/bin/python"))
        .arg(repo().join("tests/clients/python_http_client.py"))
        .env("SQLWARDEN_URL", &url)
        .env("SQLWARDEN_TOKEN", &by_scope)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap();
    assert_eq!(report["regions"], json!(["NORTH"]), "{report}");

    // The metadata document lists the required scope.
    let document = send(
        addr,
        "GET /.well-known/oauth-protected-resource/mcp HTTP/1.1",
        b"",
    )
    .await;
    let document: Value = serde_json::from_str(&document.body).unwrap();
    assert_eq!(document["scopes_supported"], json!(["sqlwarden.query"]));

    stop(&mut server).await;
    let records = fx.audit_records();
    let (refusals, calls): (Vec<&Value>, Vec<&Value>) = records
        .iter()
        .partition(|r| r["tool_name"] == "auth_refused");
    let refused: Vec<(&str, &str)> = refusals
        .iter()
        .map(|r| {
            (
                r["auth_failure"].as_str().unwrap(),
                r["token_id"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        refused,
        [
            ("insufficient_scope", "jwt:jti-dave"),
            ("insufficient_scope", "jwt:jti-dave"),
            ("expired", "jwt:jti-dave"),
        ]
    );
    let users: std::collections::BTreeSet<&str> = calls
        .iter()
        .map(|r| r["user_id"].as_str().unwrap())
        .collect();
    assert_eq!(users, ["carol", "erin"].into());
}
