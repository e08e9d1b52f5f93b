use super::*;

#[test]
fn strings_read_the_same_under_either_escape_setting() {
    assert_eq!(postgres_string("plain").unwrap(), "'plain'");
    assert_eq!(postgres_string("O'Brien").unwrap(), "'O''Brien'");
    assert_eq!(postgres_string("a''b").unwrap(), "'a''''b'");
    assert_eq!(postgres_string(r"a\'b").unwrap(), r"E'a\\''b'");
    assert_eq!(postgres_string("line\nnext").unwrap(), r"E'line\x0Anext'");
    assert_eq!(postgres_string("c1\u{85}").unwrap(), r"E'c1\u0085'");
    assert!(postgres_string("nul\0").is_err());
}

#[test]
fn numbers_are_plain_decimals() {
    for ok in ["1", "1.5", ".5", "5.", "1e10", "1.5E-3", "0"] {
        assert!(is_plain_number(ok), "{ok}");
    }
    for bad in [
        "", ".", "0x1F", "1_000", "1e", "1e+", "--1", "1.2.3", "1ee2",
    ] {
        assert!(!is_plain_number(bad), "{bad}");
    }
}

#[test]
fn maxcompute_strings_refuse_what_the_lexers_read_differently() {
    assert_eq!(maxcompute_string("EAST").unwrap(), "'EAST'");
    for bad in ["O'Brien", r"a\b", "say \"hi\"", "tab\t"] {
        assert!(maxcompute_string(bad).is_err(), "{bad}");
    }
}
