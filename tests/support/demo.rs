//! The demo setup the tests share: the demo warehouse in a fresh database,
//! and the config set `sqlwarden demo` writes for it, in a temporary
//! directory, with any file edited as a test needs.
//!
//! One copy, so the tests run against exactly what `sqlwarden demo` gives a
//! user; a test that needs more (another source, a partitioned table) adds
//! it on top.

use std::path::Path;

use sqlwarden::cli::demo::{config_files, write_files, DemoArgs, WAREHOUSE_SQL};
use tempfile::TempDir;

use super::pg::{self, TestDb};

/// The demo warehouse in a fresh database named after `label`.
pub async fn warehouse(label: &str) -> TestDb {
    let db = TestDb::create(label).await;
    db.client()
        .await
        .batch_execute(WAREHOUSE_SQL)
        .await
        .expect("load demo warehouse");
    db
}

/// The demo config set for `db` on the test server, each file's contents
/// passed through `edit` with its path relative to the directory.
pub fn config_dir(db: &TestDb, edit: impl Fn(&Path, String) -> String) -> TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let args = DemoArgs {
        force: false,
        pg_host: pg::host(),
        pg_port: pg::port(),
        pg_user: "postgres".into(),
        dbname: db.name.clone(),
    };
    let files: Vec<_> = config_files(&args)
        .into_iter()
        .map(|(relative, contents)| {
            let contents = edit(&relative, contents);
            (relative, contents)
        })
        .collect();
    write_files(dir.path(), &files).expect("write the demo config");
    dir
}
