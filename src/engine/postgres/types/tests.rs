use super::*;

#[test]
fn money_keeps_cents_and_sign() {
    assert_eq!(money(123_456), "1234.56");
    assert_eq!(money(-5), "-0.05");
    assert_eq!(money(i64::MIN), "-92233720368547758.08");
}

#[test]
fn float4_keeps_the_stored_decimal() {
    let float4 = |value: f32| Value::from(Scalar::Float(widened(value)));
    assert_eq!(float4(0.1), serde_json::json!(0.1));
    assert_eq!(float4(f32::NAN), serde_json::json!("NaN"));
    assert_eq!(float4(f32::NEG_INFINITY), serde_json::json!("-Infinity"));
}

#[test]
fn nest_builds_row_major_arrays() {
    let flat = (1..=6).map(Value::from).collect::<Vec<_>>();
    let nested = nest(&[2, 3], &mut flat.into_iter());
    assert_eq!(nested, serde_json::json!([[1, 2, 3], [4, 5, 6]]));
}

/// The binary form of a one-dimensional array of `element`.
fn array_bytes(element: &Type, items: &[Option<&[u8]>]) -> Vec<u8> {
    let mut out = bytes::BytesMut::new();
    let dimension = wire::ArrayDimension {
        len: i32::try_from(items.len()).unwrap_or(i32::MAX),
        lower_bound: 1,
    };
    wire::array_to_sql(
        Some(dimension),
        element.oid(),
        items.iter(),
        |item, buf| {
            Ok(match item {
                Some(bytes) => {
                    buf.extend_from_slice(bytes);
                    postgres_protocol::IsNull::No
                }
                None => postgres_protocol::IsNull::Yes,
            })
        },
        &mut out,
    )
    .map_err(|e| e.to_string())
    .unwrap_or_else(|e| panic!("{e}"));
    out.to_vec()
}

/// Arrays of a scalar type are written from their bytes, not rendered as
/// a `Value` and then written: the differential tests against `render`
/// would also pass if every array fell back to it.
#[test]
fn arrays_of_scalars_are_written_as_text_and_others_are_not() {
    let ints = array_bytes(&Type::INT4, &[Some(&7i32.to_be_bytes()), None]);
    assert_eq!(array_text(&Type::INT4, &ints).as_deref(), Some("[7,null]"));
    let texts = array_bytes(&Type::TEXT, &[Some("a\"b".as_bytes()), Some(b"")]);
    assert_eq!(
        array_text(&Type::TEXT, &texts).as_deref(),
        Some(r#"["a\"b",""]"#)
    );
    let documents = array_bytes(&Type::JSONB, &[Some(b"\x01{}")]);
    assert_eq!(array_text(&Type::JSONB, &documents), None);
    let short = array_bytes(&Type::INT8, &[Some(&[0, 1])]);
    assert_eq!(
        array_text(&Type::INT8, &short),
        None,
        "bytes that do not decode"
    );
}
