//! The SQL that makes a PostgreSQL role able to read exactly what policy
//! allows, and nothing else (`sqlwarden grants --emit-sql`).
//!
//! The script is pure text built from a [`GrantPlan`]: it creates the role
//! as NOLOGIN when missing, strips every attribute that escapes policy,
//! makes its sessions read-only by default, revokes whatever it held on the
//! tables of the schemas involved (so running the script again after policy
//! shrank takes the old grants away), then grants USAGE on those schemas
//! and column-level SELECT on the allowed columns. Every name is quoted as
//! an identifier (or, inside the creation block, as a literal), so a table
//! called `a"b` or a role called `x; DROP` stays one name. Running the
//! script twice leaves the same state.

/// One table and the columns the role may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TableGrant {
    /// Schema name, as the database spells it.
    pub schema: String,
    /// Table name.
    pub table: String,
    /// Columns to grant SELECT on (never empty in a useful plan).
    pub columns: Vec<String>,
}

/// What the script sets up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GrantPlan {
    /// The NOLOGIN role to create or narrow.
    pub role: String,
    /// A login to make a member of the role (so it may `SET ROLE`).
    pub(crate) grant_to: Option<String>,
    /// A comment line for the top of the script (the source, the policy).
    pub(crate) header: String,
    /// The tables, in the order they should appear.
    pub tables: Vec<TableGrant>,
}

/// `name` quoted as a PostgreSQL identifier.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `text` quoted as a PostgreSQL string literal (standard strings: only
/// `'` needs doubling).
pub(crate) fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A dollar-quote tag that does not occur in `body`.
fn dollar_tag(body: &str) -> String {
    let mut tag = "$sqlwarden$".to_owned();
    let mut n = 0;
    while body.contains(&tag) {
        n += 1;
        tag = format!("$sqlwarden{n}$");
    }
    tag
}

impl GrantPlan {
    /// The SQL script, one transaction.
    pub(crate) fn to_sql(&self) -> String {
        let role = quote_ident(&self.role);
        let mut out = Vec::new();
        for line in self.header.lines() {
            out.push(format!("-- {line}"));
        }
        out.push("BEGIN;".into());
        let body = format!(
            "\nBEGIN\n  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = {lit}) THEN\n    EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', {lit});\n  END IF;\nEND\n",
            lit = quote_literal(&self.role)
        );
        let tag = dollar_tag(&body);
        out.push(format!("DO {tag}{body}{tag};"));
        out.push(format!(
            "ALTER ROLE {role} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;"
        ));
        // Applies to sessions that log in as the role; a login that uses
        // it through SET ROLE gets read-only transactions from sqlwarden.
        out.push(format!(
            "ALTER ROLE {role} SET default_transaction_read_only = on;"
        ));
        let mut schemas: Vec<&str> = Vec::new();
        for table in &self.tables {
            if !schemas.contains(&table.schema.as_str()) {
                schemas.push(&table.schema);
            }
        }
        for schema in &schemas {
            let schema = quote_ident(schema);
            out.push(format!(
                "REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {role};"
            ));
            out.push(format!("REVOKE CREATE ON SCHEMA {schema} FROM {role};"));
            out.push(format!("GRANT USAGE ON SCHEMA {schema} TO {role};"));
        }
        for table in self.tables.iter().filter(|t| !t.columns.is_empty()) {
            let columns: Vec<String> = table.columns.iter().map(|c| quote_ident(c)).collect();
            out.push(format!(
                "GRANT SELECT ({}) ON TABLE {}.{} TO {role};",
                columns.join(", "),
                quote_ident(&table.schema),
                quote_ident(&table.table)
            ));
        }
        if let Some(login) = &self.grant_to {
            out.push(format!("GRANT {role} TO {};", quote_ident(login)));
        }
        out.push("COMMIT;".into());
        out.join("\n") + "\n"
    }
}

/// The columns of a table the role may read: `allowed` when policy lists
/// them (in that order), else every column the database has, less
/// `denied` either way. `same_name` is the engine's name comparison.
pub(crate) fn readable_columns(
    allowed: Option<&[String]>,
    denied: &[String],
    database_columns: &[String],
    same_name: impl Fn(&str, &str) -> bool,
) -> Vec<String> {
    let candidates = allowed.unwrap_or(database_columns);
    candidates
        .iter()
        .filter(|c| !denied.iter().any(|d| same_name(d, c)))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests;
