//! The instance tunnel's record stream (protocol doc §4.5.1): protobuf
//! fields per non-NULL column, a CRC32C per record, then the record count
//! and the checksum of checksums; and the download-session JSON.
//!
//! It does not serve HTTP (the router does) or run queries. The one idea:
//! the checksum is fed exactly what a reader recomputes (column index as
//! 4-byte LE, then the value in its fixed-width or raw form), so a stream
//! pyodps accepts is a stream this code got right; the damage switches
//! break it on purpose.

use chrono::{NaiveDate, NaiveDateTime};
use serde_json::json;

use super::exec::{ResultColumn, ResultSet};
use super::types::McType;
use super::value::Value;

const END_RECORD: u32 = 33_553_408;
const META_COUNT: u32 = 33_554_430;
const META_CHECKSUM: u32 = 33_554_431;

const WIRE_VARINT: u32 = 0;
const WIRE_FIXED64: u32 = 1;
const WIRE_LEN: u32 = 2;
const WIRE_FIXED32: u32 = 5;

/// Running CRC32C as the tunnel reader keeps it.
#[derive(Default)]
struct Checksum(u32);

impl Checksum {
    fn update(&mut self, bytes: &[u8]) {
        self.0 = crc32c::crc32c_append(self.0, bytes);
    }
}

struct Writer {
    out: Vec<u8>,
}

impl Writer {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.out.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.out.push(v as u8);
    }

    fn tag(&mut self, field: u32, wire: u32) {
        self.varint(u64::from((field << 3) | wire));
    }

    fn sint64(&mut self, v: i64) {
        self.varint(((v << 1) ^ (v >> 63)) as u64);
    }

    fn bytes(&mut self, b: &[u8]) {
        self.varint(b.len() as u64);
        self.out.extend_from_slice(b);
    }
}

/// Options that deliberately damage a stream (fault injection).
#[derive(Debug, Clone, Copy, Default)]
pub struct Damage {
    /// Cut the stream in the middle (no footer).
    pub truncate: bool,
    /// Flip a bit in the first record's checksum.
    pub corrupt_crc: bool,
}

/// Encode `rows` of `columns` as one record stream.
pub fn encode(columns: &[ResultColumn], rows: &[Vec<Value>], damage: Damage) -> Vec<u8> {
    let mut w = Writer { out: Vec::new() };
    let mut crccrc = Checksum::default();
    for (n, row) in rows.iter().enumerate() {
        let mut crc = Checksum::default();
        for (i, (col, value)) in columns.iter().zip(row).enumerate() {
            if *value == Value::Null {
                continue;
            }
            let index = (i + 1) as u32;
            crc.update(&(index as i32).to_le_bytes());
            w.tag(index, wire_type(&col.ty));
            field(&mut w, &mut crc, &col.ty, value);
        }
        let mut sum = crc.0;
        if damage.corrupt_crc && n == 0 {
            sum ^= 1;
        }
        w.tag(END_RECORD, WIRE_VARINT);
        w.varint(u64::from(sum));
        crccrc.update(&crc.0.to_le_bytes());
    }
    w.tag(META_COUNT, WIRE_VARINT);
    w.sint64(rows.len() as i64);
    w.tag(META_CHECKSUM, WIRE_VARINT);
    w.varint(u64::from(crccrc.0));
    if damage.truncate {
        let half = w.out.len() / 2;
        w.out.truncate(half);
    }
    w.out
}

fn wire_type(ty: &McType) -> u32 {
    match ty {
        McType::Double => WIRE_FIXED64,
        McType::Float => WIRE_FIXED32,
        t if t.is_integer() => WIRE_VARINT,
        McType::Boolean | McType::Datetime | McType::Date => WIRE_VARINT,
        // Strings, binary, decimals, arrays; timestamps are tagged 2 as
        // the Go SDK does (readers ignore the wire type).
        _ => WIRE_LEN,
    }
}

fn epoch_days(d: &NaiveDate) -> i64 {
    (*d - NaiveDate::default()).num_days()
}

fn epoch_millis(t: &NaiveDateTime) -> i64 {
    t.and_utc().timestamp_millis()
}

/// One value of type `ty`, feeding the record checksum.
fn field(w: &mut Writer, crc: &mut Checksum, ty: &McType, value: &Value) {
    match (ty, value) {
        (McType::Double, v) => {
            let d = match v {
                Value::Double(d) => *d,
                Value::Float(f) => f64::from(*f),
                Value::Int(i) => *i as f64,
                _ => f64::NAN,
            };
            w.out.extend_from_slice(&d.to_le_bytes());
            crc.update(&d.to_le_bytes());
        }
        (McType::Float, v) => {
            let f = match v {
                Value::Float(f) => *f,
                Value::Double(d) => *d as f32,
                _ => f32::NAN,
            };
            w.out.extend_from_slice(&f.to_le_bytes());
            crc.update(&f.to_le_bytes());
        }
        (McType::Boolean, v) => {
            let b = matches!(v, Value::Bool(true));
            w.varint(u64::from(b));
            crc.update(&[u8::from(b)]);
        }
        (t, Value::Int(i)) if t.is_integer() => long(w, crc, *i),
        (McType::Datetime, Value::DateTime(t)) => long(w, crc, epoch_millis(t)),
        (McType::Date, Value::Date(d)) => long(w, crc, epoch_days(d)),
        (McType::Timestamp | McType::TimestampNtz, Value::DateTime(t)) => {
            let ts = t.and_utc();
            let nanos = ts.timestamp_subsec_nanos() as i32;
            w.sint64(ts.timestamp());
            crc.update(&ts.timestamp().to_le_bytes());
            w.sint64(i64::from(nanos));
            crc.update(&nanos.to_le_bytes());
        }
        (McType::Array(elem), Value::Array(items)) => list(w, crc, elem, items.iter()),
        (McType::Map(k, v), Value::Map(entries)) => {
            list(w, crc, k, entries.iter().map(|(key, _)| key));
            list(w, crc, v, entries.iter().map(|(_, val)| val));
        }
        (McType::Struct(fields), Value::Struct(values)) => {
            for ((_, ty), (_, value)) in fields.iter().zip(values) {
                nullable(w, crc, ty, value);
            }
        }
        (_, v) => {
            let bytes = match v {
                Value::Bytes(b) => b.clone(),
                other => other.csv_text().unwrap_or_default().into_bytes(),
            };
            w.bytes(&bytes);
            crc.update(&bytes);
        }
    }
}

/// An array: count, then each element with its null flag.
fn list<'a>(
    w: &mut Writer,
    crc: &mut Checksum,
    ty: &McType,
    items: impl ExactSizeIterator<Item = &'a Value>,
) {
    w.varint(items.len() as u64);
    for item in items {
        nullable(w, crc, ty, item);
    }
}

/// A null flag (not checksummed), then the value when there is one.
fn nullable(w: &mut Writer, crc: &mut Checksum, ty: &McType, value: &Value) {
    w.varint(u64::from(*value == Value::Null));
    if *value != Value::Null {
        field(w, crc, ty, value);
    }
}

fn long(w: &mut Writer, crc: &mut Checksum, v: i64) {
    w.sint64(v);
    crc.update(&v.to_le_bytes());
}

/// The download-session JSON for a result (protocol doc §4.5 step 1).
pub fn session_json(download_id: &str, result: &ResultSet) -> String {
    let columns: Vec<serde_json::Value> = result
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            json!({
                "column_id": i.to_string(),
                "name": c.name,
                "type": c.ty.to_string(),
                "comment": "",
                "nullable": true,
                "isNullable": true,
            })
        })
        .collect();
    json!({
        "DownloadID": download_id,
        "Status": "normal",
        "RecordCount": result.rows.len(),
        "Schema": {"columns": columns, "partitionKeys": []},
        "QuotaName": "",
        "SupportReadByRawSize": false,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zigzag_and_tags_match_protobuf() {
        let mut w = Writer { out: Vec::new() };
        w.sint64(-1);
        w.sint64(1);
        w.sint64(-64);
        assert_eq!(w.out, vec![1, 2, 127]);
        let mut w = Writer { out: Vec::new() };
        w.tag(END_RECORD, WIRE_VARINT);
        // 33553408 << 3 = 268427264 -> varint bytes
        assert_eq!(w.out, vec![0x80, 0xC0, 0xFF, 0x7F]);
    }

    #[test]
    fn empty_stream_has_count_and_checksum() {
        let out = encode(&[], &[], Damage::default());
        let mut w = Writer { out: Vec::new() };
        w.tag(META_COUNT, WIRE_VARINT);
        w.sint64(0);
        w.tag(META_CHECKSUM, WIRE_VARINT);
        w.varint(0);
        assert_eq!(out, w.out);
    }
}
