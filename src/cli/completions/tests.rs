use super::*;

#[test]
fn every_shell_gets_a_script_naming_the_subcommands() {
    for shell in [
        Shell::Bash,
        Shell::Zsh,
        Shell::Fish,
        Shell::PowerShell,
        Shell::Elvish,
    ] {
        let text = script(shell);
        for subcommand in ["serve", "init", "check", "query", "install", "completions"] {
            assert!(text.contains(subcommand), "{shell}: {subcommand}");
        }
    }
}
