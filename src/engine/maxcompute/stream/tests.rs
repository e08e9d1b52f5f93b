//! Tests of the record stream decoder, with a small encoder written from
//! docs/maxcompute-rest.md §4.5.1 (independently of the decoder's code).

use serde_json::json;

use super::*;

/// A cell to encode.
#[derive(Clone)]
enum Cell {
    Long(i64),
    Bool(bool),
    Float(f32),
    Double(f64),
    Bytes(Vec<u8>),
    SecNanos(i64, i32),
    List(Vec<Option<Cell>>),
    Pairs(Vec<Option<Cell>>, Vec<Option<Cell>>),
    Fields(Vec<Option<Cell>>),
}

fn text(s: &str) -> Option<Cell> {
    Some(Cell::Bytes(s.as_bytes().to_vec()))
}

#[derive(Default)]
struct Encoder {
    out: Vec<u8>,
    crc: u32,
    crcs: u32,
    records: i64,
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

impl Encoder {
    fn tag(&mut self, field: u64, wire: u64) {
        put_varint(&mut self.out, (field << 3) | wire);
    }

    fn sum(&mut self, bytes: &[u8]) {
        self.crc = crc32c::crc32c_append(self.crc, bytes);
    }

    fn cell(&mut self, cell: &Cell) {
        match cell {
            Cell::Long(v) => {
                put_varint(&mut self.out, zigzag(*v));
                self.sum(&v.to_le_bytes());
            }
            Cell::Bool(b) => {
                put_varint(&mut self.out, u64::from(*b));
                self.sum(&[u8::from(*b)]);
            }
            Cell::Float(f) => {
                self.out.extend_from_slice(&f.to_le_bytes());
                self.sum(&f.to_le_bytes());
            }
            Cell::Double(d) => {
                self.out.extend_from_slice(&d.to_le_bytes());
                self.sum(&d.to_le_bytes());
            }
            Cell::Bytes(b) => {
                put_varint(&mut self.out, b.len() as u64);
                self.out.extend_from_slice(b);
                self.sum(b);
            }
            Cell::SecNanos(s, n) => {
                put_varint(&mut self.out, zigzag(*s));
                self.sum(&s.to_le_bytes());
                put_varint(&mut self.out, u64::from(((n << 1) ^ (n >> 31)) as u32));
                self.sum(&n.to_le_bytes());
            }
            Cell::List(items) => self.list(items),
            Cell::Pairs(keys, values) => {
                self.list(keys);
                self.list(values);
            }
            Cell::Fields(items) => {
                for item in items {
                    put_varint(&mut self.out, u64::from(item.is_none()));
                    if let Some(item) = item {
                        self.cell(item);
                    }
                }
            }
        }
    }

    fn list(&mut self, items: &[Option<Cell>]) {
        put_varint(&mut self.out, items.len() as u64);
        for item in items {
            put_varint(&mut self.out, u64::from(item.is_none()));
            if let Some(item) = item {
                self.cell(item);
            }
        }
    }

    fn record(&mut self, cells: &[Option<Cell>]) {
        self.crc = 0;
        for (i, cell) in cells.iter().enumerate() {
            if let Some(cell) = cell {
                let field = i as u64 + 1;
                self.tag(field, 0);
                self.sum(&(field as i32).to_le_bytes());
                self.cell(cell);
            }
        }
        self.tag(END_RECORD, 0);
        let crc = self.crc;
        put_varint(&mut self.out, u64::from(crc));
        self.crcs = crc32c::crc32c_append(self.crcs, &crc.to_le_bytes());
        self.records += 1;
    }

    fn finish(mut self) -> Vec<u8> {
        self.tag(META_COUNT, 0);
        put_varint(&mut self.out, zigzag(self.records));
        self.tag(META_CHECKSUM, 0);
        put_varint(&mut self.out, u64::from(self.crcs));
        self.out
    }
}

/// Decode a whole buffer, feeding it in `chunk`-byte steps as a network
/// would deliver it.
fn decode(types: &[&str], stream: &[u8], chunk: usize) -> Result<Vec<Vec<Value>>, StreamError> {
    let mut decoder = RecordDecoder::new(types)?;
    let mut rows = Vec::new();
    let mut buf = Vec::new();
    let mut fed = 0;
    loop {
        match decoder.next_record(&buf)? {
            Step::Record(values, used) => {
                rows.push(values);
                buf.drain(..used);
            }
            Step::End(used) => {
                assert_eq!(used, buf.len(), "bytes after the footer");
                return Ok(rows);
            }
            Step::NeedMore if fed < stream.len() => {
                let end = (fed + chunk).min(stream.len());
                buf.extend_from_slice(&stream[fed..end]);
                fed = end;
            }
            Step::NeedMore => {
                return Err(StreamError::Truncated {
                    records: decoder.records(),
                })
            }
        }
    }
}

fn scalar_stream() -> Vec<u8> {
    let mut enc = Encoder::default();
    enc.record(&[
        Some(Cell::Long(1)),
        Some(Cell::Double(2.5)),
        text("alice"),
        Some(Cell::Bool(true)),
    ]);
    enc.record(&[
        Some(Cell::Long(-2)),
        None,
        text("bob"),
        Some(Cell::Bool(false)),
    ]);
    enc.record(&[None, None, None, None]);
    enc.finish()
}

const SCALARS: &[&str] = &["bigint", "double", "string", "boolean"];

#[test]
fn decodes_scalars_and_nulls_in_any_chunking() {
    let stream = scalar_stream();
    let expected = vec![
        vec![json!(1), json!(2.5), json!("alice"), json!(true)],
        vec![json!(-2), Value::Null, json!("bob"), json!(false)],
        vec![Value::Null, Value::Null, Value::Null, Value::Null],
    ];
    for chunk in [1, 2, 3, 7, 64, stream.len()] {
        assert_eq!(
            decode(SCALARS, &stream, chunk).unwrap(),
            expected,
            "chunk {chunk}"
        );
    }
}

#[test]
fn decodes_every_scalar_type() {
    let types = [
        "tinyint",
        "int",
        "float",
        "decimal(10,2)",
        "varchar(5)",
        "binary",
        "datetime",
        "date",
        "timestamp",
        "timestamp_ntz",
        "interval_day_time",
        "interval_year_month",
        "json",
    ];
    let mut enc = Encoder::default();
    enc.record(&[
        Some(Cell::Long(-7)),
        Some(Cell::Long(i64::from(i32::MAX))),
        Some(Cell::Float(0.1)),
        text("12345678901234567890.12"),
        text("héllo"),
        Some(Cell::Bytes(vec![0, 1, 254])),
        Some(Cell::Long(1_704_067_200_123)),
        Some(Cell::Long(19_723)),
        Some(Cell::SecNanos(1_704_067_200, 123_456_789)),
        Some(Cell::SecNanos(0, 1)),
        Some(Cell::SecNanos(-1, -500_000_000)),
        Some(Cell::Long(-14)),
        text(r#"{"k":[1,null]}"#),
    ]);
    let rows = decode(&types, &enc.finish(), 5).unwrap();
    assert_eq!(
        rows[0],
        vec![
            json!(-7),
            json!(2_147_483_647),
            json!(0.1),
            json!("12345678901234567890.12"),
            json!("héllo"),
            json!("AAH+"),
            json!("2024-01-01T00:00:00.123Z"),
            json!("2024-01-01"),
            json!("2024-01-01T00:00:00.123456789Z"),
            json!("1970-01-01T00:00:00.000000001"),
            json!("-PT1.5S"),
            json!("-P1Y2M"),
            json!({"k": [1, null]}),
        ]
    );
}

#[test]
fn decodes_arrays_maps_and_structs() {
    let types = [
        "array<bigint>",
        "map<string,double>",
        "struct<a:bigint,b:array<string>>",
        "map<int,string>",
    ];
    let mut enc = Encoder::default();
    enc.record(&[
        Some(Cell::List(vec![
            Some(Cell::Long(1)),
            None,
            Some(Cell::Long(3)),
        ])),
        Some(Cell::Pairs(vec![text("k")], vec![Some(Cell::Double(1.5))])),
        None,
        Some(Cell::Pairs(vec![Some(Cell::Long(7))], vec![None])),
    ]);
    enc.record(&[
        None,
        None,
        Some(Cell::Fields(vec![
            None,
            Some(Cell::List(vec![text("x"), None])),
        ])),
        None,
    ]);
    let rows = decode(&types, &enc.finish(), 3).unwrap();
    assert_eq!(
        rows[0],
        vec![
            json!([1, null, 3]),
            json!({"k": 1.5}),
            Value::Null,
            json!([[7, null]])
        ]
    );
    assert_eq!(
        rows[1],
        vec![
            Value::Null,
            Value::Null,
            json!({"a": null, "b": ["x", null]}),
            Value::Null
        ]
    );
}

#[test]
fn a_map_with_unequal_keys_and_values_is_malformed() {
    let mut enc = Encoder::default();
    enc.record(&[Some(Cell::Pairs(vec![text("a"), text("b")], vec![None]))]);
    assert!(matches!(
        decode(&["map<string,bigint>"], &enc.finish(), 64),
        Err(StreamError::Malformed { record: 0, .. })
    ));
}

#[test]
fn a_flipped_byte_fails_the_record_checksum() {
    let mut stream = scalar_stream();
    let at = stream.windows(5).position(|w| w == b"alice").unwrap();
    stream[at] ^= 0x20;
    assert_eq!(
        decode(SCALARS, &stream, 4),
        Err(StreamError::Checksum { record: 0 })
    );
}

#[test]
fn a_wrong_checksum_of_checksums_is_refused() {
    let mut stream = scalar_stream();
    let last = stream.len() - 1;
    stream[last] ^= 0x01;
    assert_eq!(
        decode(SCALARS, &stream, 64),
        Err(StreamError::StreamChecksum)
    );
}

#[test]
fn a_wrong_record_count_is_refused() {
    let mut enc = Encoder::default();
    enc.record(&[Some(Cell::Long(1)), None, None, None]);
    enc.records = 5;
    assert_eq!(
        decode(SCALARS, &enc.finish(), 64),
        Err(StreamError::Count { stated: 5, read: 1 })
    );
}

#[test]
fn truncation_anywhere_is_detected() {
    let stream = scalar_stream();
    for cut in 0..stream.len() {
        let result = decode(SCALARS, &stream[..cut], 3);
        assert!(
            matches!(result, Err(StreamError::Truncated { .. })),
            "cut at {cut}: {result:?}"
        );
    }
}

#[test]
fn unknown_field_numbers_are_refused() {
    let mut enc = Encoder::default();
    enc.tag(9, 0);
    put_varint(&mut enc.out, 1);
    assert_eq!(
        decode(SCALARS, &enc.out, 64),
        Err(StreamError::BadField {
            record: 0,
            field: 9
        })
    );
}

#[test]
fn a_huge_length_is_corruption_not_a_wait() {
    let mut enc = Encoder::default();
    enc.tag(3, 2);
    put_varint(&mut enc.out, u64::MAX >> 1);
    assert!(matches!(
        decode(SCALARS, &enc.out, 64),
        Err(StreamError::Malformed { record: 0, .. })
    ));
}

#[test]
fn metrics_block_is_checked() {
    let mut enc = Encoder::default();
    enc.record(&[Some(Cell::Long(1)), None, None, None]);
    let crcs = enc.crcs;
    enc.tag(META_COUNT, 0);
    put_varint(&mut enc.out, zigzag(1));
    let metrics = br#"{"x":1}"#;
    enc.tag(END_METRICS, 2);
    put_varint(&mut enc.out, metrics.len() as u64);
    enc.out.extend_from_slice(metrics);
    let crc = crc32c::crc32c_append(
        crc32c::crc32c_append(0, &(END_METRICS as i32).to_le_bytes()),
        metrics,
    );
    enc.tag(END_METRICS, 0);
    put_varint(&mut enc.out, u64::from(crc));
    enc.tag(META_CHECKSUM, 0);
    put_varint(&mut enc.out, u64::from(crcs));
    assert_eq!(decode(SCALARS, &enc.out, 5).unwrap().len(), 1);

    let mut bad = enc.out.clone();
    let at = bad.windows(7).position(|w| w == metrics).unwrap();
    bad[at + 2] ^= 1;
    assert_eq!(decode(SCALARS, &bad, 5), Err(StreamError::StreamChecksum));
}

#[test]
fn unsupported_types_are_named() {
    assert_eq!(
        RecordDecoder::new(&["geography"]).unwrap_err(),
        StreamError::UnsupportedType("geography".into())
    );
}

/// A stream written by pyodps 0.13.2's own `BaseRecordWriter` (run with
/// `TZ=UTC`), so the decoder is checked against the official SDK's encoder
/// and not only against the encoder above.
const PYODPS_STREAM: &str = "08021100000000000004401a05616c69636520012896b40230f6d18fa598633a0531322e33344202000178014a0100016b01000e5200020001795d0000003f80c0ff7fb4edb28f0208031a0462c3b362200042004a000052010180c0ff7fa2909996ffffffffff0180c0ff7f00f0ffff7f06f8ffff7fedcdabfd03";

#[test]
fn decodes_a_stream_written_by_pyodps() {
    let types = [
        "bigint",
        "double",
        "string",
        "boolean",
        "date",
        "datetime",
        "decimal(10,2)",
        "array<string>",
        "map<string,bigint>",
        "struct<a:int,b:string>",
        "float",
    ];
    let stream = hex::decode(PYODPS_STREAM).unwrap();
    let rows = decode(&types, &stream, 16).unwrap();
    assert_eq!(
        rows,
        vec![
            vec![
                json!(1),
                json!(2.5),
                json!("alice"),
                json!(true),
                json!("2024-01-01"),
                json!("2024-01-01T00:00:00.123Z"),
                json!("12.34"),
                json!(["x", null]),
                json!({"k": 7}),
                json!({"a": 1, "b": "y"}),
                json!(0.5),
            ],
            vec![
                json!(-2),
                Value::Null,
                json!("bób"),
                json!(false),
                Value::Null,
                Value::Null,
                Value::Null,
                json!([]),
                json!({}),
                json!({"a": null, "b": null}),
                Value::Null,
            ],
            vec![Value::Null; 11],
        ]
    );
}
