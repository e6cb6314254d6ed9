//! Reading a "+s" batch through the Arrow C Data Interface, offsets and validity included.
//!
//! Row `r` of a batch is element `struct.offset + r` of each child, which lives at index
//! `child.offset + struct.offset + r` of the child's buffers; the validity bitmap uses that
//! same index. A bitmap that is absent, or a null_count of 0, means no nulls.

use crate::abi::{ArrowArray, ArrowSchema};
use std::ffi::CStr;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TimeUnit {
    Seconds,
    Milliseconds,
    Microseconds,
    Nanoseconds,
}

impl TimeUnit {
    pub fn per_second(self) -> i64 {
        match self {
            TimeUnit::Seconds => 1,
            TimeUnit::Milliseconds => 1_000,
            TimeUnit::Microseconds => 1_000_000,
            TimeUnit::Nanoseconds => 1_000_000_000,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    Bool,
    Int {
        bytes: usize,
        signed: bool,
    },
    Float32,
    Float64,
    /// utf8 ("u", "U") and binary ("z", "Z"); `large` means 64-bit offsets.
    Bytes {
        large: bool,
        utf8: bool,
    },
    Timestamp(TimeUnit),
    Date32,
}

impl Kind {
    pub fn from_format(format: &str) -> Option<Kind> {
        Some(match format {
            "b" => Kind::Bool,
            "c" => Kind::Int {
                bytes: 1,
                signed: true,
            },
            "s" => Kind::Int {
                bytes: 2,
                signed: true,
            },
            "i" => Kind::Int {
                bytes: 4,
                signed: true,
            },
            "l" => Kind::Int {
                bytes: 8,
                signed: true,
            },
            "C" => Kind::Int {
                bytes: 1,
                signed: false,
            },
            "S" => Kind::Int {
                bytes: 2,
                signed: false,
            },
            "I" => Kind::Int {
                bytes: 4,
                signed: false,
            },
            "L" => Kind::Int {
                bytes: 8,
                signed: false,
            },
            "f" => Kind::Float32,
            "g" => Kind::Float64,
            "u" => Kind::Bytes {
                large: false,
                utf8: true,
            },
            "U" => Kind::Bytes {
                large: true,
                utf8: true,
            },
            "z" => Kind::Bytes {
                large: false,
                utf8: false,
            },
            "Z" => Kind::Bytes {
                large: true,
                utf8: false,
            },
            "tdD" => Kind::Date32,
            _ => {
                // "ts" + unit + ":" + optional time zone. The instant is UTC whatever the zone.
                let rest = format.strip_prefix("ts")?;
                let mut chars = rest.chars();
                let unit = match chars.next()? {
                    's' => TimeUnit::Seconds,
                    'm' => TimeUnit::Milliseconds,
                    'u' => TimeUnit::Microseconds,
                    'n' => TimeUnit::Nanoseconds,
                    _ => return None,
                };
                if chars.next()? != ':' {
                    return None;
                }
                Kind::Timestamp(unit)
            }
        })
    }

    fn buffer_count(self) -> i64 {
        match self {
            Kind::Bytes { .. } => 3,
            _ => 2,
        }
    }
}

/// One value of a column; `Bytes` borrows the batch's memory.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cell<'a> {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    F32(f32),
    F64(f64),
    Bytes(&'a [u8]),
    /// Ticks of the column's unit since the epoch.
    Timestamp(i64),
    /// Days since the epoch.
    Date(i32),
}

pub struct Column<'a> {
    pub name: String,
    pub format: String,
    pub kind: Kind,
    /// Index of batch row 0 in this child's buffers.
    base: usize,
    validity: Option<*const u8>,
    values: *const u8,
    data: *const u8,
    _array: &'a ArrowArray,
}

pub struct Batch<'a> {
    pub length: usize,
    pub columns: Vec<Column<'a>>,
    /// The struct's own validity and offset: a null struct row is null in every column.
    row_validity: Option<(*const u8, usize)>,
}

fn bit(bitmap: *const u8, index: usize) -> bool {
    // SAFETY: callers pass indexes inside the array's declared length plus offset.
    unsafe { (*bitmap.add(index >> 3) >> (index & 7)) & 1 == 1 }
}

unsafe fn c_text(p: *const std::os::raw::c_char) -> String {
    if p.is_null() {
        String::new()
    } else {
        CStr::from_ptr(p).to_string_lossy().into_owned()
    }
}

/// The columns of a batch.
///
/// # Safety
/// `schema` and `array` are a valid, unreleased Arrow C Data Interface pair, alive for `'a`.
pub unsafe fn view<'a>(
    schema: &'a ArrowSchema,
    array: &'a ArrowArray,
) -> Result<Batch<'a>, String> {
    let format = c_text(schema.format);
    if format != "+s" {
        return Err(format!(
            "the batch's schema has format \"{}\", not a struct (\"+s\")",
            format
        ));
    }
    if schema.n_children != array.n_children || array.n_children < 0 {
        return Err(format!(
            "the batch's schema has {} columns but its array has {}",
            schema.n_children, array.n_children
        ));
    }
    if array.length < 0 || array.offset < 0 {
        return Err("the batch has a negative length or offset".into());
    }
    let length = array.length as usize;
    let offset = array.offset as usize;
    let row_validity = if array.null_count != 0
        && array.n_buffers >= 1
        && !array.buffers.is_null()
        && !(*array.buffers).is_null()
    {
        Some((*array.buffers as *const u8, offset))
    } else {
        None
    };
    let mut columns = Vec::with_capacity(array.n_children as usize);
    for i in 0..array.n_children as usize {
        let child_schema = *schema.children.add(i);
        let child = *array.children.add(i);
        if child_schema.is_null() || child.is_null() {
            return Err(format!("column {} of the batch is missing", i));
        }
        let (child_schema, child) = (&*child_schema, &*child);
        let name = c_text(child_schema.name);
        let format = c_text(child_schema.format);
        let kind = Kind::from_format(&format).ok_or_else(|| {
            format!(
                "column '{}' has Arrow format \"{}\", which this sink does not read (it reads utf8, large utf8, binary, bool, integers, float32/64, date32 and timestamps)",
                name, format
            )
        })?;
        if !child_schema.dictionary.is_null() {
            return Err(format!(
                "column '{}' is dictionary-encoded, which this sink does not read",
                name
            ));
        }
        if child.offset < 0 || child.length < 0 || (child.length as usize) < offset + length {
            return Err(format!(
                "column '{}' has {} values from offset {}, fewer than the batch's offset {} plus length {}",
                name, child.length, child.offset, offset, length
            ));
        }
        if child.n_buffers != kind.buffer_count() || child.buffers.is_null() {
            return Err(format!(
                "column '{}' ({}) has {} buffers, not {}",
                name,
                format,
                child.n_buffers,
                kind.buffer_count()
            ));
        }
        let buffer = |k: usize| *child.buffers.add(k) as *const u8;
        let validity = if child.null_count != 0 && !buffer(0).is_null() {
            Some(buffer(0))
        } else {
            None
        };
        let (values, data) = match kind {
            Kind::Bytes { .. } => (buffer(1), buffer(2)),
            _ => (buffer(1), std::ptr::null()),
        };
        if length > 0
            && (values.is_null() || (matches!(kind, Kind::Bytes { .. }) && data.is_null()))
        {
            return Err(format!("column '{}' has no value buffer", name));
        }
        columns.push(Column {
            name,
            format,
            kind,
            base: child.offset as usize + offset,
            validity,
            values,
            data,
            _array: child,
        });
    }
    Ok(Batch {
        length,
        columns,
        row_validity,
    })
}

impl<'a> Batch<'a> {
    pub fn row_is_null(&self, row: usize) -> bool {
        match self.row_validity {
            Some((bitmap, offset)) => !bit(bitmap, offset + row),
            None => false,
        }
    }
}

impl<'a> Column<'a> {
    /// The value of batch row `row` (< the batch's length).
    pub fn get(&self, row: usize) -> Result<Cell<'a>, String> {
        let i = self.base + row;
        if let Some(bitmap) = self.validity {
            if !bit(bitmap, i) {
                return Ok(Cell::Null);
            }
        }
        // SAFETY: `view` checked the buffers exist and the child is long enough; the values
        // buffer of a fixed-width column holds `length + offset` elements by the spec.
        unsafe {
            Ok(match self.kind {
                Kind::Bool => Cell::Bool(bit(self.values, i)),
                Kind::Int {
                    bytes: 1,
                    signed: true,
                } => Cell::Int(i64::from(*(self.values as *const i8).add(i))),
                Kind::Int {
                    bytes: 2,
                    signed: true,
                } => Cell::Int(i64::from(
                    (self.values as *const i16).add(i).read_unaligned(),
                )),
                Kind::Int {
                    bytes: 4,
                    signed: true,
                } => Cell::Int(i64::from(
                    (self.values as *const i32).add(i).read_unaligned(),
                )),
                Kind::Int { signed: true, .. } => {
                    Cell::Int((self.values as *const i64).add(i).read_unaligned())
                }
                Kind::Int {
                    bytes: 1,
                    signed: false,
                } => Cell::UInt(u64::from(*self.values.add(i))),
                Kind::Int {
                    bytes: 2,
                    signed: false,
                } => Cell::UInt(u64::from(
                    (self.values as *const u16).add(i).read_unaligned(),
                )),
                Kind::Int {
                    bytes: 4,
                    signed: false,
                } => Cell::UInt(u64::from(
                    (self.values as *const u32).add(i).read_unaligned(),
                )),
                Kind::Int { signed: false, .. } => {
                    Cell::UInt((self.values as *const u64).add(i).read_unaligned())
                }
                Kind::Float32 => Cell::F32((self.values as *const f32).add(i).read_unaligned()),
                Kind::Float64 => Cell::F64((self.values as *const f64).add(i).read_unaligned()),
                Kind::Timestamp(_) => {
                    Cell::Timestamp((self.values as *const i64).add(i).read_unaligned())
                }
                Kind::Date32 => Cell::Date((self.values as *const i32).add(i).read_unaligned()),
                Kind::Bytes { large, .. } => {
                    let (start, end) = if large {
                        let o = self.values as *const i64;
                        (o.add(i).read_unaligned(), o.add(i + 1).read_unaligned())
                    } else {
                        let o = self.values as *const i32;
                        (
                            i64::from(o.add(i).read_unaligned()),
                            i64::from(o.add(i + 1).read_unaligned()),
                        )
                    };
                    if start < 0 || end < start {
                        return Err(format!(
                            "column '{}' has invalid offsets {}..{} at row {}",
                            self.name, start, end, row
                        ));
                    }
                    Cell::Bytes(std::slice::from_raw_parts(
                        self.data.add(start as usize),
                        (end - start) as usize,
                    ))
                }
            })
        }
    }

    pub fn unit(&self) -> TimeUnit {
        match self.kind {
            Kind::Timestamp(unit) => unit,
            _ => TimeUnit::Seconds,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(
            Kind::from_format("tsm:"),
            Some(Kind::Timestamp(TimeUnit::Milliseconds))
        );
        assert_eq!(
            Kind::from_format("tsn:Europe/Paris"),
            Some(Kind::Timestamp(TimeUnit::Nanoseconds))
        );
        assert_eq!(Kind::from_format("tsx:"), None);
        assert_eq!(Kind::from_format("tsm"), None);
        assert_eq!(
            Kind::from_format("U"),
            Some(Kind::Bytes {
                large: true,
                utf8: true
            })
        );
        assert_eq!(Kind::from_format("+l"), None);
    }
}
