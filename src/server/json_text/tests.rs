use std::fmt::Write as _;

use super::*;

/// Every character serde_json escapes, and some it must not touch.
fn awkward() -> String {
    let mut text: String = (0u8..0x20).map(char::from).collect();
    text.push_str("\"quoted\" back\\slash / del\u{7f} é 中 😀 \u{2028}\u{2029} \u{feff}");
    text
}

/// The pieces escaped one by one, quoted by the caller.
fn piecewise(pieces: &[&str]) -> String {
    let mut out = Vec::new();
    out.push(b'"');
    let mut text = JsonText::new(&mut out);
    for piece in pieces {
        text.write_str(piece).unwrap();
    }
    out.push(b'"');
    String::from_utf8(out).unwrap()
}

#[test]
fn pieces_escape_to_the_bytes_of_the_whole_string() {
    let whole = awkward();
    let expected = serde_json::to_string(&whole).unwrap();
    assert_eq!(piecewise(&[&whole]), expected);
    // Split at every character boundary: the escaping does not depend on
    // where a piece ends.
    for (at, _) in whole.char_indices() {
        let (a, b) = whole.split_at(at);
        assert_eq!(piecewise(&[a, "", b]), expected, "split at {at}");
    }
    let back: String = serde_json::from_str(&expected).unwrap();
    assert_eq!(back, whole);
}

#[test]
fn a_failing_writer_is_reported_as_its_io_error() {
    struct Full;
    impl io::Write for Full {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::new(io::ErrorKind::BrokenPipe, "closed"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut out = Full;
    let mut text = JsonText::new(&mut out);
    assert!(text.write_str("a").is_err());
    assert_eq!(text.into_error().kind(), io::ErrorKind::BrokenPipe);
}
