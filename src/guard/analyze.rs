//! Rules 2 and 4 (with 3 through [`super::exprs`]): walk the query with
//! scope, resolve every table and column reference, and record what the
//! later rules need (instances, equalities, constant predicates, blocks).
//!
//! The walk is read-only: it never changes the AST. Everything it cannot
//! classify is refused (fail closed), so a construct the gate does not know
//! can never carry a denied column or a table past it. Without
//! [`TableFacts`] (the `prepare` step) it resolves tables only.

use std::collections::{BTreeSet, HashMap};

use sqlparser::ast::{
    Cte, Expr, GroupByExpr, NamedWindowExpr, ObjectName, OrderBy, OrderByKind, Query, Select,
    SelectFlavor, SelectItem, SelectItemQualifiedWildcardKind, SetExpr, WildcardAdditionalOptions,
};

use super::dialect::{name_idents, Flavor};
use super::joins;
use super::limit;
use super::predicates::Implied;
use super::refusal;
use super::scope::{
    rename, BaseColumn, CteDef, Instance, InstanceId, OutputColumn, Relation, RelationKind, Scope,
    Unit, UnitLabel, COPY_BASE,
};
use super::TableFacts;
use crate::error::ToolError;
use crate::policy::SourceRules;

/// What the walk found.
#[derive(Debug, Default)]
pub(crate) struct Analysis {
    /// Every table reference, in walk order.
    pub(crate) instances: Vec<Instance>,
    /// `key.column` of every column read.
    pub(crate) columns_used: BTreeSet<String>,
    /// The outermost query's literal limit, if any.
    pub(crate) top_limit: Option<u64>,
    /// The columns the outermost query returns, as the gate resolved them
    /// (`*` expanded from the table facts): for each, the base columns it
    /// is a plain copy of (see [`super::CheckedQuery::output_copies`]).
    pub(crate) top_copies: Vec<Vec<super::CopyOf>>,
    /// Every column-to-column equality anywhere in the query.
    pub(crate) equalities: Vec<(Vec<BaseColumn>, Vec<BaseColumn>)>,
    /// Equalities and constant predicates that hold for whole blocks.
    /// Constants name instances; equalities name nodes.
    pub(crate) implied: Implied,
    /// Equalities that relate a set subquery's rows to the rows it is
    /// compared with (`x IN (SELECT y ...)`, `x = ANY (ARRAY(SELECT y ...))`)
    /// wherever the comparison sits: the only way those rows meet.
    pub(crate) links: Implied,
    /// Per SELECT (and VALUES list): the units that must be joined to each
    /// other.
    pub(crate) blocks: Vec<Vec<Unit>>,
    /// The instance each copy node (see [`COPY_BASE`]) stands for.
    pub(crate) copies: Vec<InstanceId>,
    /// Every node in creation order: a mark into it tells which nodes a
    /// part of the query created.
    pub(crate) nodes: Vec<InstanceId>,
}

impl Analysis {
    /// The table instance a node stands for.
    pub(crate) fn instance_of(&self, node: InstanceId) -> InstanceId {
        match node.checked_sub(COPY_BASE) {
            Some(copy) => self.copies.get(copy).copied().unwrap_or(node),
            None => node,
        }
    }

    /// The policy key of a node's table.
    pub(crate) fn key(&self, node: InstanceId) -> &str {
        self.instances
            .get(self.instance_of(node))
            .map_or("", |i| i.key.as_str())
    }
}

/// A walk's result, with what [`Analyzer::tracking`] saw.
pub(crate) struct Tracked<T> {
    /// What the walk returned.
    pub(crate) value: T,
    /// The shallowest scope depth a reference inside resolved to.
    pub(crate) shallowest: Option<usize>,
    /// Whether it gathered many rows into one value.
    pub(crate) gathers: bool,
}

impl<T> Tracked<T> {
    /// Whether the walk referred to a scope below `own` (its own scope).
    pub(crate) fn correlated(&self, own: usize) -> bool {
        self.shallowest.is_some_and(|d| d < own)
    }
}

/// Most WITH queries one query may define, at every level together.
/// The gate's walk and PostgreSQL's planner both take time that grows
/// faster than their number; analytics use a handful (TPC-DS at most 4).
pub(crate) const MAX_CTES: usize = 64;

/// Most levels of SELECT a query may nest once each reference to a WITH
/// query is counted as the WITH query's own levels, as PostgreSQL expands
/// a WITH query read once in place. Its planner walks such a chain in time
/// that grows with the cube of its length, without ever checking for
/// cancellation or `statement_timeout` (PostgreSQL 15: a chain of 400 WITH
/// queries each reading the one before took 3 s to plan, 1,000 took 47 s,
/// 2,000 never finished); 128 levels plan in well under 0.1 s.
pub(crate) const MAX_EXPANDED_DEPTH: usize = 128;

/// The scope walker.
pub(crate) struct Analyzer<'r, 'a> {
    pub(crate) rules: &'r SourceRules<'a>,
    pub(crate) flavor: Flavor,
    pub(crate) facts: Option<&'r TableFacts>,
    pub(crate) scopes: Vec<Scope>,
    pub(crate) ctes: Vec<CteDef>,
    /// Output columns of expression subqueries, by address (the AST is not
    /// moved while it is analysed).
    pub(crate) subquery_outputs: HashMap<usize, Vec<OutputColumn>>,
    /// The shallowest scope depth a column reference resolved to since the
    /// last [`Analyzer::tracking`] began: how correlation is seen.
    pub(crate) shallowest: Option<usize>,
    /// How many constructs that gather many rows into one value the walk
    /// has met (see `joins`); a piece whose walk raised it is no constant.
    pub(crate) gathered: usize,
    /// How many aggregate calls the walk is inside the arguments of.
    pub(crate) aggregate_depth: usize,
    /// WITH queries defined so far (see [`MAX_CTES`]).
    pub(crate) ctes_defined: usize,
    /// How many SELECTs the walk is inside (scopes do not tell: a derived
    /// table's walk leaves its parent's scope aside).
    pub(crate) level: usize,
    /// The deepest SELECT level reached so far, each WITH query read
    /// counted as its own levels (see [`MAX_EXPANDED_DEPTH`]).
    pub(crate) deepest: usize,
    pub(crate) out: Analysis,
}

impl<'r, 'a> Analyzer<'r, 'a> {
    /// A walker for one source; `facts` is `None` to resolve tables only.
    pub(crate) fn new(rules: &'r SourceRules<'a>, facts: Option<&'r TableFacts>) -> Self {
        Self {
            rules,
            flavor: Flavor::of(rules.engine),
            facts,
            scopes: Vec::new(),
            ctes: Vec::new(),
            subquery_outputs: HashMap::new(),
            shallowest: None,
            gathered: 0,
            aggregate_depth: 0,
            ctes_defined: 0,
            level: 0,
            deepest: 0,
            out: Analysis::default(),
        }
    }

    /// Walk the whole statement.
    pub(crate) fn run(mut self, query: &Query) -> Result<Analysis, ToolError> {
        limit::single_limit(query)?;
        self.out.top_limit = limit::literal_limit(limit::outermost(query))?;
        let outputs = self.query(query, false)?;
        if self.deepest > MAX_EXPANDED_DEPTH {
            return Err(refusal::expanded_too_deep(self.deepest, MAX_EXPANDED_DEPTH));
        }
        self.out.top_copies = outputs
            .iter()
            .map(|output| {
                output
                    .lineage
                    .iter()
                    .filter_map(|base| {
                        // A CTE's references hold copies of its nodes.
                        let id = self.out.instance_of(base.instance);
                        let instance = self.out.instances.get(id)?;
                        Some(super::CopyOf {
                            table: instance.key.clone(),
                            column: base.column.clone(),
                        })
                    })
                    .collect()
            })
            .collect();
        if self.out.instances.is_empty() {
            return Err(refusal::no_table());
        }
        Ok(self.out)
    }

    /// Walk a query; returns its output columns. `exists` is true for the
    /// body of `EXISTS (...)`, whose select list returns no data.
    pub(crate) fn query(
        &mut self,
        query: &Query,
        exists: bool,
    ) -> Result<Vec<OutputColumn>, ToolError> {
        limit::literal_limit(query)?;
        let mark = self.ctes.len();
        if let Some(with) = &query.with {
            self.ctes_defined += with.cte_tables.len();
            if self.ctes_defined > MAX_CTES {
                return Err(refusal::too_many_ctes(self.ctes_defined, MAX_CTES));
            }
            for cte in &with.cte_tables {
                self.cte(cte, with.recursive)?;
            }
        }
        let outputs = self.body(&query.body, query.order_by.as_ref(), exists);
        self.ctes.truncate(mark);
        outputs
    }

    pub(crate) fn cte(&mut self, cte: &Cte, recursive: bool) -> Result<(), ToolError> {
        let name = self.flavor.fold(&cte.alias.name);
        let renames = self.alias_columns(&cte.alias);
        let start = self.out.nodes.len();
        let gathered_before = self.gathered;
        // The body's own levels, counted from where it is defined.
        let base = self.level;
        let outer_deepest = std::mem::take(&mut self.deepest);
        let recursive_parts = match (&*cte.query.body, recursive) {
            (SetExpr::SetOperation { left, right, .. }, true) if cte.query.with.is_none() => {
                Some((left, right))
            }
            _ => None,
        };
        let columns = match recursive_parts {
            Some((left, right)) => {
                // The non-recursive term fixes the columns; the recursive
                // term then sees the CTE itself by name.
                let columns = rename(self.set_operand(left, false)?, &renames);
                self.ctes.push(CteDef {
                    name: name.clone(),
                    columns: columns.clone(),
                    instances: self.out.nodes[start..].to_vec(),
                    constant: false,
                    gathers: true,
                    depth: self.deepest.saturating_sub(base),
                });
                self.set_operand(right, false)?;
                self.ctes.pop();
                if let Some(order_by) = &cte.query.order_by {
                    self.order_by_outputs(order_by, &columns)?;
                }
                columns
            }
            None => rename(self.query(&cte.query, false)?, &renames),
        };
        // A recursive CTE can accumulate rows into one value without any
        // aggregate, so it always counts as gathering.
        let gathers = self.gathered != gathered_before || recursive_parts.is_some();
        let depth = self.deepest.saturating_sub(base);
        self.deepest = self.deepest.max(outer_deepest);
        self.ctes.push(CteDef {
            name,
            columns,
            instances: self.out.nodes[start..].to_vec(),
            constant: !gathers && joins::at_most_one_row(&cte.query),
            gathers,
            depth,
        });
        Ok(())
    }

    pub(crate) fn body(
        &mut self,
        body: &SetExpr,
        order_by: Option<&OrderBy>,
        exists: bool,
    ) -> Result<Vec<OutputColumn>, ToolError> {
        match body {
            SetExpr::Select(select) => self.select(select, order_by, exists),
            SetExpr::Query(query) => {
                let outputs = self.query(query, exists)?;
                if let Some(order_by) = order_by {
                    self.order_by_outputs(order_by, &outputs)?;
                }
                Ok(outputs)
            }
            SetExpr::SetOperation { left, right, .. } => {
                let mut outputs = self.set_operand(left, exists)?;
                let right = self.set_operand(right, exists)?;
                for (column, other) in outputs.iter_mut().zip(right) {
                    column.lineage.extend(other.lineage);
                }
                if let Some(order_by) = order_by {
                    self.order_by_outputs(order_by, &outputs)?;
                }
                Ok(outputs)
            }
            SetExpr::Values(values) => {
                self.scopes.push(Scope::default());
                let mut width = 0;
                let mut walked = Ok(());
                for row in &values.rows {
                    width = width.max(row.len());
                    walked = walked.and_then(|()| row.iter().try_for_each(|e| self.expr(e)));
                }
                let scope = self.scopes.pop().unwrap_or_default();
                walked?;
                self.close_scope(scope, Implied::default());
                let outputs: Vec<OutputColumn> = (1..=width)
                    .map(|i| OutputColumn {
                        name: format!("column{i}"),
                        lineage: Vec::new(),
                    })
                    .collect();
                if let Some(order_by) = order_by {
                    self.order_by_outputs(order_by, &outputs)?;
                }
                Ok(outputs)
            }
            SetExpr::Table(_) => Err(refusal::unsupported("the `TABLE name` shorthand")),
            SetExpr::Insert(_) | SetExpr::Update(_) | SetExpr::Delete(_) | SetExpr::Merge(_) => {
                Err(refusal::readonly(
                    "a data-modifying statement inside the query",
                ))
            }
        }
    }

    pub(crate) fn set_operand(
        &mut self,
        body: &SetExpr,
        exists: bool,
    ) -> Result<Vec<OutputColumn>, ToolError> {
        self.body(body, None, exists)
    }

    /// ORDER BY of a set operation: only output columns are in scope.
    pub(crate) fn order_by_outputs(
        &mut self,
        order_by: &OrderBy,
        outputs: &[OutputColumn],
    ) -> Result<(), ToolError> {
        self.scopes.push(Scope {
            relations: vec![Relation {
                name: String::new(),
                kind: RelationKind::Derived(outputs.to_vec()),
                instances: Vec::new(),
                label: UnitLabel::Derived(String::new()),
            }],
            outer_refs: BTreeSet::new(),
            subqueries: Vec::new(),
        });
        let result = self.order_by(order_by, &[]);
        let scope = self.scopes.pop().unwrap_or_default();
        result?;
        self.close_scope(scope, Implied::default());
        Ok(())
    }

    /// A finished scope becomes a block for the join check: its FROM items
    /// (those not provably constant), the outer tables it refers to, and
    /// the subqueries whose rows flow into its rows. What its predicates
    /// guarantee joins the query-wide facts.
    pub(crate) fn close_scope(&mut self, scope: Scope, implied: Implied) {
        let mut units: Vec<Unit> = scope
            .relations
            .into_iter()
            .filter(|r| !r.instances.is_empty())
            .map(|r| Unit {
                nodes: r.instances,
                label: r.label,
            })
            .collect();
        units.extend(scope.outer_refs.iter().map(|node| Unit {
            nodes: vec![*node],
            label: UnitLabel::Outer,
        }));
        units.extend(scope.subqueries);
        self.out.blocks.push(units);
        let Implied {
            equalities,
            constants,
        } = implied;
        self.out.implied.equalities.extend(equalities);
        // Partition filters are judged per instance: a constraint on a CTE
        // reference's column constrains the table in the CTE's body.
        let constants: Vec<BaseColumn> = constants
            .into_iter()
            .map(|c| BaseColumn {
                instance: self.out.instance_of(c.instance),
                column: c.column,
            })
            .collect();
        self.out.implied.constants.extend(constants);
    }

    /// Run `walk` and return, with its result, what a constant needs to
    /// know about it: the shallowest scope depth any column reference
    /// inside resolved to (correlation), and whether it gathered many rows
    /// into one value.
    pub(crate) fn tracking<T>(
        &mut self,
        walk: impl FnOnce(&mut Self) -> Result<T, ToolError>,
    ) -> Result<Tracked<T>, ToolError> {
        let saved = self.shallowest.take();
        let gathered = self.gathered;
        let result = walk(self);
        let seen = self.shallowest;
        self.shallowest = match (saved, seen) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Ok(Tracked {
            value: result?,
            shallowest: seen,
            gathers: self.gathered != gathered,
        })
    }

    /// Note that a reference resolved at scope `depth`.
    pub(crate) fn touch(&mut self, depth: usize) {
        self.shallowest = Some(self.shallowest.map_or(depth, |d| d.min(depth)));
    }

    pub(crate) fn order_by(
        &mut self,
        order_by: &OrderBy,
        aliases: &[String],
    ) -> Result<(), ToolError> {
        if order_by.interpolate.is_some() {
            return Err(refusal::unsupported("`INTERPOLATE`"));
        }
        let OrderByKind::Expressions(exprs) = &order_by.kind else {
            return Err(refusal::unsupported("`ORDER BY ALL`"));
        };
        for item in exprs {
            if item.with_fill.is_some() {
                return Err(refusal::unsupported("`WITH FILL`"));
            }
            self.sort_operator(item)?;
            // An output-column name wins over an input column in ORDER BY.
            if let Expr::Identifier(ident) = &item.expr {
                if is_listed(aliases, &self.flavor.folded(ident)) {
                    continue;
                }
            }
            self.expr(&item.expr)?;
        }
        Ok(())
    }

    pub(crate) fn select(
        &mut self,
        select: &Select,
        order_by: Option<&OrderBy>,
        exists: bool,
    ) -> Result<Vec<OutputColumn>, ToolError> {
        reject_select_extras(select)?;
        self.scopes.push(Scope::default());
        self.level += 1;
        self.deepest = self.deepest.max(self.level);
        let result = self.select_in_scope(select, order_by, exists);
        self.level -= 1;
        let scope = self.scopes.pop().unwrap_or_default();
        let (outputs, predicates) = result?;
        self.close_scope(scope, predicates);
        Ok(outputs)
    }

    /// The SELECT's clauses, with its scope on top of the stack. Returns the
    /// outputs and what its WHERE / ON / USING guarantee.
    pub(crate) fn select_in_scope(
        &mut self,
        select: &Select,
        order_by: Option<&OrderBy>,
        exists: bool,
    ) -> Result<(Vec<OutputColumn>, Implied), ToolError> {
        let mut implied = Implied::default();
        for table in &select.from {
            self.table_with_joins(table, &mut implied)?;
        }
        if let Some(selection) = &select.selection {
            self.expr(selection)?;
            implied.extend(self.implied(selection));
        }
        let outputs = self.projection(&select.projection, exists)?;
        let aliases: Vec<String> = outputs.iter().map(|o| o.name.clone()).collect();
        match &select.group_by {
            GroupByExpr::All(_) => return Err(refusal::unsupported("`GROUP BY ALL`")),
            GroupByExpr::Expressions(exprs, modifiers) => {
                if !modifiers.is_empty() {
                    return Err(refusal::unsupported("`GROUP BY ... WITH` modifiers"));
                }
                for expr in exprs {
                    self.group_by_item(expr, &outputs)?;
                }
            }
        }
        if let Some(having) = &select.having {
            self.expr(having)?;
        }
        if let Some(sqlparser::ast::Distinct::On(exprs)) = &select.distinct {
            // DISTINCT ON reads output names like ORDER BY does.
            for expr in exprs {
                match expr {
                    Expr::Identifier(ident) if is_listed(&aliases, &self.flavor.folded(ident)) => {}
                    _ => self.expr(expr)?,
                }
            }
        }
        for window in &select.named_window {
            if let NamedWindowExpr::WindowSpec(spec) = &window.1 {
                self.window_spec(spec)?;
            }
        }
        if let Some(order_by) = order_by {
            self.order_by(order_by, &aliases)?;
        }
        Ok((outputs, implied))
    }

    /// GROUP BY resolves input columns first, then output names. Each
    /// key relates the nodes its copies come from ([`Self::relate_by_key`]).
    pub(crate) fn group_by_item(
        &mut self,
        expr: &Expr,
        outputs: &[OutputColumn],
    ) -> Result<(), ToolError> {
        match expr {
            Expr::GroupingSets(sets) | Expr::Cube(sets) | Expr::Rollup(sets) => {
                return sets
                    .iter()
                    .flatten()
                    .try_for_each(|key| self.group_by_item(key, outputs));
            }
            Expr::Tuple(keys) => {
                return keys
                    .iter()
                    .try_for_each(|key| self.group_by_item(key, outputs));
            }
            // `GROUP BY 2`: the second output column.
            Expr::Value(value) => {
                if let sqlparser::ast::Value::Number(text, _) = &value.value {
                    let output = text
                        .parse::<usize>()
                        .ok()
                        .and_then(|n| outputs.get(n.checked_sub(1)?));
                    if let Some(output) = output {
                        self.relate_by_key(&output.lineage);
                    }
                }
            }
            Expr::Identifier(ident) => {
                let name = self.flavor.folded(ident);
                let output = outputs.iter().find(|o| o.name == name);
                if let Some(output) = output.filter(|_| !self.is_input_column(ident)) {
                    self.relate_by_key(&output.lineage);
                    return Ok(());
                }
            }
            _ => {}
        }
        self.expr(expr)?;
        self.relate_by_key(&self.lineage_of(expr).unwrap_or_default());
        Ok(())
    }

    /// Rows combined where `left` = `right`, both plain copies of base
    /// columns: for each pair from different nodes, an equality of
    /// those columns, which rule 5 requires to be an approved join pair,
    /// as a join on them is. A pair of the same column of one table is
    /// left out: it relates nothing that grouping that table by the column
    /// would not (TPC-DS groups the union of its channels by the item and
    /// date columns each channel reads).
    pub(crate) fn relate(&mut self, left: &[BaseColumn], right: &[BaseColumn]) {
        for a in left {
            for b in right {
                let same = a.instance == b.instance
                    || (a.column == b.column
                        && self.out.key(a.instance) == self.out.key(b.instance));
                if !same {
                    self.out.equalities.push((vec![a.clone()], vec![b.clone()]));
                }
            }
        }
    }

    /// A key that rows are grouped, partitioned or ordered by for a window
    /// function. Where its copies come from different nodes (an output of
    /// a set operation), rows of one are combined with the rows of another
    /// that have an equal value: a join on it ([`Self::relate`]).
    pub(crate) fn relate_by_key(&mut self, lineage: &[BaseColumn]) {
        for (at, column) in lineage.iter().enumerate() {
            self.relate(std::slice::from_ref(column), &lineage[at + 1..]);
        }
    }

    pub(crate) fn projection(
        &mut self,
        items: &[SelectItem],
        exists: bool,
    ) -> Result<Vec<OutputColumn>, ToolError> {
        let mut outputs = Vec::new();
        for item in items {
            match item {
                SelectItem::UnnamedExpr(expr) => {
                    self.expr(expr)?;
                    outputs.push(OutputColumn {
                        name: self.output_name(expr),
                        lineage: self.lineage_of(expr).unwrap_or_default(),
                    });
                }
                SelectItem::ExprWithAlias { expr, alias } => {
                    self.expr(expr)?;
                    outputs.push(OutputColumn {
                        name: self.flavor.fold(alias),
                        lineage: self.lineage_of(expr).unwrap_or_default(),
                    });
                }
                SelectItem::ExprWithAliases { .. } => {
                    return Err(refusal::unsupported("multiple aliases for one expression"))
                }
                SelectItem::Wildcard(options) => {
                    plain_wildcard(options)?;
                    let count = self.current_scope_len();
                    for index in 0..count {
                        outputs.extend(self.star(index, exists)?);
                    }
                }
                SelectItem::QualifiedWildcard(kind, options) => {
                    plain_wildcard(options)?;
                    let SelectItemQualifiedWildcardKind::ObjectName(name) = kind else {
                        return Err(refusal::unsupported("`(expression).*`"));
                    };
                    let index = self.relation_by_name(name)?;
                    outputs.extend(self.star(index, exists)?);
                }
            }
        }
        Ok(outputs)
    }

    pub(crate) fn current_scope_len(&self) -> usize {
        self.scopes.last().map_or(0, |s| s.relations.len())
    }

    /// `*` over one relation of the current scope.
    pub(crate) fn star(
        &mut self,
        index: usize,
        exists: bool,
    ) -> Result<Vec<OutputColumn>, ToolError> {
        let Some(relation) = self
            .scopes
            .last()
            .and_then(|s| s.relations.get(index))
            .cloned()
        else {
            return Err(ToolError::internal("star over a missing relation"));
        };
        if exists {
            // `EXISTS (SELECT * ...)` returns no column values.
            return Ok(Vec::new());
        }
        match &relation.kind {
            RelationKind::Base(id) => {
                let instance = &self.out.instances[*id];
                if self.rules.security.ban_select_star || self.rules.has_column_rules(&instance.key)
                {
                    return Err(refusal::select_star(&instance.key));
                }
                let key = instance.key.clone();
                let columns = instance.columns.clone();
                Ok(columns
                    .into_iter()
                    .map(|column| {
                        self.out.columns_used.insert(format!("{key}.{column}"));
                        OutputColumn {
                            lineage: vec![BaseColumn {
                                instance: *id,
                                column: column.clone(),
                            }],
                            name: column,
                        }
                    })
                    .collect())
            }
            RelationKind::Derived(columns) => {
                if self.rules.security.ban_select_star {
                    let name = if relation.name.is_empty() {
                        "a derived table"
                    } else {
                        &relation.name
                    };
                    return Err(refusal::select_star(name));
                }
                Ok(columns.clone())
            }
        }
    }

    /// The index of the relation a `t.*` or `count(t.*)` names.
    pub(crate) fn relation_by_name(&self, name: &ObjectName) -> Result<usize, ToolError> {
        let idents = name_idents(name).ok_or_else(|| refusal::unsupported("computed names"))?;
        let [ident] = idents.as_slice() else {
            return Err(refusal::unsupported(
                "schema-qualified `*`; use the table's alias",
            ));
        };
        let wanted = self.flavor.folded(ident);
        self.scopes
            .last()
            .and_then(|s| s.relations.iter().position(|r| r.name == wanted))
            .ok_or_else(|| refusal::unknown_column(&format!("{wanted}.*"), &[]))
    }
}

fn plain_wildcard(options: &WildcardAdditionalOptions) -> Result<(), ToolError> {
    if options.opt_ilike.is_some()
        || options.opt_exclude.is_some()
        || options.opt_except.is_some()
        || options.opt_replace.is_some()
        || options.opt_rename.is_some()
    {
        return Err(refusal::unsupported("`*` with modifiers"));
    }
    Ok(())
}

/// SELECT features of other dialects that the gate does not analyse.
fn reject_select_extras(select: &Select) -> Result<(), ToolError> {
    let extra = select.top.is_some()
        || select.prewhere.is_some()
        || !select.connect_by.is_empty()
        || !select.cluster_by.is_empty()
        || !select.distribute_by.is_empty()
        || !select.sort_by.is_empty()
        || !select.lateral_views.is_empty()
        || select.qualify.is_some()
        || select.value_table_mode.is_some()
        || select.exclude.is_some()
        || !select.optimizer_hints.is_empty()
        || select.select_modifiers.is_some()
        || select.flavor != SelectFlavor::Standard;
    if extra {
        return Err(refusal::unsupported(
            "dialect-specific SELECT clauses or hints",
        ));
    }
    if select.into.is_some() {
        return Err(refusal::readonly(
            "`SELECT ... INTO`, which creates a table",
        ));
    }
    Ok(())
}

/// Whether `name` is one of `names`, without an owned copy of it.
fn is_listed(names: &[String], name: &str) -> bool {
    names.iter().any(|n| n == name)
}
