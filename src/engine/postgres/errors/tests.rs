use super::*;

#[test]
fn long_server_text_is_cut_on_a_character_boundary() {
    let long = "é".repeat(MAX_SERVER_TEXT);
    let kept = cut(&long);
    assert!(kept.len() <= MAX_SERVER_TEXT && kept.len() > MAX_SERVER_TEXT - 4);
    assert!(long.starts_with(kept));
    assert_eq!(cut("short"), "short");
}
