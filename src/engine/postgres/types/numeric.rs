//! `numeric` from its binary form to an exact decimal string.
//!
//! The wire form is a header (digit count, weight, sign, display scale)
//! followed by base-10000 digits; digit `k` is worth `10000^(weight - k)`.
//! Going through `f64` or a fixed-size decimal would lose digits, so the
//! string is built digit by digit, exactly as PostgreSQL's `numeric_out`
//! prints it (same scale, same trailing zeros).

use std::error::Error;
use std::fmt::Write as _;

const SIGN_NEGATIVE: u16 = 0x4000;
const SIGN_NAN: u16 = 0xC000;
const SIGN_POS_INFINITY: u16 = 0xD000;
const SIGN_NEG_INFINITY: u16 = 0xF000;

/// Render a binary `numeric`.
pub(super) fn render(raw: &[u8]) -> Result<String, Box<dyn Error + Sync + Send>> {
    let word = |i: usize| -> Result<u16, Box<dyn Error + Sync + Send>> {
        match raw.get(i * 2..i * 2 + 2) {
            Some(&[hi, lo]) => Ok(u16::from_be_bytes([hi, lo])),
            _ => Err("numeric value is shorter than its header says".into()),
        }
    };
    let ndigits = usize::from(word(0)?);
    let weight = i64::from(word(1)? as i16);
    let sign = word(2)?;
    let dscale = usize::from(word(3)? & 0x3FFF);
    match sign {
        SIGN_NAN => return Ok("NaN".into()),
        SIGN_POS_INFINITY => return Ok("Infinity".into()),
        SIGN_NEG_INFINITY => return Ok("-Infinity".into()),
        _ => {}
    }
    let digits = (0..ndigits)
        .map(|k| word(4 + k))
        .collect::<Result<Vec<u16>, _>>()?;
    let digit = |k: i64| -> u16 {
        usize::try_from(k)
            .ok()
            .and_then(|k| digits.get(k).copied())
            .unwrap_or(0)
    };

    let mut out = String::new();
    if sign == SIGN_NEGATIVE {
        out.push('-');
    }
    if weight < 0 {
        out.push('0');
    } else {
        for k in 0..=weight {
            if k == 0 {
                let _ = write!(out, "{}", digit(k));
            } else {
                let _ = write!(out, "{:04}", digit(k));
            }
        }
    }
    if dscale > 0 {
        out.push('.');
        let start = out.len();
        let mut k = weight + 1;
        while out.len() - start < dscale {
            let _ = write!(out, "{:04}", digit(k));
            k += 1;
        }
        out.truncate(start + dscale);
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
