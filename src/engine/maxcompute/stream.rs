//! The instance tunnel's record stream decoder (docs/maxcompute-rest.md
//! §4.5.1): protobuf-style fields, one CRC32C per record, and a footer with
//! the record count and a checksum of all record checksums.
//!
//! The decoder is incremental and all-or-nothing per record: [`RecordDecoder::next_record`]
//! either decodes one whole record (or the footer) from the front of the
//! buffer it is given, or says it needs more bytes and changes nothing. A
//! record is only returned after its checksum matched, so a corrupted stream
//! can never yield a wrong row. It does no I/O; `tunnel` feeds it.
//!
//! It is public only so that `benches/tunnel.rs` can measure it.

use serde_json::Value;

use super::types::{self, McType};

/// Field number that ends a record; its value is the record's CRC32C.
const END_RECORD: u64 = 33_553_408;
/// Field number of the footer's record count.
const META_COUNT: u64 = 33_554_430;
/// Field number of the footer's checksum of record checksums.
const META_CHECKSUM: u64 = 33_554_431;
/// Field number that ends the optional server metrics block.
const END_METRICS: u64 = 33_554_176;
/// Protobuf wire type of length-delimited fields.
const WIRE_LENGTH_DELIMITED: u64 = 2;
/// Longest single record or field accepted. MaxCompute caps a string at
/// 8 MiB by default and 256 MiB when raised; anything longer is corruption.
pub(crate) const MAX_RECORD_BYTES: usize = 256 * 1024 * 1024;

/// What went wrong in a stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    /// The stream ended before its footer.
    #[error("the stream ended early, after {records} complete records and before its footer")]
    Truncated {
        /// Records fully read before the end.
        records: u64,
    },
    /// A record's checksum did not match its content.
    #[error("record {record} failed its CRC32C check")]
    Checksum {
        /// 0-based index of the record.
        record: u64,
    },
    /// The footer's checksum of checksums did not match.
    #[error("the stream's checksum of record checksums does not match")]
    StreamChecksum,
    /// The footer's record count differs from the records read.
    #[error("the stream says {stated} records but held {read}")]
    Count {
        /// Count in the footer.
        stated: i64,
        /// Records read.
        read: u64,
    },
    /// A field number outside the columns and the footer fields.
    #[error("record {record} has a field number {field} that no column has")]
    BadField {
        /// 0-based index of the record.
        record: u64,
        /// The field number.
        field: u64,
    },
    /// A value could not be read as its column type.
    #[error("record {record}: {detail}")]
    Malformed {
        /// 0-based index of the record.
        record: u64,
        /// What was wrong.
        detail: String,
    },
    /// A record or field longer than [`MAX_RECORD_BYTES`].
    #[error("record {record} is longer than the {MAX_RECORD_BYTES}-byte limit")]
    TooLarge {
        /// 0-based index of the record.
        record: u64,
    },
    /// A column type the decoder does not know.
    #[error("unsupported column type `{0}`")]
    UnsupportedType(String),
}

/// One step of decoding.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// A verified record (values in column order; NULL as `null`) and the
    /// bytes it took.
    Record(Vec<Value>, usize),
    /// The verified footer and the bytes it took; the stream is complete.
    End(usize),
    /// The buffer holds no whole record yet; call again with more bytes.
    NeedMore,
}

/// Decodes one stream, record by record.
#[derive(Debug, Clone)]
pub struct RecordDecoder {
    columns: Vec<McType>,
    records: u64,
    crc_of_crcs: u32,
    /// The current record's checksummed bytes, reused across records: one
    /// CRC call per record is much cheaper than one per field.
    scratch: Vec<u8>,
}

/// Why reading a value stopped: the buffer ran out, or the bytes are wrong.
enum Stop {
    Short,
    Bad(String),
}

impl RecordDecoder {
    /// A decoder for columns of the given MaxCompute type names.
    pub fn new<S: AsRef<str>>(type_names: &[S]) -> Result<Self, StreamError> {
        let columns = type_names
            .iter()
            .map(|name| {
                McType::parse(name.as_ref())
                    .map_err(|_| StreamError::UnsupportedType(name.as_ref().to_owned()))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            columns,
            records: 0,
            crc_of_crcs: 0,
            scratch: Vec::with_capacity(256),
        })
    }

    /// Records returned so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Decode the next record, or the footer, from the front of `buf`.
    pub fn next_record(&mut self, buf: &[u8]) -> Result<Step, StreamError> {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        let mut cursor = Cursor {
            buf,
            pos: 0,
            sum: &mut scratch,
        };
        let record = self.records;
        let outcome = self.read_record(&mut cursor);
        let consumed = cursor.pos;
        self.scratch = scratch;
        let step = match outcome {
            Ok(step) => step,
            Err(Stop::Short) if buf.len() > MAX_RECORD_BYTES => {
                return Err(StreamError::TooLarge { record })
            }
            Err(Stop::Short) => return Ok(Step::NeedMore),
            Err(Stop::Bad(detail)) => return Err(StreamError::Malformed { record, detail }),
        };
        match step {
            Pending::Record(values, crc) => {
                self.crc_of_crcs = crc32c::crc32c_append(self.crc_of_crcs, &crc.to_le_bytes());
                self.records += 1;
                Ok(Step::Record(values, consumed))
            }
            Pending::Footer(footer) => {
                self.check_footer(footer)?;
                Ok(Step::End(consumed))
            }
            Pending::Error(error) => Err(error),
        }
    }

    fn check_footer(&self, footer: Footer) -> Result<(), StreamError> {
        if u64::try_from(footer.count).ok() != Some(self.records) {
            return Err(StreamError::Count {
                stated: footer.count,
                read: self.records,
            });
        }
        if footer.metrics_checksum_ok == Some(false) || footer.crc_of_crcs != self.crc_of_crcs {
            return Err(StreamError::StreamChecksum);
        }
        Ok(())
    }

    fn read_record(&self, cursor: &mut Cursor<'_, '_>) -> Result<Pending, Stop> {
        let mut values = vec![Value::Null; self.columns.len()];
        let mut fields_seen = false;
        loop {
            let (field, _) = cursor.tag()?;
            match field {
                // pyodps skips field 0; so do we.
                0 => continue,
                END_RECORD => {
                    let stated = cursor.varint()? as u32;
                    let crc = cursor.crc();
                    if stated != crc {
                        return Ok(Pending::Error(StreamError::Checksum {
                            record: self.records,
                        }));
                    }
                    return Ok(Pending::Record(values, crc));
                }
                META_COUNT if !fields_seen => return read_footer(cursor).map(Pending::Footer),
                _ => {}
            }
            let Some(column) = usize::try_from(field)
                .ok()
                .and_then(|f| f.checked_sub(1))
                .and_then(|i| self.columns.get(i).map(|t| (i, t)))
            else {
                return Ok(Pending::Error(StreamError::BadField {
                    record: self.records,
                    field,
                }));
            };
            fields_seen = true;
            cursor.crc_update(&(field as i32).to_le_bytes());
            values[column.0] = cursor.value(column.1)?;
        }
    }
}

/// A decoded record or footer, not yet committed to the decoder's state.
enum Pending {
    Record(Vec<Value>, u32),
    Footer(Footer),
    Error(StreamError),
}

struct Footer {
    count: i64,
    crc_of_crcs: u32,
    metrics_checksum_ok: Option<bool>,
}

/// After the count: either the checksum of checksums, or a metrics block
/// (any length-delimited field, covered by its own CRC and closed by
/// `END_METRICS`) and then the checksum of checksums.
fn read_footer(cursor: &mut Cursor<'_, '_>) -> Result<Footer, Stop> {
    let count = cursor.sint64()?;
    let (mut field, wire_type) = cursor.tag()?;
    let mut metrics_checksum_ok = None;
    if field != META_CHECKSUM {
        if wire_type != WIRE_LENGTH_DELIMITED {
            return Err(Stop::Bad(format!("unexpected footer field {field}")));
        }
        cursor.sum.clear();
        cursor.crc_update(&(field as i32).to_le_bytes());
        let metrics = cursor.bytes()?;
        cursor.crc_update(metrics);
        let (end, _) = cursor.tag()?;
        if end != END_METRICS {
            return Err(Stop::Bad(format!("metrics block closed by field {end}")));
        }
        let stated = cursor.varint()? as u32;
        metrics_checksum_ok = Some(stated == cursor.crc());
        field = cursor.tag()?.0;
    }
    if field != META_CHECKSUM {
        return Err(Stop::Bad(format!("footer ends with field {field}")));
    }
    let crc_of_crcs = cursor.varint()? as u32;
    Ok(Footer {
        count,
        crc_of_crcs,
        metrics_checksum_ok,
    })
}

/// A read position in a buffer, with the bytes the record CRC covers.
struct Cursor<'a, 's> {
    buf: &'a [u8],
    pos: usize,
    sum: &'s mut Vec<u8>,
}

impl<'a> Cursor<'a, '_> {
    fn crc_update(&mut self, bytes: &[u8]) {
        self.sum.extend_from_slice(bytes);
    }

    fn crc(&self) -> u32 {
        crc32c::crc32c(self.sum)
    }

    fn varint(&mut self) -> Result<u64, Stop> {
        // Most varints on the wire (tags of small columns, short lengths,
        // booleans) are one byte: take that path without a loop.
        let first = *self.buf.get(self.pos).ok_or(Stop::Short)?;
        self.pos += 1;
        if first & 0x80 == 0 {
            return Ok(u64::from(first));
        }
        let mut value = u64::from(first & 0x7f);
        let mut shift = 7;
        while shift < 64 {
            let byte = *self.buf.get(self.pos).ok_or(Stop::Short)?;
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
            shift += 7;
        }
        Err(Stop::Bad("varint longer than 10 bytes".into()))
    }

    fn tag(&mut self) -> Result<(u64, u64), Stop> {
        let tag = self.varint()?;
        Ok((tag >> 3, tag & 7))
    }

    fn sint64(&mut self) -> Result<i64, Stop> {
        let n = self.varint()?;
        Ok(((n >> 1) as i64) ^ -((n & 1) as i64))
    }

    fn sint32(&mut self) -> Result<i32, Stop> {
        let n = self.varint()? as u32;
        Ok(((n >> 1) as i32) ^ -((n & 1) as i32))
    }

    fn fixed<const N: usize>(&mut self) -> Result<[u8; N], Stop> {
        let end = self.pos.checked_add(N).ok_or(Stop::Short)?;
        let bytes: [u8; N] = self
            .buf
            .get(self.pos..end)
            .ok_or(Stop::Short)?
            .try_into()
            .map_err(|_| Stop::Short)?;
        self.pos = end;
        Ok(bytes)
    }

    fn bytes(&mut self) -> Result<&'a [u8], Stop> {
        let len =
            usize::try_from(self.varint()?).map_err(|_| Stop::Bad("length overflows".into()))?;
        if len > MAX_RECORD_BYTES {
            return Err(Stop::Bad(format!("field length {len} exceeds the limit")));
        }
        let end = self.pos + len;
        let bytes = self.buf.get(self.pos..end).ok_or(Stop::Short)?;
        self.pos = end;
        Ok(bytes)
    }

    /// A count of array elements; each takes at least one byte, so a count
    /// beyond the record limit is corruption, not a long wait.
    fn count(&mut self) -> Result<usize, Stop> {
        let n = self.varint()? as u32 as usize;
        if n > MAX_RECORD_BYTES {
            return Err(Stop::Bad(format!("element count {n} exceeds the limit")));
        }
        Ok(n)
    }

    fn long(&mut self) -> Result<i64, Stop> {
        let value = self.sint64()?;
        self.crc_update(&value.to_le_bytes());
        Ok(value)
    }

    fn seconds_nanos(&mut self) -> Result<(i64, i32), Stop> {
        let seconds = self.long()?;
        let nanos = self.sint32()?;
        self.crc_update(&nanos.to_le_bytes());
        Ok((seconds, nanos))
    }

    fn value(&mut self, column: &McType) -> Result<Value, Stop> {
        Ok(match column {
            McType::TinyInt | McType::SmallInt | McType::Int | McType::BigInt => {
                Value::from(self.long()?)
            }
            McType::Boolean => {
                let flag = self.varint()? != 0;
                self.crc_update(&[u8::from(flag)]);
                Value::Bool(flag)
            }
            McType::Float => {
                let raw = self.fixed::<4>()?;
                self.crc_update(&raw);
                types::float_value(f32::from_le_bytes(raw))
            }
            McType::Double => {
                let raw = self.fixed::<8>()?;
                self.crc_update(&raw);
                types::double_value(f64::from_le_bytes(raw))
            }
            McType::String | McType::Decimal | McType::Binary | McType::Json => {
                let raw = self.bytes()?;
                self.crc_update(raw);
                match column {
                    McType::Binary => types::binary_value(raw),
                    McType::Json => types::json_value(raw),
                    _ => types::text_value(raw),
                }
            }
            McType::DateTime => types::datetime_value(self.long()?),
            McType::Date => types::date_value(self.long()?),
            McType::IntervalYearMonth => types::interval_year_month_value(self.long()?),
            McType::Timestamp | McType::TimestampNtz => {
                let (seconds, nanos) = self.seconds_nanos()?;
                types::timestamp_value(seconds, nanos, *column == McType::Timestamp)
            }
            McType::IntervalDayTime => {
                let (seconds, nanos) = self.seconds_nanos()?;
                types::interval_day_time_value(seconds, nanos)
            }
            McType::Array(element) => Value::Array(self.array(element)?),
            McType::Map(key, value) => {
                let keys = self.array(key)?;
                let values = self.array(value)?;
                if keys.len() != values.len() {
                    return Err(Stop::Bad(format!(
                        "map with {} keys but {} values",
                        keys.len(),
                        values.len()
                    )));
                }
                types::map_value(key, keys, values)
            }
            McType::Struct(fields) => {
                let mut object = serde_json::Map::with_capacity(fields.len());
                for (name, field_type) in fields {
                    let value = if self.varint()? != 0 {
                        Value::Null
                    } else {
                        self.value(field_type)?
                    };
                    object.insert(name.clone(), value);
                }
                Value::Object(object)
            }
        })
    }

    /// `count`, then per element an "is null" flag and the element.
    fn array(&mut self, element: &McType) -> Result<Vec<Value>, Stop> {
        let count = self.count()?;
        let mut items = Vec::with_capacity(count.min(1024));
        for _ in 0..count {
            items.push(if self.varint()? != 0 {
                Value::Null
            } else {
                self.value(element)?
            });
        }
        Ok(items)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
