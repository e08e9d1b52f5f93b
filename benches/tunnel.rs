//! Decoding rate of the MaxCompute instance tunnel record stream, in bytes
//! of wire data per second (target: 100 MB/s or more).
//!
//! The stream is realistic for sqlwarden's use: an order-detail table with
//! ids, codes, names, amounts, a decimal, a datetime and a region, about 100
//! bytes per row. It is built by a small encoder here (written from
//! docs/maxcompute-rest.md §4.5.1), then decoded the way the engine does:
//! whole-buffer, and fed in 64 KiB network-sized chunks.

#![allow(clippy::expect_used, clippy::print_stderr)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sqlwarden::engine::maxcompute::stream::{RecordDecoder, Step};

const ROWS: usize = 100_000;
const TYPES: [&str; 8] = [
    "bigint",
    "string",
    "string",
    "double",
    "decimal(18,2)",
    "datetime",
    "string",
    "bigint",
];
const END_RECORD: u64 = 33_553_408;
const META_COUNT: u64 = 33_554_430;
const META_CHECKSUM: u64 = 33_554_431;

struct Encoder {
    out: Vec<u8>,
    crc: u32,
    crcs: u32,
}

impl Encoder {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.out.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.out.push(v as u8);
    }

    fn field(&mut self, index: u64, wire: u64) {
        self.varint((index << 3) | wire);
        self.crc = crc32c::crc32c_append(self.crc, &(index as i32).to_le_bytes());
    }

    fn long(&mut self, index: u64, v: i64) {
        self.field(index, 0);
        self.varint(((v << 1) ^ (v >> 63)) as u64);
        self.crc = crc32c::crc32c_append(self.crc, &v.to_le_bytes());
    }

    fn text(&mut self, index: u64, s: &str) {
        self.field(index, 2);
        self.varint(s.len() as u64);
        self.out.extend_from_slice(s.as_bytes());
        self.crc = crc32c::crc32c_append(self.crc, s.as_bytes());
    }

    fn double(&mut self, index: u64, d: f64) {
        self.field(index, 1);
        self.out.extend_from_slice(&d.to_le_bytes());
        self.crc = crc32c::crc32c_append(self.crc, &d.to_le_bytes());
    }

    fn end_record(&mut self) {
        self.varint(END_RECORD << 3);
        let crc = self.crc;
        self.varint(u64::from(crc));
        self.crcs = crc32c::crc32c_append(self.crcs, &crc.to_le_bytes());
        self.crc = 0;
    }
}

fn order_details() -> Vec<u8> {
    let regions = ["EAST", "NORTH", "SOUTH", "WEST"];
    let mut enc = Encoder {
        out: Vec::with_capacity(ROWS * 110),
        crc: 0,
        crcs: 0,
    };
    for i in 0..ROWS as i64 {
        enc.long(1, 4_000_000_000 + i);
        enc.text(2, &format!("DO{:012}", i * 7919 % 1_000_000_007));
        enc.text(3, &format!("Product {} — carton of 12", i % 5000));
        enc.double(4, (i % 10_000) as f64 * 1.25);
        enc.text(5, &format!("{}.{:02}", i % 100_000, i % 100));
        enc.long(6, 1_704_067_200_000 + i * 60_000);
        if i % 10 != 0 {
            // Every tenth region is NULL: omitted from the stream.
            enc.text(7, regions[(i % 4) as usize]);
        }
        enc.long(8, i % 50);
        enc.end_record();
    }
    enc.varint(META_COUNT << 3);
    enc.varint((ROWS as u64) << 1);
    enc.varint(META_CHECKSUM << 3);
    let crcs = enc.crcs;
    enc.varint(u64::from(crcs));
    enc.out
}

fn decode_whole(stream: &[u8]) -> usize {
    let mut decoder = RecordDecoder::new(&TYPES).expect("types");
    let mut at = 0;
    let mut rows = 0;
    loop {
        match decoder.next_record(&stream[at..]).expect("valid stream") {
            Step::Record(values, used) => {
                rows += values.len();
                at += used;
            }
            Step::End(_) => return rows,
            Step::NeedMore => panic!("truncated"),
        }
    }
}

/// Feeds 64 KiB chunks the way the engine's tunnel reader does: a read
/// offset into one buffer, compacted when half of it is consumed.
fn decode_chunked(stream: &[u8]) -> usize {
    const CHUNK: usize = 64 * 1024;
    let mut decoder = RecordDecoder::new(&TYPES).expect("types");
    let mut buf: Vec<u8> = Vec::with_capacity(2 * CHUNK);
    let mut start = 0;
    let mut fed = 0;
    let mut rows = 0;
    loop {
        match decoder.next_record(&buf[start..]).expect("valid stream") {
            Step::Record(values, used) => {
                rows += values.len();
                start += used;
            }
            Step::End(_) => return rows,
            Step::NeedMore => {
                if start * 2 >= buf.len() {
                    buf.drain(..start);
                    start = 0;
                }
                let end = (fed + CHUNK).min(stream.len());
                buf.extend_from_slice(&stream[fed..end]);
                fed = end;
            }
        }
    }
}

fn bench(c: &mut Criterion) {
    let stream = order_details();
    let mut group = c.benchmark_group("tunnel_decode");
    group.throughput(Throughput::Bytes(stream.len() as u64));
    group.sample_size(20);
    group.bench_function("order_details_whole_buffer", |b| {
        b.iter(|| decode_whole(&stream))
    });
    group.bench_function("order_details_64k_chunks", |b| {
        b.iter(|| decode_chunked(&stream))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
