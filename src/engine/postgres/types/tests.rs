use super::*;

#[test]
fn money_keeps_cents_and_sign() {
    assert_eq!(money(123_456), "1234.56");
    assert_eq!(money(-5), "-0.05");
    assert_eq!(money(i64::MIN), "-92233720368547758.08");
}

#[test]
fn float4_keeps_the_stored_decimal() {
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
