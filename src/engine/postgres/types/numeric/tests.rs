use super::*;

fn encode(ndigits: u16, weight: i16, sign: u16, dscale: u16, digits: &[u16]) -> Vec<u8> {
    let mut out = Vec::new();
    for w in [ndigits, weight as u16, sign, dscale] {
        out.extend_from_slice(&w.to_be_bytes());
    }
    for d in digits {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out
}

#[test]
fn renders_integer_fraction_and_sign() {
    // 12345.678 = 1|2345|6780 with weight 1, scale 3
    let raw = encode(3, 1, 0, 3, &[1, 2345, 6780]);
    assert_eq!(render(&raw).expect("test value"), "12345.678");
    let raw = encode(1, -2, SIGN_NEGATIVE, 6, &[1200]);
    assert_eq!(render(&raw).expect("test value"), "-0.000012");
}

#[test]
fn renders_zero_with_scale_and_specials() {
    assert_eq!(
        render(&encode(0, 0, 0, 2, &[])).expect("test value"),
        "0.00"
    );
    assert_eq!(
        render(&encode(0, 0, SIGN_NAN, 0, &[])).expect("test value"),
        "NaN"
    );
    assert_eq!(
        render(&encode(0, 0, SIGN_NEG_INFINITY, 0, &[])).expect("test value"),
        "-Infinity"
    );
}

#[test]
fn short_input_is_an_error_not_a_panic() {
    assert!(render(&[0, 1]).is_err());
    assert!(render(&encode(2, 0, 0, 0, &[1])).is_err());
}
