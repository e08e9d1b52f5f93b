use super::*;

/// One worker for one client (stdio, and every command run at a
/// terminal); two for team mode's many.
#[test]
fn only_team_mode_runs_two_workers() {
    let threads = |args: &[&str]| worker_threads(&Cli::try_parse_from(args).unwrap());
    assert_eq!(threads(&["sqlwarden"]), 1);
    assert_eq!(threads(&["sqlwarden", "serve"]), 1);
    assert_eq!(threads(&["sqlwarden", "query", "SELECT 1"]), 1);
    assert_eq!(
        threads(&["sqlwarden", "serve", "--http", "127.0.0.1:8080"]),
        2
    );
}
