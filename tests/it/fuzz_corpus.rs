//! Replays every committed fuzz corpus file (fuzz/corpus/) and every input
//! that once broke an invariant (fuzz/regressions/) through the same checks
//! the cargo-fuzz targets run (`sqlwarden::fuzzing`), so CI catches a
//! regression without nightly or libFuzzer.
#![allow(clippy::unwrap_used)]

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use chrono::{NaiveDate, NaiveDateTime};
use sqlwarden::engine::maxcompute::stream::{RecordDecoder, Step};
use sqlwarden::fuzzing::{gate::GateHarness, tunnel};

use crate::support::maxcompute::exec::ResultColumn;
use crate::support::maxcompute::tunnel::{encode, Damage};
use crate::support::maxcompute::types::McType;
use crate::support::maxcompute::value::Value;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// Every file of `fuzz/corpus/<target>` and `fuzz/regressions/<target>`.
fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    for kind in ["corpus", "regressions"] {
        let dir = fuzz_dir().join(kind).join(target);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_file() {
                let bytes = std::fs::read(&path).unwrap();
                files.push((path, bytes));
            }
        }
    }
    files.sort();
    files
}

/// Run `check` on every input, collecting every failure (with its file)
/// rather than stopping at the first.
fn replay(target: &str, minimum: usize, check: impl Fn(&[u8])) {
    let files = inputs(target);
    assert!(
        files.len() >= minimum,
        "expected at least {minimum} committed `{target}` inputs, found {}",
        files.len()
    );
    let failures: Vec<String> = files
        .iter()
        .filter_map(|(path, bytes)| {
            catch_unwind(AssertUnwindSafe(|| check(bytes)))
                .err()
                .map(|panic| {
                    let message = panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
                    format!("{}: {message}", path.display())
                })
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn gate_corpus_holds_the_gate_invariants() {
    let harness = GateHarness::new();
    replay("gate", 400, |bytes| {
        if let Ok(sql) = std::str::from_utf8(bytes) {
            harness.check(sql);
        }
    });
}

#[test]
fn gate_lexer_corpus_holds_the_gate_invariants() {
    // Debug builds give sqlparser's recursive descent frames many times
    // larger than the release build the fuzzer ran these inputs on; deeply
    // nested inputs would overflow a test thread's 2 MiB there.
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(|| {
            let harness = GateHarness::new();
            replay("gate_lexer", 50, |bytes| harness.check_fragments(bytes));
        })
        .expect("spawn the replay thread")
        .join()
        .expect("the gate_lexer replay");
}

#[test]
fn tunnel_corpus_holds_the_decoder_invariants() {
    replay("tunnel", 8, tunnel::check);
}

/// Real record streams from the emulator's encoder: each schema of the
/// fuzz harness with a few rows (NULLs, extremes, nesting), plus the
/// emulator's damaged variants.
fn emulator_streams() -> Vec<(String, Vec<&'static str>, Vec<u8>)> {
    let day = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
    let moment: NaiveDateTime = day.and_hms_nano_opt(23, 59, 58, 123_456_789).unwrap();
    let scalars = vec![
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
    ];
    let scalar_rows = vec![
        vec![
            Value::Int(-128),
            Value::Int(32767),
            Value::Int(i64::from(i32::MIN)),
            Value::Int(i64::MAX),
            Value::Bool(true),
            Value::Float(1.5),
            Value::Double(-0.000_1),
            Value::Text("12345678901234567890.123456789012345678".into()),
            Value::Text("héllo\u{0}wörld".into()),
            Value::Text("ten chars!".into()),
            Value::Text("abcd".into()),
            Value::Bytes(vec![0, 255, 1, 254]),
            Value::DateTime(moment),
            Value::Date(day),
            Value::DateTime(moment),
            Value::DateTime(moment),
        ],
        vec![Value::Null; 16],
    ];
    let complex = vec![
        "array<bigint>",
        "map<string,double>",
        "struct<a:int,b:array<string>,c:map<bigint,boolean>>",
    ];
    let complex_rows = vec![
        vec![
            Value::Array(vec![Value::Int(1), Value::Null, Value::Int(-3)]),
            Value::Map(vec![
                (Value::Text("a".into()), Value::Double(1.0)),
                (Value::Text("b".into()), Value::Null),
            ]),
            Value::Struct(vec![
                ("a".into(), Value::Int(7)),
                (
                    "b".into(),
                    Value::Array(vec![Value::Text("x".into()), Value::Null]),
                ),
                (
                    "c".into(),
                    Value::Map(vec![(Value::Int(1), Value::Bool(false))]),
                ),
            ]),
        ],
        vec![Value::Array(vec![]), Value::Map(vec![]), Value::Null],
    ];
    let orders = vec![
        "bigint",
        "string",
        "string",
        "double",
        "decimal(18,2)",
        "datetime",
        "string",
        "bigint",
    ];
    let order_rows = (0..3)
        .map(|i| {
            vec![
                Value::Int(4_000_000_000 + i),
                Value::Text(format!("DO{i:012}")),
                Value::Text(format!("Product {i} — carton of 12")),
                Value::Double(i as f64 * 1.25),
                Value::Text(format!("{i}.{:02}", i * 7)),
                Value::DateTime(moment),
                if i == 1 {
                    Value::Null
                } else {
                    Value::Text("EAST".into())
                },
                Value::Int(i % 50),
            ]
        })
        .collect::<Vec<_>>();

    let mut streams = Vec::new();
    for (name, types, rows) in [
        ("scalars", scalars, scalar_rows),
        ("complex", complex, complex_rows),
        ("orders", orders, order_rows),
    ] {
        let columns: Vec<ResultColumn> = types
            .iter()
            .enumerate()
            .map(|(i, t)| ResultColumn {
                name: format!("c{i}"),
                ty: McType::parse(t).unwrap(),
            })
            .collect();
        for (variant, damage, rows) in [
            ("", Damage::default(), rows.as_slice()),
            ("-empty", Damage::default(), &rows[..0]),
            (
                "-truncated",
                Damage {
                    truncate: true,
                    ..Damage::default()
                },
                rows.as_slice(),
            ),
            (
                "-bad-crc",
                Damage {
                    corrupt_crc: true,
                    ..Damage::default()
                },
                rows.as_slice(),
            ),
        ] {
            streams.push((
                format!("emulator-{name}{variant}"),
                types.clone(),
                encode(&columns, rows, damage),
            ));
        }
    }
    streams
}

/// The emulator's undamaged streams decode to their footer with the schema
/// they were written in, so the seeds below exercise real decoding paths.
#[test]
fn emulator_streams_decode_with_their_own_schema() {
    for (name, types, bytes) in emulator_streams() {
        let mut decoder = RecordDecoder::new(&types).unwrap();
        let mut at = 0;
        let ended = loop {
            match decoder.next_record(&bytes[at..]) {
                Ok(Step::Record(_, used)) => at += used,
                Ok(Step::End(_)) => break true,
                Ok(Step::NeedMore) | Err(_) => break false,
            }
        };
        let damaged = name.ends_with("-truncated") || name.ends_with("-bad-crc");
        assert_eq!(ended, !damaged || name.contains("-empty"), "{name}");
    }
}

/// Writes the emulator's streams as tunnel seeds:
/// `cargo test --test it write_tunnel_seeds -- --ignored`.
#[test]
#[ignore = "writes fuzz/corpus/tunnel; run by hand when the seeds change"]
fn write_tunnel_seeds() {
    let dir = fuzz_dir().join("corpus").join("tunnel");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, _, bytes) in emulator_streams() {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}
