use super::*;

#[test]
fn the_add_line_separates_claude_options_from_the_server_command() {
    let entry = ServerEntry {
        command: PathBuf::from("/opt/sql warden/sqlwarden"),
        args: vec!["--config-dir".into(), "/home/a/prof".into(), "serve".into()],
    };
    assert_eq!(
        shell_line(&add_command(&entry, Scope::User, "crm")),
        "claude mcp add --scope user crm -- '/opt/sql warden/sqlwarden' --config-dir /home/a/prof serve"
    );
    assert_eq!(
        shell_line(&remove_command(Scope::Project, "it's")),
        r"claude mcp remove --scope project 'it'\''s'"
    );
}
