//! Tests: the MaxCompute emulator over raw HTTP: response shapes, paging,
//! SQL behaviour, signature and skew refusals, and every injected fault.
//!
//! The raw client (support/maxcompute/raw.rs) signs with the emulator's
//! canonical-string builder; the signature scheme itself is proven by
//! pyodps (pyodps.rs) and the SDK vectors (auth.rs unit tests). Tunnel
//! streams are checked with raw.rs's independent reader.

use std::time::{Duration, Instant};

use crate::support::maxcompute::raw::{open_session, read_stream, stream, Raw};
use crate::support::maxcompute::{fixture, TableSpec};

// ---------------------------------------------------------------- metadata

#[tokio::test]
async fn housekeeping_tenant_and_projects() {
    let emu = fixture::start(fixture::config()).await;
    let c = Raw::new(&emu);
    let r = c.get("/api/logview/host", "curr_project=demo").await;
    assert_eq!(r.status, 200);
    let r = c.get("/api/tenants", "curr_project=demo").await;
    let tenant: serde_json::Value = serde_json::from_slice(&r.body).expect("tenant json");
    assert_eq!(
        tenant["Tenant"]["Parameters"]["odps.namespace.schema"],
        "false"
    );
    let r = c.get("/api/projects", "expectmarker=true&maxitems=1").await;
    assert_eq!(r.xml_field("Name"), "demo");
    assert!(!r.xml_field("Marker").is_empty(), "a second page");
    let r = c.get("/api/projects/lake", "").await;
    assert!(r.headers.contains_key("x-odps-owner"));
    assert!(r.headers.contains_key("x-odps-creation-time"));
    assert!(r
        .text()
        .contains("<Name>odps.schema.model.enabled</Name><Value>true</Value>"));
    let r = c.get("/api/projects/nope", "").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.error_code(), "NoSuchProject");
    assert!(r.xml_field("Message").starts_with("ODPS-0420111"));
    assert!(!r.xml_field("RequestId").is_empty());
    assert!(r.headers.contains_key("x-odps-request-id"));
    assert!(r.text().contains("<HostId>"));
}

#[tokio::test]
async fn tables_page_by_marker() {
    let emu = fixture::start(fixture::config()).await;
    let c = Raw::new(&emu);
    let mut names = Vec::new();
    let mut marker = String::new();
    for _ in 0..5 {
        let q = if marker.is_empty() {
            "expectmarker=true&maxitems=1&curr_project=demo".to_string()
        } else {
            format!("expectmarker=true&maxitems=1&marker={marker}&curr_project=demo")
        };
        let r = c.get("/api/projects/demo/tables", &q).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.text().matches("<Table>").count(), 1);
        names.push(r.xml_field("Name"));
        marker = r.xml_field("Marker");
        if marker.is_empty() {
            break;
        }
    }
    assert_eq!(names, ["customers", "profiles", "sales"]);
    let r = c
        .get("/api/projects/demo/tables", "expectmarker=true&name=sal")
        .await;
    assert_eq!(r.text().matches("<Table>").count(), 1);
}

#[tokio::test]
async fn table_schema_json_has_comments_and_partition_keys() {
    let emu = fixture::start(fixture::config()).await;
    let c = Raw::new(&emu);
    let r = c
        .get("/api/projects/demo/tables/sales", "curr_project=demo")
        .await;
    assert_eq!(r.xml_field("Comment"), "One row per sale");
    let schema: serde_json::Value =
        serde_json::from_str(&r.xml_field("Schema")).expect("schema json");
    assert_eq!(schema["columns"][0]["name"], "id");
    assert_eq!(schema["columns"][0]["comment"], "sale id");
    assert_eq!(schema["columns"][8]["type"], "tinyint");
    assert_eq!(schema["partitionKeys"][0]["name"], "ds");
    assert_eq!(schema["partitionKeys"][0]["comment"], "business day");
    assert!(schema["createTime"].as_i64().expect("epoch") > 1_600_000_000);
    let r = c.get("/api/projects/demo/tables/nope", "").await;
    assert_eq!((r.status, r.error_code().as_str()), (404, "NoSuchObject"));
    assert!(r.xml_field("Message").starts_with("ODPS-0130131"));
}

#[tokio::test]
async fn partitions_page_filter_and_single() {
    let emu = fixture::start(fixture::config()).await;
    let c = Raw::new(&emu);
    let path = "/api/projects/demo/tables/sales";
    let r = c.get(path, "partitions&expectmarker=true&maxitems=2").await;
    assert_eq!(r.text().matches("<Partition>").count(), 2);
    assert!(r
        .text()
        .contains("<Column Name=\"ds\" Value=\"20240101\"/>"));
    let marker = r.xml_field("Marker");
    let r = c
        .get(
            path,
            &format!("partitions&expectmarker=true&maxitems=2&marker={marker}"),
        )
        .await;
    assert_eq!(r.text().matches("<Partition>").count(), 1);
    assert!(r.text().contains("Value=\"20240103\""));
    assert!(r.xml_field("Marker").is_empty());
    let r = c.get(path, "partitions&expectmarker=true&reverse").await;
    let text = r.text();
    assert!(text.find("20240103").expect("3") < text.find("20240101").expect("1"));
    let r = c
        .get(path, "partitions&partition=ds%3D%2720240102%27")
        .await;
    assert_eq!(r.text().matches("<Partition>").count(), 1);
    let r = c.get(path, "partition=ds%3D%2720240102%27").await;
    let meta: serde_json::Value =
        serde_json::from_str(&r.xml_field("Schema")).expect("partition json");
    assert!(meta["createTime"].is_i64());
    let r = c.get(path, "partition=ds%3D%2799%27").await;
    assert_eq!(r.error_code(), "NoSuchPartition");
}

#[tokio::test]
async fn three_tier_schemas_and_tables() {
    let emu = fixture::start(fixture::config()).await;
    let c = Raw::new(&emu);
    let r = c
        .get("/api/projects/lake/schemas", "expectmarker=true")
        .await;
    assert_eq!(r.text().matches("<Schema>").count(), 2, "{}", r.text());
    let r = c
        .get(
            "/api/projects/lake/tables",
            "expectmarker=true&curr_schema=analytics",
        )
        .await;
    assert_eq!(r.xml_field("Name"), "visits");
    let r = c
        .get("/api/projects/lake/schemas/analytics/tables/visits", "")
        .await;
    assert_eq!(r.xml_field("SchemaName"), "analytics");
    let r = c.get("/api/projects/lake/tables/visits", "").await;
    assert_eq!(r.status, 404, "not in the default schema");
    let r = c.get("/api/projects/demo/schemas", "").await;
    assert_eq!(r.error_code(), "InvalidParameter");
}

// --------------------------------------------------------------------- SQL

#[tokio::test]
async fn query_result_csv_source_and_status_headers() {
    let emu = fixture::start(fixture::config()).await;
    let c = Raw::new(&emu);
    let id = c
        .submit(
            "SQL",
            "select `ID`, name, nvl(amount, 0) as amt, if(flag, \"yes\", 'no') as f, 1 + 1 from demo.sales where ds = MAX_PT('demo.sales') order by id limit 2;",
            r#"{"odps.sql.allow.fullscan":"false","odps.sql.read.only":"true"}"#,
        )
        .await;
    assert_eq!(c.wait(&id).await, "Success");
    let path = format!("/api/projects/demo/instances/{id}");
    let r = c.get(&path, "").await;
    assert_eq!(r.xml_field("Status"), "Terminated");
    assert!(r.headers.contains_key("x-odps-start-time"));
    assert!(r.headers.contains_key("x-odps-end-time"));
    let csv = c.result(&id).await.xml_field("Result");
    assert_eq!(
        csv,
        "\"id\",\"name\",\"amt\",\"f\",\"_c4\"\n1,\"alice\",2.5,\"yes\",2\n2,\"bob\",0,\"no\",2\n"
    );
    // The id does not exist under another project.
    let other = c
        .get(&format!("/api/projects/lake/instances/{id}"), "")
        .await;
    assert_eq!(
        (other.status, other.error_code().as_str()),
        (404, "NoSuchObject")
    );
    let source = c.get(&path, "source").await.text();
    assert!(source.contains("<Job>") && source.contains("MAX_PT('demo.sales')"));
    let rec = &emu.instances()[0];
    assert_eq!(rec.settings["odps.sql.read.only"], "true");
}

#[tokio::test]
async fn sql_failures_look_like_the_service() {
    let emu = fixture::start(fixture::config()).await;
    let c = Raw::new(&emu);
    let full = r#"{"odps.sql.allow.fullscan":"false"}"#;
    let (status, msg) = c.query("select id from sales", full).await;
    assert_eq!(status, "Failed");
    assert_eq!(msg, "ODPS-0130071:[0,0] Semantic analysis exception - physical plan generation failed: java.lang.RuntimeException: Table(demo,sales) is full scan with all partitions, please specify partition predicates.");
    // A predicate on the partition key, or on an alias of it, is enough.
    let (status, _) = c
        .query("select s.id from sales s where s.ds = '20240101'", full)
        .await;
    assert_eq!(status, "Success");
    // Pushed down through a derived table (how the gate wraps governed
    // tables), but not when the outer predicate is on another column.
    let (status, _) = c
        .query(
            "select id from (select id, ds from sales) s where s.ds = '20240101'",
            full,
        )
        .await;
    assert_eq!(status, "Success");
    let (status, _) = c
        .query(
            "select id from (select id, ds from sales) s where s.id = 1",
            full,
        )
        .await;
    assert_eq!(status, "Failed");
    // Without the setting the full scan runs.
    assert_eq!(c.query("select id from sales", "{}").await.0, "Success");
    let (status, msg) = c.query("select id from nope", "{}").await;
    assert_eq!(status, "Failed");
    assert!(
        msg.starts_with("ODPS-0130131:[1,16] Table not found"),
        "{msg}"
    );
    let (_, msg) = c.query("select id frm sales", "{}").await;
    assert!(msg.starts_with("ODPS-0130161:"), "{msg}");
    let (_, msg) = c
        .query("select nope(customer_id) from customers", "{}")
        .await;
    assert_eq!(
        msg,
        "ODPS-0130071:[1,1] Semantic analysis exception - function or view 'nope' cannot be resolved"
    );
    // PostgreSQL-only functions do not exist here, as on the service.
    let (_, msg) = c.query("select pg_sleep(1)", "{}").await;
    assert_eq!(
        msg,
        "ODPS-0130071:[1,1] Semantic analysis exception - function or view 'pg_sleep' cannot be resolved"
    );
    let (_, msg) = c.query("select nope from customers", "{}").await;
    assert_eq!(
        msg,
        "ODPS-0130071:[1,1] Semantic analysis exception - column nope cannot be resolved"
    );
    let (_, msg) = c
        .query(
            "insert into customers values (9, 'X')",
            r#"{"odps.sql.read.only":"true"}"#,
        )
        .await;
    assert!(msg.contains("invalid statement in readonly mode"), "{msg}");
    let (_, msg) = c.query("select id from customers order by id", "{}").await;
    assert!(
        msg.contains("ORDER BY must be used with a LIMIT clause"),
        "{msg}"
    );
    let relaxed = r#"{"odps.sql.validate.orderby.limit":"false"}"#;
    assert_eq!(
        c.query(
            "select customer_id from customers order by customer_id",
            relaxed
        )
        .await
        .0,
        "Success"
    );
    // SET statements before the query are settings of this task, over the
    // job's settings JSON (so a gate that lets one through loses control
    // of e.g. the full-scan rule, as on the service).
    let (status, _) = c
        .query(
            "set odps.sql.allow.fullscan=true;\nselect id from sales",
            full,
        )
        .await;
    assert_eq!(status, "Success");
    let (_, msg) = c
        .query(
            "SET odps.sql.allow.fullscan = 'false'; select id from sales",
            "{}",
        )
        .await;
    assert!(msg.contains("is full scan with all partitions"), "{msg}");
    let (_, msg) = c.query("select 1; set a=b", "{}").await;
    assert!(msg.starts_with("ODPS-0130161:"), "{msg}");
    let (_, msg) = c.query("select 1; select 2", "{}").await;
    assert!(msg.starts_with("ODPS-0130161:"), "{msg}");
    // The data did not change.
    let (_, csv) = c.query("select count(*) from customers", "{}").await;
    assert_eq!(csv, "\"_c0\"\n3\n");
}

#[tokio::test]
async fn max_pt_skips_empty_partitions_and_three_part_names_resolve() {
    let emu = fixture::start(fixture::config()).await;
    let c = Raw::new(&emu);
    let (_, csv) = c
        .query(
            "select max_pt('sales') as pt, count(*) as n from sales where ds = max_pt('sales')",
            "{}",
        )
        .await;
    assert_eq!(csv, "\"pt\",\"n\"\n\"20240102\",3\n");
    let (status, csv) = c
        .query(
            "select page from lake.analytics.visits order by visit_id limit 10",
            "{}",
        )
        .await;
    assert_eq!(status, "Success", "{csv}");
    assert_eq!(csv, "\"page\"\n\"/home\"\n\"/cart\"\n");
    let ns = r#"{"odps.namespace.schema":"true","odps.default.schema":"analytics"}"#;
    let id = c
        .call(
            "POST",
            "/api/projects/lake/instances",
            "",
            &format!("<Instance><Job><Tasks><SQL><Name>t</Name><Config><Property><Name>settings</Name><Value>{}</Value></Property></Config><Query>select count(*) from visits</Query></SQL></Tasks></Job></Instance>", quick_xml::escape::escape(ns)),
        )
        .await;
    assert_eq!(id.status, 201);
    let rec = loop {
        let rec = emu.instances().pop().expect("instance");
        if rec.task_status != "Running" {
            break rec;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(rec.task_status, "Success", "{:?}", rec.failure);
}

#[tokio::test]
async fn cost_estimate_is_deterministic_json() {
    let emu = fixture::start(fixture::config()).await;
    let c = Raw::new(&emu);
    let sql = "select id from sales where ds = '20240102'";
    let mut inputs = Vec::new();
    for _ in 0..2 {
        let id = c.submit("SQLCost", sql, "{}").await;
        assert_eq!(c.wait(&id).await, "Success");
        let r = c.result(&id).await;
        assert!(r.text().contains("<Task Type=\"SQLCost\">"));
        let cost: serde_json::Value =
            serde_json::from_str(&r.xml_field("Result")).expect("cost json");
        assert_eq!(cost["Cost"]["SQL"]["UDF"], "0");
        assert_eq!(cost["Cost"]["SQL"]["Complexity"], "1.0");
        inputs.push(
            cost["Cost"]["SQL"]["Input"]
                .as_str()
                .expect("input")
                .to_string(),
        );
    }
    assert_eq!(inputs[0], inputs[1]);
    assert!(inputs[0].parse::<u64>().expect("bytes") > 0);
    // Partition filters bound the estimate; other filters do not.
    let cost = |sql: &'static str| {
        let c = &c;
        async move {
            let id = c.submit("SQLCost", sql, "{}").await;
            assert_eq!(c.wait(&id).await, "Success", "{sql}");
            let json: serde_json::Value =
                serde_json::from_str(&c.result(&id).await.xml_field("Result")).expect("json");
            json["Cost"]["SQL"]["Input"]
                .as_str()
                .expect("input")
                .parse::<u64>()
                .expect("bytes")
        }
    };
    let full = cost("select id from sales").await;
    let p1 = cost("select id from sales where ds = '20240101'").await;
    let p2 = cost("select s.id from sales s where s.ds = max_pt('sales') and s.id > 1").await;
    assert_eq!(p2.to_string(), inputs[0]);
    assert!(p1 > 0 && p2 > p1, "{p1} {p2}");
    assert_eq!(p1 + p2, full);
    let joined = cost(
        "select s.id from sales s join customers c on s.id = c.customer_id where s.ds = '20240101'",
    )
    .await;
    let customers = cost("select customer_id from customers").await;
    assert_eq!(joined, p1 + customers);
    // The full-scan rule applies to estimates too.
    let id = c
        .submit(
            "SQLCost",
            "select id from sales",
            r#"{"odps.sql.allow.fullscan":"false"}"#,
        )
        .await;
    assert_eq!(c.wait(&id).await, "Failed");
}

// ------------------------------------------------------------------ tunnel

#[tokio::test]
async fn tunnel_session_and_record_stream() {
    let emu = fixture::start(fixture::config()).await;
    let c = Raw::new(&emu);
    let r = c
        .get("/api/projects/demo/tunnel", "service&curr_project=demo")
        .await;
    assert_eq!(
        r.text(),
        emu.tunnel_endpoint().trim_start_matches("http://")
    );
    let id = c
        .submit(
            "SQL",
            "select id, name, tiny from sales where ds = '20240102' order by id limit 10",
            "{}",
        )
        .await;
    assert_eq!(c.wait(&id).await, "Success");
    let (r, download_id) = open_session(&c, &id).await;
    let session: serde_json::Value = serde_json::from_slice(&r.body).expect("session");
    assert_eq!(session["Status"], "normal");
    assert_eq!(session["RecordCount"], 3);
    assert_eq!(session["Schema"]["columns"][2]["type"], "tinyint");
    let r = stream(&c, &id, &download_id, "(1,2)").await;
    assert_eq!(r.status, 200);
    let rows = read_stream(&r.body, &['i', 's', 'i']).expect("valid stream");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0][0], (1, 2i64.to_le_bytes().to_vec()));
    assert_eq!(rows[0][1], (2, b"bob".to_vec()));
    assert_eq!(rows[0].len(), 2, "NULL tiny omitted");
    assert_eq!(rows[1][2], (3, (-128i64).to_le_bytes().to_vec()));
    for bad in ["(2,5)", "(1,18446744073709551615)", "(x,1)", "0,1"] {
        let r = stream(&c, &id, &download_id, bad).await;
        assert_eq!(r.error_code(), "InvalidArgument", "{bad}");
    }
    let r = stream(&c, &id, "nope", "(0,1)").await;
    assert_eq!(r.status, 404);
    // Re-opening the session returns the same JSON.
    let path = format!("/projects/demo/instances/{id}");
    let r = c.get(&path, &format!("downloadid={download_id}")).await;
    let again: serde_json::Value = serde_json::from_slice(&r.body).expect("session");
    assert_eq!(again, session);
    // `columns=` narrows the stream to those columns, renumbered.
    let r = c
        .get(
            &path,
            &format!("downloadid={download_id}&rowrange=(0,1)&data=&columns=name"),
        )
        .await;
    let rows = read_stream(&r.body, &['s']).expect("valid stream");
    assert_eq!(rows, [vec![(1, b"alice".to_vec())]]);
}

#[tokio::test]
async fn complex_types_in_schema_session_and_csv() {
    let emu = fixture::start(fixture::config()).await;
    let c = Raw::new(&emu);
    let r = c.get("/api/projects/demo/tables/profiles", "").await;
    let schema: serde_json::Value =
        serde_json::from_str(&r.xml_field("Schema")).expect("schema json");
    assert_eq!(schema["columns"][1]["type"], "map<string,bigint>");
    assert_eq!(schema["columns"][2]["type"], "struct<city:string,zip:int>");
    assert_eq!(
        schema["columns"][3]["type"],
        "array<struct<day:date,score:double>>"
    );
    let id = c
        .submit(
            "SQL",
            "select attrs, info, history from profiles order by id limit 10",
            "{}",
        )
        .await;
    assert_eq!(c.wait(&id).await, "Success");
    let (r, _) = open_session(&c, &id).await;
    let session: serde_json::Value = serde_json::from_slice(&r.body).expect("session");
    assert_eq!(
        session["Schema"]["columns"][1]["type"],
        "struct<city:string,zip:int>"
    );
    let csv = c.result(&id).await.xml_field("Result");
    assert_eq!(
        csv,
        "\"attrs\",\"info\",\"history\"\n\"{a:1,b:null}\",\"{city:Hangzhou,zip:310000}\",\"[{day:2024-01-01,score:1.5},null]\"\n\\N,\"{city:null,zip:1}\",\\N\n"
    );
}

#[tokio::test]
async fn tunnel_timestamps_are_seconds_and_nanos() {
    let emu = fixture::start(fixture::config()).await;
    let c = Raw::new(&emu);
    let id = c
        .submit(
            "SQL",
            "select ts from sales where ds = '20240102' order by id limit 10",
            "{}",
        )
        .await;
    assert_eq!(c.wait(&id).await, "Success");
    let (r, download_id) = open_session(&c, &id).await;
    let session: serde_json::Value = serde_json::from_slice(&r.body).expect("session");
    assert_eq!(session["Schema"]["columns"][0]["type"], "timestamp");
    let r = stream(&c, &id, &download_id, "(0,3)").await;
    let rows = read_stream(&r.body, &['t']).expect("valid stream");
    let ts = |secs: i64, nanos: i32| {
        [secs.to_le_bytes().to_vec(), nanos.to_le_bytes().to_vec()].concat()
    };
    assert_eq!(rows[0], [(1, ts(1_704_164_645, 123_456_000))]);
    assert!(rows[1].is_empty(), "NULL");
    assert_eq!(rows[2], [(1, ts(-1, 500_000_000))]);
    let csv = c.result(&id).await.xml_field("Result");
    assert_eq!(
        csv,
        "\"ts\"\n2024-01-02 03:04:05.123456\n\\N\n1969-12-31 23:59:59.500\n"
    );
}

#[tokio::test]
async fn result_csv_is_capped_at_ten_thousand_rows_but_the_tunnel_is_not() {
    let emu = fixture::start(fixture::config()).await;
    emu.create_table(&TableSpec::new("demo.big").column("n", "bigint", ""))
        .await;
    let values: Vec<String> = (1..=10_001).map(|n| format!("({n})")).collect();
    emu.insert("demo.big", &values.join(",")).await;
    let c = Raw::new(&emu);
    let id = c.submit("SQL", "select n from big", "{}").await;
    assert_eq!(c.wait(&id).await, "Success");
    let csv = c.result(&id).await.xml_field("Result");
    assert_eq!(csv.lines().count(), 1 + 10_000);
    let (r, _) = open_session(&c, &id).await;
    let session: serde_json::Value = serde_json::from_slice(&r.body).expect("session");
    assert_eq!(session["RecordCount"], 10_001);
}

// ------------------------------------------------------------------ faults

#[tokio::test]
async fn fault_server_errors_then_recovery() {
    let emu = fixture::start(fixture::config()).await;
    let c = Raw::new(&emu);
    emu.faults().server_errors("/tables", 2, 503);
    for _ in 0..2 {
        let r = c
            .get("/api/projects/demo/tables", "expectmarker=true")
            .await;
        assert_eq!(
            (r.status, r.error_code().as_str()),
            (503, "ServiceUnavailable")
        );
    }
    let r = c
        .get("/api/projects/demo/tables", "expectmarker=true")
        .await;
    assert_eq!(r.status, 200);
    // Other paths were never affected.
    emu.faults().server_errors("/tables", 1, 500);
    assert_eq!(c.get("/api/projects/demo", "").await.status, 200);
    let r = c.get("/api/projects/demo/tables", "").await;
    assert_eq!(r.error_code(), "InternalServerError");
}

#[tokio::test]
async fn fault_qps_exceeded() {
    let emu = fixture::start(fixture::config()).await;
    let c = Raw::new(&emu);
    emu.faults().qps_exceeded("/instances", 1);
    let r = c
        .call("POST", "/api/projects/demo/instances", "", "<Instance/>")
        .await;
    assert_eq!((r.status, r.error_code().as_str()), (429, "QPSExceeded"));
    assert!(emu.instances().is_empty());
}

#[tokio::test]
async fn fault_slow_responses() {
    let emu = fixture::start(fixture::config()).await;
    let c = Raw::new(&emu);
    emu.faults()
        .delay("/api/projects/demo", Duration::from_millis(300));
    let t = Instant::now();
    assert_eq!(c.get("/api/projects/demo", "").await.status, 200);
    assert!(t.elapsed() >= Duration::from_millis(300));
    emu.faults().clear();
    let t = Instant::now();
    assert_eq!(c.get("/api/projects/demo", "").await.status, 200);
    assert!(t.elapsed() < Duration::from_millis(300));
}

#[tokio::test]
async fn fault_truncated_and_corrupted_streams() {
    let emu = fixture::start(fixture::config()).await;
    let c = Raw::new(&emu);
    let id = c
        .submit("SQL", "select customer_id from customers", "{}")
        .await;
    assert_eq!(c.wait(&id).await, "Success");
    let (_, download_id) = open_session(&c, &id).await;
    let good = stream(&c, &id, &download_id, "(0,3)").await;
    assert_eq!(read_stream(&good.body, &['i']).expect("ok").len(), 3);
    emu.faults().truncate_tunnel(true);
    let cut = stream(&c, &id, &download_id, "(0,3)").await;
    assert_eq!(cut.body.len(), good.body.len() / 2);
    assert_eq!(
        read_stream(&cut.body, &['i']).expect_err("cut"),
        "truncated"
    );
    emu.faults().clear();
    emu.faults().corrupt_tunnel_crc(true);
    let bad = stream(&c, &id, &download_id, "(0,3)").await;
    assert_eq!(read_stream(&bad.body, &['i']).expect_err("crc"), "checksum");
    emu.faults().clear();
    emu.faults().refuse_tunnel_downloads(true);
    let (r, _) = open_session(&c, &id).await;
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (400, "InvalidArgument")
    );
}

#[tokio::test]
async fn fault_hanging_instance_is_terminated() {
    let emu = fixture::start(fixture::config()).await;
    let c = Raw::new(&emu);
    emu.faults().hang_instances(true);
    let id = c.submit("SQL", "select 1", "{}").await;
    let path = format!("/api/projects/demo/instances/{id}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        c.get(&path, "instancestatus").await.xml_field("Status"),
        "Running"
    );
    let r = c
        .call(
            "PUT",
            &path,
            "",
            "<?xml version=\"1.0\"?><Instance><Status>Running</Status></Instance>",
        )
        .await;
    assert_eq!(r.error_code(), "InvalidStateSetting");
    let r = c
        .call(
            "PUT",
            &path,
            "",
            "<?xml version=\"1.0\"?><Instance><Status>Terminated</Status></Instance>",
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(c.wait(&id).await, "Cancelled");
    let rec = &emu.instances()[0];
    assert!(rec.terminate_requested);
    assert_eq!(rec.status, "Terminated");
    let (r, _) = open_session(&c, &id).await;
    assert_eq!(r.error_code(), "InvalidArgument");
}

#[tokio::test]
async fn fault_failing_task() {
    let emu = fixture::start(fixture::config()).await;
    let c = Raw::new(&emu);
    emu.faults()
        .fail_next_task("ODPS-0130013:Authorization exception - injected");
    let (status, msg) = c.query("select 1", "{}").await;
    assert_eq!(status, "Failed");
    assert_eq!(msg, "ODPS-0130013:Authorization exception - injected");
    assert_eq!(
        c.query("select 1", "{}").await.0,
        "Success",
        "only the next one"
    );
}

// -------------------------------------------------------------- signatures

#[tokio::test]
async fn signature_refusals_and_skew() {
    let emu = fixture::start(fixture::config()).await;
    let mut c = Raw::new(&emu);
    c.sk = "wrong".into();
    let r = c.get("/api/projects/demo", "").await;
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (401, "SignatureNotMatch")
    );
    assert!(r.xml_field("Message").starts_with("ODPS-0410042"));
    // The tunnel plane checks too.
    let r = c.get("/projects/demo/instances/x", "downloadid=y").await;
    assert_eq!(r.error_code(), "SignatureNotMatch");
    c.sk = fixture::SK.into();
    c.ak = "nobody".into();
    assert_eq!(
        c.get("/api/projects/demo", "").await.error_code(),
        "InvalidParameter"
    );
    c.ak = fixture::AK.into();
    c.date = Some(
        (chrono::Utc::now() - chrono::Duration::minutes(16))
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string(),
    );
    let r = c.get("/api/projects/demo", "").await;
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (403, "RequestTimeTooSkewd")
    );
    assert!(r.xml_field("Message").starts_with("ODPS-0410031"));
    c.date = Some(
        (chrono::Utc::now() - chrono::Duration::minutes(14))
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string(),
    );
    assert_eq!(c.get("/api/projects/demo", "").await.status, 200);
    // No Authorization header at all.
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let r = http
        .get(format!("{}/projects/demo", emu.endpoint()))
        .header(
            "date",
            chrono::Utc::now()
                .format("%a, %d %b %Y %H:%M:%S GMT")
                .to_string(),
        )
        .send()
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 401);
    assert!(r
        .text()
        .await
        .expect("body")
        .contains("<Code>AuthorizationRequired</Code>"));
}

#[tokio::test]
async fn v4_signatures_and_sts_tokens() {
    let emu = fixture::start(fixture::config()).await;
    let mut c = Raw::new(&emu);
    c.v4_region = Some("cn-hangzhou".into());
    assert_eq!(
        c.get("/api/projects/demo", "curr_project=demo")
            .await
            .status,
        200
    );
    c.v4_region = Some("cn-shanghai".into());
    assert_eq!(
        c.get("/api/projects/demo", "").await.error_code(),
        "SignatureNotMatch"
    );
    c.v4_region = None;
    c.ak = fixture::STS_AK.into();
    c.sk = fixture::STS_SK.into();
    assert_eq!(
        c.get("/api/projects/demo", "").await.error_code(),
        "Unauthorized"
    );
    c.token = Some("forged".into());
    assert_eq!(
        c.get("/api/projects/demo", "").await.error_code(),
        "Unauthorized"
    );
    c.token = Some(fixture::STS_TOKEN.into());
    assert_eq!(c.get("/api/projects/demo", "").await.status, 200);
}
