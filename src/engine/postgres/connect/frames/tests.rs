use super::*;

/// A backend message of `kind` with `body`.
fn message(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![kind];
    m.extend_from_slice(&u32::try_from(body.len() + 4).unwrap().to_be_bytes());
    m.extend_from_slice(body);
    m
}

/// An error body with the given fields.
fn fields(fields: &[(u8, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (kind, value) in fields {
        body.push(*kind);
        body.extend_from_slice(value);
        body.push(0);
    }
    body.push(0);
    body
}

/// Run `stream` through a framing in chunks of `chunk` bytes and
/// return what the reader gets.
fn run(stream: &[u8], chunk: usize) -> io::Result<Vec<u8>> {
    let mut framing = Framing::default();
    let mut out = Vec::new();
    let mut pending: Vec<u8> = Vec::new();
    let mut rest = stream;
    loop {
        match framing.advance(&pending)? {
            Step::Pass(n) => {
                out.extend_from_slice(&pending[..n]);
                pending.drain(..n);
            }
            Step::Drop(n) => {
                pending.drain(..n);
            }
            Step::Replace { consumed, message } => {
                pending.drain(..consumed);
                out.extend_from_slice(&message);
            }
            Step::NeedMore => {
                if rest.is_empty() {
                    return Ok(out);
                }
                let n = rest.len().min(chunk);
                pending.extend_from_slice(&rest[..n]);
                rest = &rest[n..];
            }
        }
    }
}

/// The fields of an error body, as tokio-postgres's own parser reads
/// them.
fn parse_fields(body: &[u8]) -> Vec<(u8, String)> {
    use fallible_iterator::FallibleIterator;
    use postgres_protocol::message::backend::Message;
    let mut wire = bytes::BytesMut::from(&message(b'E', body)[..]);
    let Some(Message::ErrorResponse(error)) = Message::parse(&mut wire).unwrap() else {
        panic!("not an error response");
    };
    error
        .fields()
        .map(|f| {
            Ok((
                f.type_(),
                String::from_utf8(f.value_bytes().to_vec()).unwrap(),
            ))
        })
        .collect()
        .unwrap()
}

#[test]
fn ordinary_messages_pass_unchanged_in_any_chunking() {
    let mut stream = message(b'T', b"row description");
    stream.extend(message(b'D', &[7u8; 100_000]));
    stream.extend(message(b'C', b"SELECT 1\0"));
    stream.extend(message(
        b'E',
        &fields(&[(b'C', b"22P02"), (b'M', b"short")]),
    ));
    stream.extend(message(b'Z', b"I"));
    for chunk in [1, 3, 5, 7, 8192, usize::MAX] {
        assert_eq!(run(&stream, chunk).unwrap(), stream, "chunk {chunk}");
    }
}

#[test]
fn an_oversize_error_is_cut_field_by_field_and_stays_well_formed() {
    let huge = "é".repeat(300_000);
    let body = fields(&[
        (b'S', b"ERROR"),
        (b'C', b"22P02"),
        (
            b'M',
            format!("invalid input syntax for type integer: \"{huge}\"").as_bytes(),
        ),
        (b'D', huge.as_bytes()),
        (b'H', b"a hint"),
    ]);
    let mut stream = message(b'E', &body);
    stream.extend(message(b'Z', b"I"));
    for chunk in [1, 4096, 8192, usize::MAX] {
        let out = run(&stream, chunk).unwrap();
        assert_eq!(out[0], b'E');
        let length = u32::from_be_bytes([out[1], out[2], out[3], out[4]]) as usize;
        let (cut, after) = out[1..].split_at(length);
        assert_eq!(after, message(b'Z', b"I"), "the next message is intact");
        let parsed = parse_fields(&cut[4..]);
        let kinds: Vec<u8> = parsed.iter().map(|(k, _)| *k).collect();
        assert_eq!(kinds, b"SCMDH".to_vec());
        assert_eq!(parsed[1].1, "22P02");
        assert!(parsed[2].1.starts_with("invalid input syntax"));
        assert!(parsed[2].1.ends_with(CUT_MARK));
        assert!(parsed[2].1.len() <= MAX_FIELD + CUT_MARK.len());
        assert!(parsed[3].1.len() <= MAX_FIELD + CUT_MARK.len());
        assert_eq!(parsed[4].1, "a hint");
    }
}

#[test]
fn a_broken_oversize_error_still_comes_out_well_formed() {
    // No terminating NUL, a field cut off mid-way, many fields.
    let mut body = Vec::new();
    for _ in 0..200 {
        body.push(b'M');
        body.extend(std::iter::repeat_n(b'x', 2000));
        body.push(0);
    }
    body.push(b'D');
    body.extend(std::iter::repeat_n(b'y', 5000));
    let out = run(&message(b'N', &body), 1000).unwrap();
    assert_eq!(out[0], b'N');
    assert!(out.len() <= MAX_CUT_BODY + 16);
    assert_eq!(out[out.len() - 1], 0);
    let length = u32::from_be_bytes([out[1], out[2], out[3], out[4]]) as usize;
    assert_eq!(length + 1, out.len());
}

#[test]
fn other_oversize_messages_end_the_stream_before_their_body_is_read() {
    let mut header = vec![b'D'];
    header.extend_from_slice(&u32::try_from(MAX_MESSAGE + 5).unwrap().to_be_bytes());
    let error = run(&header, 5).unwrap_err();
    let too_large = error
        .get_ref()
        .and_then(|e| e.downcast_ref::<MessageTooLarge>())
        .unwrap();
    assert_eq!(too_large.kind, b'D');
    assert!(error.to_string().contains("more than the 8 MiB"));
    assert!(run(&[b'D', 0, 0, 0, 3], 5).is_err(), "length below 4");
}
