//! The gate under arbitrary text: for each fixed source (the gate test
//! policy's PostgreSQL `shop` and MaxCompute `dw`, and the TPC-H policy's
//! `tpch`), `prepare` + `check` must not panic, and when a query is
//! accepted:
//!
//! 1. its rendering parses again, as exactly one statement, in the dialect;
//! 2. the gate accepts its own rendering; when the first pass rewrote
//!    nothing (no row policy, column rule or injected partition) the second
//!    rendering is identical (a rewrite would wrap the table again, by
//!    design);
//! 3. the re-parsed rendering reads no table the policy does not allow and
//!    names no denied column (checked on the AST, not the text);
//! 4. on PostgreSQL, the same holds for the rendering as PostgreSQL's own
//!    parser (libpg_query) reads it: the differential check that sees
//!    texts sqlparser and the server lex differently.

use std::collections::BTreeSet;
use std::ops::ControlFlow;

use sqlparser::ast::{
    Expr, Query, SelectItem, SetExpr, Statement, TableAlias, TableFactor, Visit, Visitor,
};
use sqlparser::parser::Parser;

use crate::config::{Config, ConnectionsFile, JoinsFile, PolicyFile};
use crate::guard::{Flavor, Gate, TableFacts};
use crate::policy::{Policy, SourceRules};

/// Pieces with every awkward character the two lexers may disagree on,
/// for [`GateHarness::check_fragments`].
const FRAGMENTS: &[&str] = &[
    "SELECT ",
    "name",
    "phone",
    "email",
    " FROM ",
    "customers",
    "public.customers",
    "orders",
    " WHERE ",
    " AS ",
    ", ",
    "(",
    ")",
    " = ",
    "'",
    "''",
    "\"",
    "\"\"",
    "\\",
    "\\'",
    "\\\"",
    "E'",
    "e'",
    "X'",
    "x'",
    "B'",
    "b'",
    "N'",
    "U&'",
    "U&\"",
    " UESCAPE '!'",
    "$$",
    "$t$",
    "$1",
    "--",
    "\n",
    "/*",
    "*/",
    "/* /* */",
    ";",
    "`",
    "0F",
    "01",
    "a",
    "é",
    "\u{200b}",
    "\u{2028}",
    " LIMIT 5",
    " ORDER BY ",
    "lower(",
    "pg_read_file(",
    "::",
    "text",
    "regclass",
    " OR ",
    "(SELECT entry FROM audit_log)",
    " UNION SELECT ",
    "*",
    "\t",
    "\r",
    "\u{0}",
    "ＳＥＬＥＣＴ",
];

/// The real columns of the gate fixture tables (tests/fixtures/gate/schema.sql),
/// plus MaxCompute tables with denied columns of their own.
const SHOP_COLUMNS: &[(&str, &[&str])] = &[
    ("public.regions", &["region_code", "region_name", "manager"]),
    (
        "public.customers",
        &[
            "customer_id",
            "name",
            "region_code",
            "segment",
            "phone",
            "address",
            "email",
            "created_at",
            "Customer_Phone",
            "Loyalty Tier",
        ],
    ),
    (
        "public.products",
        &["product_id", "name", "category", "price"],
    ),
    (
        "public.orders",
        &[
            "order_id",
            "customer_id",
            "product_id",
            "region_code",
            "amount",
            "status",
            "created_at",
            "note",
        ],
    ),
    (
        "public.events",
        &["event_id", "pt", "customer_id", "kind", "payload"],
    ),
];

const DW_COLUMNS: &[(&str, &[&str])] = &[
    (
        "saky_dw.ods_orders_df",
        &[
            "order_code",
            "product_code",
            "sales_amount",
            "cost_amount",
            "buyer_phone",
            "pt",
        ],
    ),
    (
        "saky_dw.dim_product",
        &["product_code", "product_name", "category"],
    ),
    ("other_proj.mixed.table_x", &["id", "label"]),
];

/// The TPC-H tables (tests/fixtures/tpch/schema.sql).
const TPCH_COLUMNS: &[(&str, &[&str])] = &[
    ("public.region", &["r_regionkey", "r_name", "r_comment"]),
    (
        "public.nation",
        &["n_nationkey", "n_name", "n_regionkey", "n_comment"],
    ),
    (
        "public.part",
        &[
            "p_partkey",
            "p_name",
            "p_mfgr",
            "p_brand",
            "p_type",
            "p_size",
            "p_container",
            "p_retailprice",
            "p_comment",
        ],
    ),
    (
        "public.supplier",
        &[
            "s_suppkey",
            "s_name",
            "s_address",
            "s_nationkey",
            "s_phone",
            "s_acctbal",
            "s_comment",
        ],
    ),
    (
        "public.partsupp",
        &[
            "ps_partkey",
            "ps_suppkey",
            "ps_availqty",
            "ps_supplycost",
            "ps_comment",
        ],
    ),
    (
        "public.customer",
        &[
            "c_custkey",
            "c_name",
            "c_address",
            "c_nationkey",
            "c_phone",
            "c_acctbal",
            "c_mktsegment",
            "c_comment",
        ],
    ),
    (
        "public.orders",
        &[
            "o_orderkey",
            "o_custkey",
            "o_orderstatus",
            "o_totalprice",
            "o_orderdate",
            "o_orderpriority",
            "o_clerk",
            "o_shippriority",
            "o_comment",
        ],
    ),
    (
        "public.lineitem",
        &[
            "l_orderkey",
            "l_partkey",
            "l_suppkey",
            "l_linenumber",
            "l_quantity",
            "l_extendedprice",
            "l_discount",
            "l_tax",
            "l_returnflag",
            "l_linestatus",
            "l_shipdate",
            "l_commitdate",
            "l_receiptdate",
            "l_shipinstruct",
            "l_shipmode",
            "l_comment",
        ],
    ),
];

/// The fixed policies and table facts the gate is fuzzed against.
pub struct GateHarness {
    shop: Policy,
    tpch: Policy,
    shop_facts: TableFacts,
    dw_facts: TableFacts,
    tpch_facts: TableFacts,
}

impl Default for GateHarness {
    fn default() -> Self {
        Self::new()
    }
}

impl GateHarness {
    /// Load the fixture policies (compiled in, so the fuzz binary needs no
    /// files at run time).
    pub fn new() -> Self {
        let shop = policy(
            include_str!("../../tests/fixtures/gate/connections.yaml"),
            include_str!("../../tests/fixtures/gate/policy.yaml"),
            include_str!("../../tests/fixtures/gate/joins.yaml"),
        );
        let tpch = policy(
            "connections: {tpch: {engine: postgres, host: 127.0.0.1, dbname: tpch, user: postgres}}",
            include_str!("../../tests/fixtures/tpch/policy.yaml"),
            include_str!("../../tests/fixtures/tpch/joins.yaml"),
        );
        let mut shop_facts = facts(SHOP_COLUMNS);
        shop_facts
            .default_partitions
            .insert("public.events".into(), "2024-06-30".into());
        shop_facts
            .partition_keys
            .insert("public.events".into(), vec!["pt".into()]);
        let mut dw_facts = facts(DW_COLUMNS);
        dw_facts
            .default_partitions
            .insert("saky_dw.ods_orders_df".into(), "20240630".into());
        dw_facts
            .partition_keys
            .insert("saky_dw.ods_orders_df".into(), vec!["pt".into()]);
        Self {
            shop,
            tpch,
            shop_facts,
            dw_facts,
            tpch_facts: facts(TPCH_COLUMNS),
        }
    }

    /// Build a query from fragments chosen by `data` (one byte a piece)
    /// and [`Self::check`] it: the structured input of the differential
    /// target, which reaches quoting corners random bytes rarely do.
    pub fn check_fragments(&self, data: &[u8]) {
        let sql: String = data
            .iter()
            .map(|b| FRAGMENTS[usize::from(*b) % FRAGMENTS.len()])
            .collect();
        self.check(&sql);
    }

    /// Run `sql` through every fixed source's gate and check the
    /// invariants; panics with the query and the broken invariant.
    pub fn check(&self, sql: &str) {
        for (policy, source, facts) in [
            (&self.shop, "shop", &self.shop_facts),
            (&self.shop, "dw", &self.dw_facts),
            (&self.tpch, "tpch", &self.tpch_facts),
        ] {
            let rules = policy
                .source(source)
                .expect("the fixture policy has this source");
            check_source(&rules, facts, sql);
        }
    }
}

fn policy(connections: &str, policy: &str, joins: &str) -> Policy {
    Policy::new(Config {
        dir: "fuzz".into(),
        connections: serde_saphyr::from_str::<ConnectionsFile>(connections)
            .expect("fixture connections parse"),
        policy: serde_saphyr::from_str::<PolicyFile>(policy).expect("fixture policy parses"),
        joins: serde_saphyr::from_str::<JoinsFile>(joins).expect("fixture joins parse"),
        ..Default::default()
    })
}

fn facts(tables: &[(&str, &[&str])]) -> TableFacts {
    let mut facts = TableFacts::default();
    for (key, columns) in tables {
        facts.columns.insert(
            (*key).to_string(),
            columns.iter().map(|c| (*c).to_string()).collect(),
        );
    }
    facts
}

fn check_source(rules: &SourceRules<'_>, facts: &TableFacts, sql: &str) {
    let gate = Gate::new(rules);
    let Ok(prepared) = gate.prepare(sql) else {
        return;
    };
    let Ok(checked) = gate.check(prepared, facts, None) else {
        return;
    };
    let rendered = checked.sql();
    let source = rules.name;
    let flavor = Flavor::of(rules.engine);

    let statements = Parser::parse_sql(flavor.dialect(), rendered).unwrap_or_else(|e| {
        panic!("[{source}] accepted SQL renders to text that does not parse ({e})\ninput: {sql:?}\nrendered: {rendered}")
    });
    let [Statement::Query(query)] = statements.as_slice() else {
        panic!(
            "[{source}] rendering is not exactly one query\ninput: {sql:?}\nrendered: {rendered}"
        );
    };

    let again = gate
        .prepare(rendered)
        .and_then(|p| gate.check(p, facts, None))
        .unwrap_or_else(|e| {
            panic!("[{source}] the gate refuses its own rendering: {} {}\ninput: {sql:?}\nrendered: {rendered}", e.code.as_str(), e.message)
        });
    // Row policies, column rules and default partitions replace a table
    // with a derived table; gating that again wraps it once more.
    let rewritten = checked.tables_used().iter().any(|t| {
        !rules.row_policies(t).is_empty()
            || rules.has_column_rules(t)
            || facts.default_partitions.contains_key(t)
    });
    if !rewritten {
        assert_eq!(
            again.sql(),
            rendered,
            "[{source}] gating the rendering again changed it\ninput: {sql:?}"
        );
    }

    if let Some(problem) = policy_violation(rules, facts, flavor, query) {
        panic!("[{source}] accepted SQL {problem}\ninput: {sql:?}\nrendered: {rendered}");
    }
    if flavor == Flavor::Postgres {
        if let Some(problem) =
            postgres_reading_violation(rules, facts, &defined_names(flavor, query), rendered)
        {
            panic!("[{source}] PostgreSQL's parser reads accepted SQL as {problem}\ninput: {sql:?}\nrendered: {rendered}");
        }
    }
}

/// The differential invariant: what PostgreSQL's own parser (libpg_query,
/// through its own summary of the tree, not the gate's re-check) reads in
/// the rendering names only allowed tables or the query's CTEs, and no
/// denied column.
fn postgres_reading_violation(
    rules: &SourceRules<'_>,
    facts: &TableFacts,
    defined: &BTreeSet<String>,
    rendered: &str,
) -> Option<String> {
    let parsed = match pg_query::parse(rendered, 0) {
        Ok(parsed) => parsed,
        Err(e) => return Some(format!("unparsable ({e})")),
    };
    if parsed.protobuf.stmts.len() != 1 {
        return Some(format!("{} statements", parsed.protobuf.stmts.len()));
    }
    for table in parsed.tables() {
        let cte = parsed.cte_names.contains(&table);
        if !cte && rules.table(&table).is_none() {
            return Some(format!("reading the table `{table}`"));
        }
    }
    let denied = denied_columns(rules, facts);
    for (node, ..) in parsed.protobuf.nodes() {
        let pg_query::NodeRef::ColumnRef(column) = node else {
            continue;
        };
        let Some(pg_query::NodeEnum::String(last)) =
            column.fields.last().and_then(|f| f.node.as_ref())
        else {
            continue;
        };
        if denied.contains(&last.sval) && !defined.contains(&last.sval) {
            return Some(format!("reading the denied column `{}`", last.sval));
        }
    }
    None
}

/// The names `query` defines itself (CTEs, aliases), as the engine folds
/// them.
fn defined_names(flavor: Flavor, query: &Query) -> BTreeSet<String> {
    let mut defined = Defined {
        flavor,
        names: BTreeSet::new(),
    };
    let _ = query.visit(&mut defined);
    defined.names
}

/// A table the policy does not allow, or a denied column, named in the
/// rendered query. Names the query itself defines (CTEs, aliases, column
/// aliases) are excluded, so the check never mistakes a derived column for
/// a table's.
fn policy_violation(
    rules: &SourceRules<'_>,
    facts: &TableFacts,
    flavor: Flavor,
    query: &Query,
) -> Option<String> {
    let defined = defined_names(flavor, query);
    let mut check = Reads {
        rules,
        flavor,
        defined: &defined,
        denied: denied_columns(rules, facts),
        problem: None,
    };
    let _ = query.visit(&mut check);
    check.problem
}

/// Column names denied on some table and allowed on none, as the engine
/// folds them.
fn denied_columns(rules: &SourceRules<'_>, facts: &TableFacts) -> BTreeSet<String> {
    let flavor = Flavor::of(rules.engine);
    let mut denied = BTreeSet::new();
    let mut allowed = BTreeSet::new();
    for (table, columns) in &facts.columns {
        for column in columns {
            let name = flavor.fold_str(column);
            if rules.column_allowed(table, column) {
                allowed.insert(name);
            } else {
                denied.insert(name);
            }
        }
    }
    denied.retain(|c| !allowed.contains(c));
    denied
}

/// Every name the query defines: CTE names, table and column aliases,
/// projection aliases.
struct Defined {
    flavor: Flavor,
    names: BTreeSet<String>,
}

impl Defined {
    fn projection_aliases(&mut self, body: &SetExpr) {
        match body {
            SetExpr::Select(select) => {
                for item in &select.projection {
                    match item {
                        SelectItem::ExprWithAlias { alias, .. } => {
                            self.names.insert(self.flavor.fold(alias));
                        }
                        SelectItem::ExprWithAliases { aliases, .. } => {
                            for alias in aliases {
                                self.names.insert(self.flavor.fold(alias));
                            }
                        }
                        _ => {}
                    }
                }
            }
            SetExpr::SetOperation { left, right, .. } => {
                self.projection_aliases(left);
                self.projection_aliases(right);
            }
            _ => {}
        }
    }

    fn alias(&mut self, alias: &TableAlias) {
        self.names.insert(self.flavor.fold(&alias.name));
        for column in &alias.columns {
            self.names.insert(self.flavor.fold(&column.name));
        }
    }
}

impl Visitor for Defined {
    type Break = ();

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        if let Some(with) = &query.with {
            for cte in &with.cte_tables {
                self.alias(&cte.alias);
            }
        }
        self.projection_aliases(&query.body);
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
        if let Some(alias) = table_factor_alias(factor) {
            self.alias(alias);
        }
        ControlFlow::Continue(())
    }
}

fn table_factor_alias(factor: &TableFactor) -> Option<&TableAlias> {
    match factor {
        TableFactor::Table { alias, .. }
        | TableFactor::Derived { alias, .. }
        | TableFactor::TableFunction { alias, .. }
        | TableFactor::Function { alias, .. }
        | TableFactor::UNNEST { alias, .. }
        | TableFactor::NestedJoin { alias, .. } => alias.as_ref(),
        _ => None,
    }
}

/// Finds the first table or column the policy does not allow.
struct Reads<'r, 'a> {
    rules: &'r SourceRules<'a>,
    flavor: Flavor,
    defined: &'r BTreeSet<String>,
    denied: BTreeSet<String>,
    problem: Option<String>,
}

impl Visitor for Reads<'_, '_> {
    type Break = ();

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
        let TableFactor::Table {
            name, args: None, ..
        } = factor
        else {
            return ControlFlow::Continue(());
        };
        let parts: Vec<String> = name
            .0
            .iter()
            .filter_map(|p| p.as_ident())
            .map(|i| self.flavor.fold(i))
            .collect();
        if parts.len() == 1 && self.defined.contains(&parts[0]) {
            return ControlFlow::Continue(());
        }
        let key = if parts.len() == 1 {
            format!("{}.{}", self.rules.default_namespace, parts[0])
        } else {
            parts.join(".")
        };
        if self.rules.table(&self.rules.normalize_key(&key)).is_none() {
            self.problem = Some(format!("reads table `{name}`, which policy does not allow"));
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        let ident = match expr {
            Expr::Identifier(ident) => ident,
            Expr::CompoundIdentifier(parts) => match parts.last() {
                Some(ident) => ident,
                None => return ControlFlow::Continue(()),
            },
            _ => return ControlFlow::Continue(()),
        };
        let name = self.flavor.fold(ident);
        if self.denied.contains(&name) && !self.defined.contains(&name) {
            self.problem = Some(format!("names the denied column `{expr}`"));
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }
}
