use serde_json::Value;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use super::*;
use crate::guard::canonical::canonicalize;

fn parse(sql: &str) -> Query {
    let mut parser = Parser::new(&PostgreSqlDialect {})
        .try_with_sql(sql)
        .unwrap();
    *parser.parse_query().unwrap()
}

/// Policy's security switches with `allowed_operators`.
fn security(allowed_operators: &[&str]) -> EffectiveSecurity {
    EffectiveSecurity {
        ban_select_star: true,
        deny_unapproved_join: true,
        max_join_tables: 8,
        allowed_operators: allowed_operators.iter().map(|s| s.to_string()).collect(),
    }
}

/// The re-check with no operators allowed beyond the built-ins.
fn verify(checked: &Query, sql: &str) -> Result<(), ToolError> {
    super::verify(checked, sql, &security(&[]))
}

#[test]
fn an_operator_policy_allows_is_read_as_allowed_and_no_other() {
    let allowed = security(&["ext.<->", "ext.&&"]);
    for sent in [
        "SELECT a OPERATOR(ext.<->) a FROM t",
        "SELECT a FROM t WHERE a OPERATOR(ext.&&) a",
        "SELECT a FROM t ORDER BY a OPERATOR(ext.<->) a",
    ] {
        super::verify(&parse(sent), sent, &allowed).unwrap();
    }
    for (allows, sent) in [
        (
            &["ext.<->", "ext.&&"][..],
            "SELECT a OPERATOR(public.<->) a FROM t",
        ),
        (&["ext.<->", "ext.&&"], "SELECT a OPERATOR(ext.<) a FROM t"),
        (
            &["ext.<->", "ext.&&"],
            "SELECT a FROM t ORDER BY a USING OPERATOR(ext.<)",
        ),
        (&["ext.&&"], "SELECT a OPERATOR(ext.<->) a FROM t"),
        (&[], "SELECT a FROM t WHERE a OPERATOR(ext.&&) a"),
    ] {
        let refused = super::verify(&parse(sent), sent, &security(allows)).unwrap_err();
        assert_eq!(refused.code, ErrorCode::GateMismatch, "{sent}");
    }
}

/// Layer 2 on its own: the review's reproducers, printed the way
/// sqlparser prints them (no canonical pass), are caught because
/// PostgreSQL reads other columns and relations than the gate did.
#[test]
fn the_reproducers_printed_by_sqlparser_are_mismatches() {
    for sql in [
        r#"SELECT name AS "a\"", phone FROM public.customers --" FROM customers"#,
        "SELECT name, X'00'' AS a, phone FROM public.customers --' AS h FROM customers",
    ] {
        let checked = parse(sql);
        let printed = checked.to_string();
        let refused = verify(&checked, &printed).unwrap_err();
        assert_eq!(refused.code, ErrorCode::GateMismatch, "{printed}");
        assert!(refused.internal.unwrap().contains("phone"), "{printed}");
        assert!(!refused.message.contains("phone"));
    }
}

/// Layer 1 on its own: libpg_query reads strings with
/// `standard_conforming_strings` on, so `'x\'` looks harmless to it; a
/// server with the setting off would read the quote as escaped. Only
/// the canonical spelling (an escape string) makes it mean one thing.
#[test]
fn only_the_canonical_spelling_settles_backslashes() {
    let sql = r"SELECT name FROM customers WHERE name = 'x\' OR true --'";
    let mut checked = parse(sql);
    verify(&checked, &checked.to_string()).unwrap();
    canonicalize(Flavor::Postgres, &mut checked).unwrap();
    let canonical = checked.to_string();
    assert!(canonical.contains(r"name = E'x\\'"), "{canonical}");
    verify(&checked, &canonical).unwrap();
}

#[test]
fn functions_operators_and_types_outside_the_lists_are_refused() {
    for (checked, sent) in [
        ("SELECT a FROM t", "SELECT pg_read_file('x') FROM t"),
        (
            "SELECT a FROM t",
            "SELECT a FROM t ORDER BY a USING OPERATOR(public.<)",
        ),
        ("SELECT a FROM t", "SELECT a OPERATOR(s.+) 1 FROM t"),
        ("SELECT a FROM t", "SELECT 'pg_authid'::regclass FROM t"),
        ("SELECT a FROM t", "SELECT a::public.mydomain FROM t"),
        ("SELECT a FROM t", "SELECT a FROM t FOR UPDATE"),
        ("SELECT a FROM t", "SELECT a FROM t TABLESAMPLE evil (1)"),
        ("SELECT a FROM t", "SELECT a INTO x FROM t"),
        ("SELECT a FROM t", "SELECT a FROM t; SELECT 1"),
        (
            "SELECT a FROM t",
            "WITH d AS (DELETE FROM t RETURNING a) SELECT a FROM d",
        ),
        ("SELECT a FROM t", "SELECT a FROM t, t"),
        ("SELECT a FROM t", "SELECT t FROM t"),
    ] {
        let refused = verify(&parse(checked), sent).unwrap_err();
        assert_eq!(refused.code, ErrorCode::GateMismatch, "{sent}");
    }
    verify(
        &parse("SELECT extract(year FROM a), trim(b), a FROM t"),
        "SELECT extract(year FROM a), trim(b), a FROM t",
    )
    .unwrap();
}

/// Legitimate analytics the gate accepts must read the same to
/// PostgreSQL: no false `GATE_MISMATCH` from the re-check itself.
#[test]
fn analytics_syntax_reads_the_same() {
    let mut failures = Vec::new();
    for sql in [
        "SELECT a FROM t WHERE b LIKE 'x!%' ESCAPE '!'",
        "SELECT a FROM t WHERE b NOT ILIKE '%x%'",
        "SELECT a FROM t WHERE b SIMILAR TO 'x%'",
        "SELECT a AT TIME ZONE 'UTC' FROM t",
        "SELECT (a, b) OVERLAPS (c, d) FROM t",
        "SELECT current_date, current_timestamp, localtimestamp FROM t",
        "SELECT a + INTERVAL '1 day', a - interval '2' hour FROM t",
        "SELECT b[1], b[1:2] FROM t",
        "SELECT a FROM t WHERE a = ANY (ARRAY[1, 2, 3])",
        "SELECT a FROM t WHERE a <> ALL (ARRAY[1, 2])",
        "SELECT count(*) FILTER (WHERE a > 1) FROM t",
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY a) FROM t",
        "SELECT a, b, count(*) FROM t GROUP BY GROUPING SETS ((a), (b), ())",
        "SELECT a, sum(b) FROM t GROUP BY ROLLUP (a)",
        "SELECT DISTINCT ON (a) a, b FROM t ORDER BY a, b DESC NULLS LAST",
        "SELECT a, sum(b) OVER (PARTITION BY a ORDER BY c ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) FROM t",
        "SELECT a FROM t WHERE b IS DISTINCT FROM c AND d IS NOT NULL AND e BETWEEN 1 AND 2",
        "SELECT CASE WHEN a > 1 THEN 'x' ELSE 'y' END, coalesce(a, 0), nullif(a, 0), greatest(a, b) FROM t",
        "SELECT CAST(a AS numeric(10, 2)), a::text, a::pg_catalog.numeric FROM t",
        "SELECT extract(epoch FROM a), date_part('year', a) FROM t",
        "SELECT substring(a FROM 1 FOR 2), position('x' IN a), trim(BOTH 'x' FROM a), overlay(a PLACING 'x' FROM 1) FROM t",
        "SELECT x.a FROM t AS x JOIN u USING (a) LEFT JOIN v ON v.b = x.b",
        "SELECT a FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.a = t.a) AND a IN (SELECT a FROM v)",
        "WITH c AS (SELECT a FROM t) SELECT a FROM c UNION ALL SELECT a FROM t EXCEPT SELECT a FROM u",
        "SELECT s.a FROM t, LATERAL (SELECT t.a) AS s",
        "SELECT g FROM generate_series(1, 3) AS g",
        "SELECT a COLLATE \"C\" FROM t ORDER BY a COLLATE \"C\"",
        "SELECT a FROM t ORDER BY a USING <",
        "SELECT count(DISTINCT a), string_agg(b, ',' ORDER BY b) FROM t",
        "SELECT a FROM t WHERE a ~ '^x' AND b !~* 'y' AND c @> ARRAY[1] AND d->>'k' = 'v'",
        "SELECT -(-1), - a, NOT true FROM t",
        "SELECT DATE '2024-01-01', TIMESTAMP '2024-01-01 00:00:00' FROM t",
        "SELECT a FROM t LIMIT 10 OFFSET 5",
        "SELECT a FROM t FETCH FIRST 3 ROWS ONLY",
        "SELECT a FROM t TABLESAMPLE BERNOULLI (10) REPEATABLE (1)",
        "SELECT ROW(a, b), (a, b) FROM t",
    ] {
        let mut checked = parse(sql);
        if let Err(e) = canonicalize(Flavor::Postgres, &mut checked) {
            failures.push(format!("{sql}\ncanonical: {}", e.message));
            continue;
        }
        let printed = checked.to_string();
        if let Err(e) = verify(&checked, &printed) {
            failures.push(format!(
                "{sql}\nprinted {printed}\n{}: {:?} {:?}",
                e.code, e.internal, e.untrusted_detail
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The walk as it was before it kept only what the checks read: over the
/// whole tree, each entry checked before everything inside it.
fn whole_tree_walk(walk: &mut Walk<'_>, tree: &Tree<'_>) -> Result<(), ToolError> {
    match tree {
        Tree::Object(entries) => {
            for (key, inner) in entries {
                walk.node(key, inner)?;
                whole_tree_walk(walk, inner)?;
            }
        }
        Tree::List(items) => {
            for item in items {
                whole_tree_walk(walk, item)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Texts that trip each check of the walk.
const TRIPPING: &[&str] = &[
    "SELECT a INTO x FROM t",
    "SELECT a FROM t FOR UPDATE",
    "SELECT a FROM t FOR KEY SHARE",
    "SELECT a FROM t TABLESAMPLE evil (1)",
    "SELECT a FROM t TABLESAMPLE system (1)",
    "SELECT 'pg_authid'::regclass FROM t",
    "SELECT a::public.mydomain, b::pg_catalog.int4, c::int[] FROM t",
    "SELECT CAST(a AS regtype) FROM t",
    "SELECT a FROM t ORDER BY a USING OPERATOR(public.<)",
    "SELECT a OPERATOR(s.+) 1, a OPERATOR(pg_catalog.+) 1 FROM t",
    "SELECT a FROM t WHERE a = ANY (SELECT b FROM u) AND a < ALL (SELECT b FROM u)",
    "SELECT a FROM t WHERE a OPERATOR(public.=) ANY (SELECT b FROM u)",
    "SELECT a FROM t WHERE a BETWEEN SYMMETRIC 1 AND 2",
    "SELECT pg_read_file('x'), public.lower(a), pg_catalog.lower(a) FROM t",
    "WITH d AS (DELETE FROM t RETURNING a) SELECT a FROM d",
    "SELECT a FROM t NATURAL JOIN u JOIN v USING (a, b)",
    "SELECT current_user, session_user, current_date FROM t",
    "SELECT xmlelement(name x, a), json_object('k': a) FROM t",
    "SELECT x.* , t, \"T\".\"A\", cat.s.t.a FROM cat.s.t AS x",
    "SELECT a FROM ROWS FROM (generate_series(1, 2)) AS g(a)",
    "SELECT a FROM XMLTABLE('/x' PASSING '<x/>' COLUMNS a int) AS x",
];

/// Keeping only the fields [`Inspector::reads`] names changes nothing:
/// on every corpus text and on texts that trip each check, the walk
/// refuses what the walk over the whole tree refuses, and otherwise finds
/// the same facts. (A check that read a field its `reads` entry leaves out
/// would see it missing here and differ.)
#[test]
fn keeping_only_what_the_checks_read_changes_no_verdict() {
    let tripping = TRIPPING;
    let corpus = crate::guard::verify::tree::tests::corpus();
    let allowed = security(&["ext.<->"]);
    let (mut same_facts, mut refused) = (0, 0);
    for text in tripping.iter().map(|s| s.to_string()).chain(corpus) {
        let Ok(json) = pg_grammar::parse_json(&text) else {
            continue;
        };
        let mut kept = Walk {
            facts: Facts::default(),
            security: &allowed,
        };
        let kept_verdict = tree::statements(&json, &mut kept, MAX_DEPTH);
        let mut whole = Walk {
            facts: Facts::default(),
            security: &allowed,
        };
        let whole_verdict = whole_tree_walk(&mut whole, &Tree::of(&json).unwrap());
        match (kept_verdict, whole_verdict) {
            (Ok(_), Ok(())) => {
                assert_eq!(kept.facts, whole.facts, "{text}");
                same_facts += 1;
            }
            (Err(Stop::Refused(a)), Err(b)) => {
                assert_eq!(a.code, b.code, "{text}");
                refused += 1;
            }
            (kept, whole) => panic!("{text}\nkept: {kept:?}\nwhole: {whole:?}"),
        }
    }
    assert!(
        same_facts > 200 && refused > 20,
        "{same_facts} read alike, {refused} refused"
    );
}

/// How one printing of the tree spells what the checks read.
struct Spelling {
    into: &'static str,
    natural: &'static str,
    using: &'static str,
    use_op: &'static str,
    oper_name: &'static str,
    /// An enum field's name for its value.
    enum_name: fn(&'static str, &Value) -> String,
    /// An item of a name list: `String`'s text or `*`.
    name: fn(&Value) -> String,
}

/// libpg_query's JSON, which the walk reads.
const JSON: Spelling = Spelling {
    into: "intoClause",
    natural: "isNatural",
    using: "usingClause",
    use_op: "useOp",
    oper_name: "operName",
    enum_name: |_, value| value.as_str().unwrap_or("<absent>").to_string(),
    name: |item| match (item.get("String"), item.get("A_Star")) {
        (Some(string), _) => string["sval"].as_str().unwrap_or_default().to_string(),
        (None, Some(_)) => "*".to_string(),
        _ => format!("<{item}>"),
    },
};

/// The protobuf printing, decoded by prost, as serde sees it.
const PROTOBUF: Spelling = Spelling {
    into: "into_clause",
    natural: "is_natural",
    using: "using_clause",
    use_op: "use_op",
    oper_name: "oper_name",
    enum_name: |kind, value| {
        use pg_query::protobuf::{AExprKind, CoercionForm, SqlValueFunctionOp};
        let n = value
            .as_i64()
            .and_then(|n| i32::try_from(n).ok())
            .unwrap_or(-1);
        let name = match kind {
            "kind" => AExprKind::try_from(n).map(|k| k.as_str_name()),
            "funcformat" => CoercionForm::try_from(n).map(|k| k.as_str_name()),
            _ => SqlValueFunctionOp::try_from(n).map(|k| k.as_str_name()),
        };
        name.unwrap_or("<unknown>").to_string()
    },
    name: |item| {
        let node = &item["node"];
        match (node.get("String"), node.get("AStar")) {
            (Some(string), _) => string["sval"].as_str().unwrap_or_default().to_string(),
            (None, Some(_)) => "*".to_string(),
            _ => format!("<{item}>"),
        }
    },
};

/// A node type's name without case or underscores (`A_Expr` and `AExpr`,
/// `SQLValueFunction` and `SqlvalueFunction` alike).
fn plain(kind: &str) -> String {
    kind.replace('_', "").to_lowercase()
}

/// Everything the checks read, in one spelling: every node by type, and
/// what each check reads of its nodes.
fn observe(value: &Value, spelling: &Spelling, out: &mut Vec<String>) {
    let names = |list: &Value| -> String {
        list.as_array()
            .map(|items| {
                items
                    .iter()
                    .map(spelling.name)
                    .collect::<Vec<_>>()
                    .join(".")
            })
            .unwrap_or_default()
    };
    let text = |node: &Value, field: &str| node[field].as_str().unwrap_or_default().to_string();
    let flag = |node: &Value, field: &str| node[field].as_bool().unwrap_or(false);
    match value {
        Value::Array(items) => items.iter().for_each(|item| observe(item, spelling, out)),
        Value::Object(entries) => {
            for (key, node) in entries {
                let kind = plain(key);
                // Node types start with a capital; so do the variants of
                // `A_Const`'s value in the protobuf printing, which the
                // JSON prints as fields.
                let is_node = key.starts_with(char::is_uppercase)
                    && !["ival", "fval", "sval", "boolval", "bsval"].contains(&kind.as_str());
                if is_node {
                    out.push(format!("node {kind}"));
                }
                match kind.as_str() {
                    "rangevar" => {
                        let parts = ["catalogname", "schemaname", "relname"]
                            .iter()
                            .map(|f| text(node, f))
                            .filter(|p| !p.is_empty())
                            .collect::<Vec<_>>();
                        out.push(format!("relation {}", parts.join(".")));
                    }
                    "columnref" => out.push(format!("column {}", names(&node["fields"]))),
                    "joinexpr" => {
                        if flag(node, spelling.natural) {
                            out.push("natural".into());
                        }
                        out.push(format!("using {}", names(&node[spelling.using])));
                    }
                    "funccall" => out.push(format!(
                        "function {} {}",
                        names(&node["funcname"]),
                        (spelling.enum_name)("funcformat", &node["funcformat"])
                    )),
                    "aexpr" => out.push(format!(
                        "operator {} {}",
                        names(&node["name"]),
                        (spelling.enum_name)("kind", &node["kind"])
                    )),
                    "sortby" => out.push(format!("sort by {}", names(&node[spelling.use_op]))),
                    "sublink" => out.push(format!("sublink {}", names(&node[spelling.oper_name]))),
                    "typename" => out.push(format!(
                        "type {} {} {}",
                        names(&node["names"]),
                        flag(node, "setof"),
                        flag(node, "pct_type")
                    )),
                    "sqlvaluefunction" => out.push(format!(
                        "value function {}",
                        (spelling.enum_name)("op", &node["op"])
                    )),
                    "rangetablesample" => out.push(format!("sample {}", names(&node["method"]))),
                    "selectstmt" if node.get(spelling.into).is_some_and(|v| !v.is_null()) => {
                        out.push("into".into())
                    }
                    _ => {}
                }
                observe(node, spelling, out);
            }
        }
        _ => {}
    }
}

/// The JSON the walk reads says what the protobuf printing says: on every
/// corpus text and every tripping text, both printings hold the same
/// nodes, and every relation, column, join column, function, operator,
/// type, SQL value function, sampling method and `INTO` the checks read,
/// under the names the walk looks for. The protobuf side goes through
/// `pg_query::parse` (upb's encoder, prost's decoder), so this is a
/// second reading of the same parse, not the walk's own.
#[test]
fn the_json_says_what_the_protobuf_says() {
    let (mut compared, mut checks) = (0, 0);
    let texts = TRIPPING.iter().map(|s| s.to_string());
    for text in texts.chain(crate::guard::verify::tree::tests::corpus()) {
        let Ok(parsed) = pg_query::parse(&text, 0) else {
            assert!(pg_grammar::parse_json(&text).is_err(), "{text}");
            continue;
        };
        let json: Value = serde_json::from_str(&pg_grammar::parse_json(&text).unwrap()).unwrap();
        let protobuf = serde_json::to_value(&parsed.protobuf).unwrap();
        let (mut from_json, mut from_protobuf) = (Vec::new(), Vec::new());
        observe(&json, &JSON, &mut from_json);
        observe(&protobuf, &PROTOBUF, &mut from_protobuf);
        from_json.sort();
        from_protobuf.sort();
        assert_eq!(from_json, from_protobuf, "{text}");
        compared += 1;
        checks += from_json.iter().filter(|o| !o.starts_with("node ")).count();
    }
    assert!(
        compared > 500 && checks > 5_000,
        "{compared} texts, {checks} checked readings"
    );
}
