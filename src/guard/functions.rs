//! Rule 3's vocabulary: the functions, casts and operators each engine may
//! use.
//!
//! These are allow-lists on purpose: a deny-list always misses one (a new
//! `pg_*` admin function, an extension). Names are compared after the
//! scope walker has resolved quoting and schema qualification; anything
//! not listed is refused. Session, file, network, sequence, lock and
//! catalog functions are absent by design.

use std::collections::HashSet;
use std::sync::OnceLock;

use sqlparser::ast::{ArrayElemTypeDef, BinaryOperator, DataType, ObjectName, UnaryOperator};

use super::dialect::Flavor;

/// Functions both engines accept (standard SQL and common analytics).
const COMMON: &[&str] = &[
    // aggregates
    "avg",
    "count",
    "max",
    "min",
    "sum",
    "stddev",
    "stddev_pop",
    "stddev_samp",
    "variance",
    "var_pop",
    "var_samp",
    "corr",
    "covar_pop",
    "covar_samp",
    "regr_slope",
    "regr_intercept",
    "regr_r2",
    "regr_count",
    "regr_avgx",
    "regr_avgy",
    "regr_sxx",
    "regr_syy",
    "regr_sxy",
    "percentile_cont",
    "percentile_disc",
    "median",
    // window functions
    "row_number",
    "rank",
    "dense_rank",
    "percent_rank",
    "cume_dist",
    "ntile",
    "lag",
    "lead",
    "first_value",
    "last_value",
    "nth_value",
    // math
    "abs",
    "ceil",
    "ceiling",
    "floor",
    "round",
    "trunc",
    "sign",
    "sqrt",
    "cbrt",
    "power",
    "pow",
    "exp",
    "ln",
    "log",
    "log10",
    "mod",
    "greatest",
    "least",
    "pi",
    "degrees",
    "radians",
    "sin",
    "cos",
    "tan",
    "asin",
    "acos",
    "atan",
    "atan2",
    // string
    "concat",
    "concat_ws",
    "length",
    "char_length",
    "character_length",
    "lower",
    "upper",
    "trim",
    "ltrim",
    "rtrim",
    "lpad",
    "rpad",
    "substr",
    "substring",
    "replace",
    "reverse",
    "split_part",
    "initcap",
    "repeat",
    "instr",
    "regexp_replace",
    "regexp_extract",
    "regexp_like",
    "md5",
    "ascii",
    "chr",
    // conditional
    "coalesce",
    "nullif",
];

/// PostgreSQL-only functions.
const POSTGRES: &[&str] = &[
    // aggregates
    "array_agg",
    "string_agg",
    "bool_and",
    "bool_or",
    "every",
    "bit_and",
    "bit_or",
    "mode",
    "json_agg",
    "jsonb_agg",
    "json_object_agg",
    "jsonb_object_agg",
    "grouping",
    // math
    "div",
    "random",
    "width_bucket",
    "scale",
    "gcd",
    "lcm",
    "factorial",
    "trim_scale",
    // string
    "position",
    "strpos",
    "starts_with",
    "left",
    "right",
    "octet_length",
    "bit_length",
    "translate",
    "format",
    "quote_literal",
    "quote_ident",
    "to_hex",
    "regexp_match",
    "regexp_matches",
    "regexp_split_to_array",
    "regexp_split_to_table",
    "regexp_count",
    "regexp_substr",
    "regexp_instr",
    "string_to_array",
    "array_to_string",
    "overlay",
    "sha256",
    "encode",
    "decode",
    // date and time
    "now",
    "current_date",
    "current_time",
    "current_timestamp",
    "localtime",
    "localtimestamp",
    "statement_timestamp",
    "transaction_timestamp",
    "clock_timestamp",
    "date_trunc",
    "date_part",
    "date_bin",
    "extract",
    "age",
    "make_date",
    "make_time",
    "make_timestamp",
    "make_timestamptz",
    "make_interval",
    "justify_days",
    "justify_hours",
    "justify_interval",
    "to_char",
    "to_date",
    "to_timestamp",
    "to_number",
    "isfinite",
    // arrays and set-returning functions
    "array_length",
    "cardinality",
    "array_position",
    "array_positions",
    "array_remove",
    "array_append",
    "array_prepend",
    "array_cat",
    "array_lower",
    "array_upper",
    "array_ndims",
    "unnest",
    "array",
    "generate_series",
    // json accessors and builders
    "json_build_object",
    "jsonb_build_object",
    "json_build_array",
    "jsonb_build_array",
    "json_extract_path",
    "jsonb_extract_path",
    "json_extract_path_text",
    "jsonb_extract_path_text",
    "json_array_length",
    "jsonb_array_length",
    "json_array_elements",
    "jsonb_array_elements",
    "json_array_elements_text",
    "jsonb_array_elements_text",
    "json_each",
    "jsonb_each",
    "json_each_text",
    "jsonb_each_text",
    "json_object_keys",
    "jsonb_object_keys",
    "json_typeof",
    "jsonb_typeof",
    "jsonb_pretty",
    "to_json",
    "to_jsonb",
    "row_to_json",
    "jsonb_path_exists",
    "jsonb_path_query_first",
    "jsonb_strip_nulls",
    "json_strip_nulls",
    // conditional
    "num_nulls",
    // `ROW(a, b)`: a row constructor over values the walker checks
    "row",
    // full-text search and misc
    "to_tsvector",
    "to_tsquery",
    "plainto_tsquery",
    "phraseto_tsquery",
    "websearch_to_tsquery",
    "ts_rank",
    "ts_rank_cd",
    "ts_headline",
    "any_value",
    "timezone",
    "num_nonnulls",
];

/// MaxCompute-only functions.
const MAXCOMPUTE: &[&str] = &[
    "wm_concat",
    "collect_list",
    "collect_set",
    "approx_distinct",
    "count_if",
    "nvl",
    "if",
    "decode",
    "datetrunc",
    "dateadd",
    "datediff",
    "datepart",
    "getdate",
    "from_unixtime",
    "unix_timestamp",
    "to_char",
    "to_date",
    "weekday",
    "weekofyear",
    "lastday",
    "add_months",
    "months_between",
    "date_format",
    "date_add",
    "date_sub",
    "year",
    "quarter",
    "month",
    "day",
    "dayofmonth",
    "hour",
    "minute",
    "second",
    "current_timestamp",
    "cast",
    "split",
    "explode",
    "get_json_object",
    "json_tuple",
    "size",
    "array_contains",
    "sort_array",
    "keyvalue",
    "to_json",
    "from_json",
    "str_to_map",
    "sha2",
    "base64",
    "unbase64",
    "conv",
    "bin",
    "hex",
    "unhex",
    "format_number",
    "isdate",
    "trans_array",
    // reads partition metadata; its argument is checked like a table name
    "max_pt",
    "regexp_count",
    "regexp_substr",
    "regexp_instr",
];

/// Aggregates that reduce their rows to one scalar value.
const SCALAR_AGGREGATES: &[&str] = &[
    "avg",
    "count",
    "max",
    "min",
    "sum",
    "stddev",
    "stddev_pop",
    "stddev_samp",
    "variance",
    "var_pop",
    "var_samp",
    "corr",
    "covar_pop",
    "covar_samp",
    "regr_slope",
    "regr_intercept",
    "regr_r2",
    "regr_count",
    "regr_avgx",
    "regr_avgy",
    "regr_sxx",
    "regr_syy",
    "regr_sxy",
    "percentile_cont",
    "percentile_disc",
    "median",
    "bool_and",
    "bool_or",
    "every",
    "bit_and",
    "bit_or",
    "mode",
    "any_value",
    "approx_distinct",
    "count_if",
];

/// Aggregates that gather their rows into one array, string, JSON value
/// or map: a value that carries every row.
const COLLECTION_AGGREGATES: &[&str] = &[
    "array_agg",
    "string_agg",
    "json_agg",
    "jsonb_agg",
    "json_object_agg",
    "jsonb_object_agg",
    "wm_concat",
    "collect_list",
    "collect_set",
];

/// Set-returning functions: in a select list they multiply rows.
const SET_RETURNING: &[&str] = &[
    "unnest",
    "generate_series",
    "regexp_matches",
    "regexp_split_to_table",
    "json_array_elements",
    "jsonb_array_elements",
    "json_array_elements_text",
    "jsonb_array_elements_text",
    "json_each",
    "jsonb_each",
    "json_each_text",
    "jsonb_each_text",
    "json_object_keys",
    "jsonb_object_keys",
    "explode",
    "json_tuple",
    "trans_array",
];

/// Functions that grow exponentially with their argument: inside an
/// aggregate (`sum(power(2, id))`) they pack a whole set of rows into one
/// number.
const EXPONENTIAL: &[&str] = &["power", "pow", "exp", "factorial"];

/// Ordered-set aggregates that return one value per fraction: given an
/// array of fractions they return many rows' values.
const PER_FRACTION: &[&str] = &["percentile_cont", "percentile_disc"];

/// Whether `name` grows exponentially (see [`EXPONENTIAL`]).
pub(crate) fn is_exponential(name: &str) -> bool {
    EXPONENTIAL.contains(&name)
}

/// Whether `name` returns one value per fraction (see [`PER_FRACTION`]).
pub(crate) fn is_per_fraction(name: &str) -> bool {
    PER_FRACTION.contains(&name)
}

/// Whether a binary operator grows exponentially (`^`, `<<`, `>>`).
pub(crate) fn is_exponential_operator(op: &BinaryOperator) -> bool {
    matches!(
        op,
        BinaryOperator::PGExp
            | BinaryOperator::PGBitwiseShiftLeft
            | BinaryOperator::PGBitwiseShiftRight
    )
}

/// Whether `name` aggregates rows (into one scalar or one collection).
pub(crate) fn is_aggregate(name: &str) -> bool {
    SCALAR_AGGREGATES.contains(&name) || is_collection_aggregate(name)
}

/// Whether `name` gathers many rows into one value (see
/// [`COLLECTION_AGGREGATES`]).
pub(crate) fn is_collection_aggregate(name: &str) -> bool {
    COLLECTION_AGGREGATES.contains(&name)
}

/// Whether `name` returns a set of rows.
pub(crate) fn is_set_returning(name: &str) -> bool {
    SET_RETURNING.contains(&name)
}

/// Whether `name` (resolved, unqualified) is an allowed function.
pub(crate) fn function_allowed(flavor: Flavor, name: &str) -> bool {
    // Hashed once: the gate asks for every call it walks, and a scan of
    // the few hundred names was a visible share of a query's check.
    static POSTGRES_SET: OnceLock<HashSet<&str>> = OnceLock::new();
    static MAXCOMPUTE_SET: OnceLock<HashSet<&str>> = OnceLock::new();
    let (set, own) = match flavor {
        Flavor::Postgres => (&POSTGRES_SET, POSTGRES),
        Flavor::MaxCompute => (&MAXCOMPUTE_SET, MAXCOMPUTE),
    };
    set.get_or_init(|| COMMON.iter().chain(own).copied().collect())
        .contains(name)
}

/// Type names the parser leaves unresolved that name standard types.
const PLAIN_TYPE_NAMES: &[&str] = &[
    "int4",
    "int8",
    "int2",
    "float4",
    "float8",
    "timestamptz",
    "timetz",
    "varchar",
    "bpchar",
    "inet",
    "cidr",
    "citext",
    "money",
    "bigint",
    "tinyint",
    "smallint",
    "double",
    "datetime",
];

/// PostgreSQL's standard types by their `pg_catalog` names (never the
/// object-identifier `reg*` types, which look up the catalog).
const CATALOG_TYPES: &[&str] = &[
    "bool",
    "int2",
    "int4",
    "int8",
    "float4",
    "float8",
    "numeric",
    "text",
    "varchar",
    "bpchar",
    "date",
    "time",
    "timetz",
    "timestamp",
    "timestamptz",
    "interval",
    "json",
    "jsonb",
    "uuid",
    "bytea",
    "inet",
    "cidr",
    "money",
];

/// Whether a cast to `ty` is allowed: standard scalar types (and arrays of
/// them) only. Object-identifier types such as `regclass` look up the
/// catalog and are refused.
pub(crate) fn cast_allowed(ty: &DataType) -> bool {
    use DataType as T;
    match ty {
        T::Array(ArrayElemTypeDef::AngleBracket(inner))
        | T::Array(ArrayElemTypeDef::SquareBracket(inner, _))
        | T::Array(ArrayElemTypeDef::Parenthesis(inner)) => cast_allowed(inner),
        T::Custom(name, modifiers) => {
            let parts: Option<Vec<String>> = name
                .0
                .iter()
                .map(|p| {
                    p.as_ident().map(|i| match i.quote_style {
                        Some(_) => i.value.clone(),
                        None => i.value.to_lowercase(),
                    })
                })
                .collect();
            match parts.as_deref() {
                Some([only]) => modifiers.is_empty() && PLAIN_TYPE_NAMES.contains(&only.as_str()),
                // `pg_catalog.numeric(10, 2)`: the built-in type, by its
                // catalog name, with numeric modifiers only.
                Some([schema, only]) if schema == "pg_catalog" => {
                    CATALOG_TYPES.contains(&only.as_str())
                        && modifiers
                            .iter()
                            .all(|m| !m.is_empty() && m.chars().all(|c| c.is_ascii_digit()))
                }
                _ => false,
            }
        }
        T::Character(_)
        | T::Char(_)
        | T::CharacterVarying(_)
        | T::CharVarying(_)
        | T::Varchar(_)
        | T::Nvarchar(_)
        | T::Uuid
        | T::Numeric(_)
        | T::Decimal(_)
        | T::Dec(_)
        | T::Float(_)
        | T::TinyInt(_)
        | T::Int2(_)
        | T::SmallInt(_)
        | T::Int(_)
        | T::Int4(_)
        | T::Int8(_)
        | T::Integer(_)
        | T::BigInt(_)
        | T::Float4
        | T::Real
        | T::Float8
        | T::Double(_)
        | T::DoublePrecision
        | T::Bool
        | T::Boolean
        | T::Date
        | T::Time(_, _)
        | T::Datetime(_)
        | T::Timestamp(_, _)
        | T::Interval { .. }
        | T::JSON
        | T::JSONB
        | T::Text
        | T::String(_)
        | T::Bytea
        | T::Binary(_) => true,
        _ => false,
    }
}

/// Whether a binary operator is a built-in one the gate accepts.
/// `OPERATOR(schema.op)` and unknown symbols (user-defined operators) are not.
/// MaxCompute gets the standard operators only: symbols such as `#>` could
/// lex differently there (`#` starts a comment in some Hive-style lexers).
pub(crate) fn binary_operator_allowed(flavor: Flavor, op: &BinaryOperator) -> bool {
    use BinaryOperator as B;
    let standard = matches!(
        op,
        B::Plus
            | B::Minus
            | B::Multiply
            | B::Divide
            | B::Modulo
            | B::StringConcat
            | B::Gt
            | B::Lt
            | B::GtEq
            | B::LtEq
            | B::Eq
            | B::NotEq
            | B::And
            | B::Or
            | B::BitwiseOr
            | B::BitwiseAnd
            | B::BitwiseXor
    );
    standard || (flavor == Flavor::Postgres && postgres_operator(op))
}

/// PostgreSQL's own built-in operators (regex, JSON, containment, ...).
fn postgres_operator(op: &BinaryOperator) -> bool {
    use BinaryOperator as B;
    matches!(
        op,
        B::PGBitwiseXor
            | B::PGBitwiseShiftLeft
            | B::PGBitwiseShiftRight
            | B::PGExp
            | B::PGOverlap
            | B::PGRegexMatch
            | B::PGRegexIMatch
            | B::PGRegexNotMatch
            | B::PGRegexNotIMatch
            | B::PGLikeMatch
            | B::PGILikeMatch
            | B::PGNotLikeMatch
            | B::PGNotILikeMatch
            | B::PGStartsWith
            | B::Arrow
            | B::LongArrow
            | B::HashArrow
            | B::HashLongArrow
            | B::AtArrow
            | B::ArrowAt
            | B::Question
            | B::QuestionAnd
            | B::QuestionPipe
            | B::Overlaps
            | B::AtAt
    )
}

/// Whether an `ORDER BY ... USING op` operator is accepted: PostgreSQL's
/// plain `<` or `>`, which the session's `search_path = pg_catalog`
/// resolves to the built-in ordering operators. A schema-qualified
/// `OPERATOR(s.op)` (whose function could be anyone's) or any other symbol
/// is not. MaxCompute has no `USING` ordering.
pub(crate) fn ordering_operator_allowed(flavor: Flavor, name: &ObjectName) -> bool {
    let [only] = name.0.as_slice() else {
        return false;
    };
    flavor == Flavor::Postgres
        && only
            .as_ident()
            .is_some_and(|i| i.quote_style.is_none() && matches!(i.value.as_str(), "<" | ">"))
}

/// Whether a unary operator is a built-in one the gate accepts.
pub(crate) fn unary_operator_allowed(flavor: Flavor, op: &UnaryOperator) -> bool {
    use UnaryOperator as U;
    match flavor {
        Flavor::Postgres => matches!(
            op,
            U::Plus
                | U::Minus
                | U::Not
                | U::BitwiseNot
                | U::PGAbs
                | U::PGSquareRoot
                | U::PGCubeRoot
        ),
        Flavor::MaxCompute => matches!(op, U::Plus | U::Minus | U::Not | U::BitwiseNot),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
