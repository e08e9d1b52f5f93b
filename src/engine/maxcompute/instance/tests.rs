use super::*;
use crate::guard::CheckedQuery;

#[test]
fn settings_are_forced_over_the_connection() {
    let mut connection = BTreeMap::new();
    connection.insert("odps.sql.read.only".to_owned(), "false".to_owned());
    connection.insert("odps.sql.allow.fullscan".to_owned(), "true".to_owned());
    connection.insert("odps.task.wlm.quota".to_owned(), "q1".to_owned());
    let settings = job_settings(&connection, Some("analytics"), true);
    assert_eq!(settings["odps.sql.read.only"], "true");
    assert_eq!(settings["odps.sql.allow.fullscan"], "false");
    assert_eq!(settings["odps.task.wlm.quota"], "q1");
    assert_eq!(settings["odps.default.schema"], "analytics");
    assert_eq!(settings["odps.namespace.schema"], "true");
    assert_eq!(settings["odps.sql.allow.namespace.schema"], "true");
    let plain = job_settings(&BTreeMap::new(), None, false);
    assert_eq!(plain.len(), 2, "{plain:?}");
}

#[test]
fn job_xml_escapes_the_query_and_settings() {
    let settings = job_settings(&BTreeMap::new(), None, false);
    let checked = |sql| CheckedQuery::for_engine_tests(sql, 1, 1, 1, Duration::from_secs(1));
    let quoted = checked("SELECT '<]]>&' AS x FROM t LIMIT 2;");
    let xml = job_xml(TaskKind::Sql, &JobSql::checked(&quoted), &settings);
    assert!(xml.contains("<SQL><Name>AnonymousSQLTask</Name>"));
    assert!(xml.contains("<Query>SELECT &apos;&lt;]]&gt;&amp;&apos; AS x FROM t LIMIT 2;</Query>"));
    assert!(xml.contains("&quot;odps.sql.read.only&quot;:&quot;true&quot;"));
    let one = checked("SELECT 1");
    let cost = job_xml(TaskKind::SqlCost, &JobSql::checked(&one), &settings);
    assert!(cost.contains("<SQLCost><Name>AnonymousSQLCostTask</Name>"));
    assert!(cost.contains("<Query>SELECT 1;</Query>"));
}

#[test]
fn parses_status_and_failure() {
    let running = parse_state("<Instance><Status>Running</Status></Instance>").unwrap();
    assert!(!running.terminated());
    let done = parse_state(r#"<Instance><Status>Terminated</Status><Tasks><Task Type="SQL"><Name>AnonymousSQLTask</Name><Status>Success</Status></Task></Tasks></Instance>"#).unwrap();
    assert!(done.terminated() && !done.failed());
    let failed = parse_state(r#"<Instance><Status>Terminated</Status><Tasks><Task Type="SQL"><Name>AnonymousSQLTask</Name><Status>Failed</Status></Task></Tasks></Instance>"#).unwrap();
    assert!(failed.failed());
}

#[test]
fn parses_results_with_status_and_descriptor() {
    let csv = first_task(r#"<Instance><Tasks><Task Type="SQL"><Name>AnonymousSQLTask</Name><Result Format="csv"><![CDATA["id"
1
]]></Result><Status>Success</Status></Task></Tasks></Instance>"#).unwrap().unwrap();
    assert_eq!(csv.status, "Success");
    let result = csv.result.clone().unwrap();
    assert_eq!(result.format, "csv");
    assert!(!result.base64);
    assert_eq!(result.text, "\"id\"\n1\n");
    assert_eq!(csv.descriptor, None);
    let b64 = first_task(r#"<Instance><Tasks><Task><Result Format="text" Transform="Base64">aGk=</Result><Status>Failed</Status></Task></Tasks></Instance>"#).unwrap().unwrap();
    assert!(b64.result.as_ref().unwrap().base64);
    let failed = b64.succeeded("i1").unwrap_err();
    assert!(matches!(failed, McError::TaskFailed { ref message, .. } if message == "aGk="));
    assert_eq!(first_task("<Instance><Tasks/></Instance>").unwrap(), None);
    let maxqa = first_task(r#"<Instance><Status>Terminated</Status><Tasks><Task Type="SQL"><Name>q</Name><Status>Success</Status><ResultDescriptor>{"IsSelect":true,"SelectResultStatus":"FULL"}</ResultDescriptor><Result Format="csv">"c"
1
</Result></Task></Tasks></Instance>"#).unwrap().unwrap();
    assert_eq!(
        maxqa.descriptor.as_deref(),
        Some(r#"{"IsSelect":true,"SelectResultStatus":"FULL"}"#)
    );
}

#[test]
fn parses_cost() {
    let cost =
        parse_cost(r#"{"Cost": {"SQL": {"Input": "1840", "UDF": "0", "Complexity": "1.5"}}}"#)
            .unwrap();
    assert_eq!(
        cost,
        SqlCost {
            input_bytes: 1840,
            complexity: 1.5,
            udf: 0
        }
    );
    let numeric = parse_cost(r#"{"Cost":{"SQL":{"Input":10}}}"#).unwrap();
    assert_eq!(numeric.complexity, 1.0);
    assert!(parse_cost(r#"{"Cost":{"SQL":{"Input":"n/a"}}}"#).is_err());
    assert!(parse_cost("ODPS-0130161: parse error").is_err());
}
