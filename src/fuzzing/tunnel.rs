//! The instance-tunnel record decoder under arbitrary bytes, with fixed
//! schemas that cover every column type (scalars, and arrays, maps and
//! structs nested in each other). For each schema:
//!
//! 1. decoding the whole buffer never panics and always ends: every step
//!    that returns a record or the footer consumed at least one byte and no
//!    more than it was given, and a record has one value per column;
//! 2. feeding the same bytes in small chunks (sizes taken from the input)
//!    yields the same records and the same end (footer, error, or "needs
//!    more"): the decoder's all-or-nothing promise per record.
//!
//! Unbounded allocation from a length prefix is caught by the fuzzer's
//! `-malloc_limit_mb`; a loop that never ends by its `-timeout`.

use serde_json::Value;

use crate::engine::maxcompute::stream::{RecordDecoder, Step, StreamError};

/// The schemas every input is decoded with.
pub const SCHEMAS: &[&[&str]] = &[
    // Every scalar type.
    &[
        "tinyint",
        "smallint",
        "int",
        "bigint",
        "boolean",
        "float",
        "double",
        "decimal(38,18)",
        "string",
        "varchar(10)",
        "char(4)",
        "binary",
        "datetime",
        "date",
        "timestamp",
        "timestamp_ntz",
        "interval_day_time",
        "interval_year_month",
        "json",
    ],
    // Complex types, nested.
    &[
        "array<bigint>",
        "map<string,double>",
        "struct<a:int,b:array<string>,c:map<bigint,boolean>>",
        "array<map<string,struct<x:timestamp,y:binary,z:decimal(10,2)>>>",
        "map<date,array<struct<p:float,q:json>>>",
    ],
    // A realistic order-details row (benches/tunnel.rs).
    &[
        "bigint",
        "string",
        "string",
        "double",
        "decimal(18,2)",
        "datetime",
        "string",
        "bigint",
    ],
];

/// How one decoding run ended.
#[derive(Debug, PartialEq)]
enum End {
    /// The footer, verified.
    Footer,
    /// The bytes ran out before the footer.
    NeedMore,
    /// The stream was refused.
    Error(StreamError),
}

/// Decode `data` with every schema in [`SCHEMAS`], whole and in chunks,
/// and check the invariants; panics when one fails.
pub fn check(data: &[u8]) {
    for schema in SCHEMAS {
        let whole = decode_whole(schema, data);
        let chunked = decode_chunked(schema, data);
        assert_eq!(
            whole, chunked,
            "schema {schema:?}: chunked decoding differs from whole-buffer decoding"
        );
    }
}

fn decoder(schema: &[&str]) -> RecordDecoder {
    RecordDecoder::new(schema).expect("the fuzz schemas are valid MaxCompute types")
}

/// Check one step's byte accounting and shape.
fn account(schema: &[&str], step: &Step, available: usize) {
    match step {
        Step::Record(values, used) => {
            assert!(
                *used > 0 && *used <= available,
                "a record consumed {used} of {available} bytes"
            );
            assert_eq!(values.len(), schema.len(), "a record of the wrong width");
        }
        Step::End(used) => assert!(
            *used > 0 && *used <= available,
            "the footer consumed {used} of {available} bytes"
        ),
        Step::NeedMore => {}
    }
}

fn decode_whole(schema: &[&str], data: &[u8]) -> (Vec<Vec<Value>>, End) {
    let mut decoder = decoder(schema);
    let mut records = Vec::new();
    let mut at = 0;
    loop {
        let rest = &data[at..];
        match decoder.next_record(rest) {
            Ok(step) => {
                account(schema, &step, rest.len());
                match step {
                    Step::Record(values, used) => {
                        records.push(values);
                        at += used;
                    }
                    Step::End(_) => return (records, End::Footer),
                    Step::NeedMore => return (records, End::NeedMore),
                }
            }
            Err(e) => return (records, End::Error(e)),
        }
    }
}

/// Feed `data` a few bytes at a time, the way the tunnel reader feeds
/// network reads; the chunk sizes cycle through the input's own first bytes.
fn decode_chunked(schema: &[&str], data: &[u8]) -> (Vec<Vec<Value>>, End) {
    let sizes: Vec<usize> = data
        .iter()
        .take(8)
        .map(|b| usize::from(b % 13) + 1)
        .collect();
    let mut decoder = decoder(schema);
    let mut records = Vec::new();
    let mut buf: Vec<u8> = Vec::new();
    let mut fed = 0;
    let mut start = 0;
    let mut round = 0;
    loop {
        let rest = &buf[start..];
        match decoder.next_record(rest) {
            Ok(step) => {
                account(schema, &step, rest.len());
                match step {
                    Step::Record(values, used) => {
                        records.push(values);
                        start += used;
                    }
                    Step::End(_) => return (records, End::Footer),
                    Step::NeedMore if fed == data.len() => return (records, End::NeedMore),
                    Step::NeedMore => {
                        let size = sizes.get(round % sizes.len().max(1)).copied().unwrap_or(1);
                        round += 1;
                        let end = (fed + size).min(data.len());
                        buf.extend_from_slice(&data[fed..end]);
                        fed = end;
                    }
                }
            }
            Err(e) => return (records, End::Error(e)),
        }
    }
}
