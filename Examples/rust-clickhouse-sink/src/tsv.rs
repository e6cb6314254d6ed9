//! Arrow values as ClickHouse TabSeparated text, checked against the table's column types.
//!
//! ClickHouse parses TabSeparated leniently: "300" goes into a UInt8 as 44, `\N` into a
//! non-Nullable String as an empty string. So every value is checked here, against the type
//! of the column it goes to, before it is staged: a value the column cannot hold fails the
//! write, naming column and row, instead of landing altered.

use crate::arrow::{Cell, Kind, TimeUnit};
use std::io::Write;

#[derive(Clone, Debug, PartialEq)]
pub enum Base {
    Int { bits: u32, signed: bool },
    Float32,
    Float64,
    String,
    FixedString(usize),
    Date,
    DateTime,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ColumnType {
    pub base: Base,
    pub nullable: bool,
    /// As DESCRIBE TABLE wrote it, for messages.
    pub text: String,
}

fn unwrap_call<'t>(text: &'t str, function: &str) -> Option<&'t str> {
    text.strip_prefix(function)?
        .strip_prefix('(')?
        .strip_suffix(')')
}

impl ColumnType {
    /// A ClickHouse type name this sink can write, or why not.
    pub fn parse(text: &str) -> Result<ColumnType, String> {
        let mut inner = text.trim();
        // LowCardinality is how the column is stored, not what it takes.
        if let Some(t) = unwrap_call(inner, "LowCardinality") {
            inner = t.trim();
        }
        let mut nullable = false;
        if let Some(t) = unwrap_call(inner, "Nullable") {
            inner = t.trim();
            nullable = true;
        }
        let base = match inner {
            "Int8" => Base::Int { bits: 8, signed: true },
            "Int16" => Base::Int { bits: 16, signed: true },
            "Int32" => Base::Int { bits: 32, signed: true },
            "Int64" => Base::Int { bits: 64, signed: true },
            "Int128" => Base::Int { bits: 128, signed: true },
            "Int256" => Base::Int { bits: 256, signed: true },
            "UInt8" => Base::Int { bits: 8, signed: false },
            "UInt16" => Base::Int { bits: 16, signed: false },
            "UInt32" => Base::Int { bits: 32, signed: false },
            "UInt64" => Base::Int { bits: 64, signed: false },
            "UInt128" => Base::Int { bits: 128, signed: false },
            "UInt256" => Base::Int { bits: 256, signed: false },
            "Float32" => Base::Float32,
            "Float64" => Base::Float64,
            "String" => Base::String,
            "Date" => Base::Date,
            // A DateTime's zone only changes how it is displayed; the sink writes Unix seconds.
            "DateTime" => Base::DateTime,
            _ if unwrap_call(inner, "DateTime").is_some() => Base::DateTime,
            _ => match unwrap_call(inner, "FixedString").and_then(|n| n.trim().parse::<usize>().ok()) {
                Some(n) => Base::FixedString(n),
                None => {
                    return Err(format!(
                        "ClickHouse type {} is not one this sink writes (it writes [U]Int8-256, Float32/64, String, FixedString, Date, DateTime, their Nullable and LowCardinality forms)",
                        text
                    ))
                }
            },
        };
        Ok(ColumnType {
            base,
            nullable,
            text: text.to_string(),
        })
    }

    /// Whether Arrow values of `kind` can go into this column at all (the values themselves
    /// are checked as they are written).
    pub fn accepts(&self, kind: Kind) -> bool {
        matches!(
            (&self.base, kind),
            (Base::Int { .. }, Kind::Int { .. } | Kind::Bool)
                | (
                    Base::Float32 | Base::Float64,
                    Kind::Int { .. } | Kind::Bool | Kind::Float32 | Kind::Float64
                )
                | (Base::String | Base::FixedString(_), Kind::Bytes { .. })
                | (
                    Base::Date | Base::DateTime,
                    Kind::Timestamp(_) | Kind::Date32
                )
        )
    }
}

/// The last day Debian's ClickHouse 18.16 reads correctly in a Date (later ones become
/// 0000-00-00 there): 2105-12-31.
pub const MAX_DATE_DAYS: i64 = 49_672;

/// Appends one value as TabSeparated text for a column of type `column`; `unit` is the
/// Arrow column's time unit. On error nothing useful is left in `out` (the caller truncates).
pub fn write_cell(
    out: &mut Vec<u8>,
    cell: Cell,
    column: &ColumnType,
    unit: TimeUnit,
) -> Result<(), String> {
    match cell {
        Cell::Null => {
            if !column.nullable {
                return Err(format!(
                    "is null, but the table's column is {} (not Nullable)",
                    column.text
                ));
            }
            out.extend_from_slice(b"\\N");
        }
        Cell::Bool(b) => write_integer(out, i128::from(b), column)?,
        Cell::Int(v) => write_integer(out, i128::from(v), column)?,
        Cell::UInt(v) => write_integer(out, i128::from(v), column)?,
        Cell::F32(v) => match column.base {
            Base::Float32 => write_float(out, f64::from(v), 9),
            _ => write_float(out, f64::from(v), 17),
        },
        Cell::F64(v) => match column.base {
            // Rounded here, once, so the text ClickHouse parses is already the float it stores.
            Base::Float32 => write_float(out, f64::from(v as f32), 9),
            _ => write_float(out, v, 17),
        },
        Cell::Bytes(bytes) => {
            if let Base::FixedString(n) = column.base {
                if bytes.len() > n {
                    return Err(format!(
                        "has {} bytes, more than the table's {} holds",
                        bytes.len(),
                        column.text
                    ));
                }
            }
            escape(out, bytes);
        }
        Cell::Timestamp(ticks) => {
            let seconds = ticks.div_euclid(unit.per_second());
            write_time(out, seconds, column)?;
        }
        Cell::Date(days) => write_time(out, i64::from(days) * 86_400, column)?,
    }
    Ok(())
}

fn write_integer(out: &mut Vec<u8>, v: i128, column: &ColumnType) -> Result<(), String> {
    if let Base::Int { bits, signed } = column.base {
        let (min, max): (i128, i128) = match (bits, signed) {
            (b, true) if b < 128 => (-(1i128 << (b - 1)), (1i128 << (b - 1)) - 1),
            (b, false) if b < 128 => (0, (1i128 << b) - 1),
            (_, true) => (i128::MIN, i128::MAX),
            (_, false) => (0, i128::MAX),
        };
        if v < min || v > max {
            return Err(format!(
                "is {}, outside the range of the table's {} ({}..{})",
                v, column.text, min, max
            ));
        }
    }
    write!(out, "{}", v).expect("writing to a Vec");
    Ok(())
}

/// `significant` digits, enough for the value to survive the text: 17 for a double, 9 for a
/// float. Plain notation where it is short (ClickHouse 18.16 reads those digits exactly), an
/// exponent otherwise.
fn write_float(out: &mut Vec<u8>, v: f64, significant: usize) {
    if v.is_nan() {
        out.extend_from_slice(b"nan");
    } else if v.is_infinite() {
        out.extend_from_slice(if v > 0.0 { b"inf" } else { b"-inf" });
    } else if v == 0.0 {
        out.extend_from_slice(if v.is_sign_negative() { b"-0" } else { b"0" });
    } else {
        let exponent = decimal_exponent(v);
        if (-5..=16).contains(&exponent) {
            let decimals = (significant as i32 - 1 - exponent).max(0) as usize;
            write!(out, "{:.*}", decimals, v).expect("writing to a Vec");
        } else {
            write!(out, "{:.*e}", significant - 1, v).expect("writing to a Vec");
        }
    }
}

/// The exponent of `v` in scientific notation, exactly as Rust rounds it.
fn decimal_exponent(v: f64) -> i32 {
    let text = format!("{:e}", v);
    text.rsplit_once('e')
        .and_then(|(_, e)| e.parse().ok())
        .unwrap_or(0)
}

fn write_time(out: &mut Vec<u8>, seconds: i64, column: &ColumnType) -> Result<(), String> {
    match column.base {
        Base::DateTime => {
            if !(0..=i64::from(u32::MAX)).contains(&seconds) {
                return Err(format!(
                    "is {} (Unix seconds), outside what a {} holds (1970-01-01 00:00:00 to 2106-02-07 06:28:15 UTC)",
                    seconds, column.text
                ));
            }
            // Unix seconds, not a date and time, so the column's or server's time zone cannot
            // shift the instant.
            write!(out, "{}", seconds).expect("writing to a Vec");
        }
        Base::Date => {
            let days = seconds.div_euclid(86_400);
            if !(0..=MAX_DATE_DAYS).contains(&days) {
                return Err(format!(
                    "is day {} since 1970, outside what a {} holds (1970-01-01 to 2105-12-31)",
                    days, column.text
                ));
            }
            let (y, m, d) = civil_date(days);
            write!(out, "{:04}-{:02}-{:02}", y, m, d).expect("writing to a Vec");
        }
        _ => unreachable!("checked by accepts"),
    }
    Ok(())
}

/// Year, month, day of the proleptic Gregorian calendar for `days` since 1970-01-01.
pub fn civil_date(days: i64) -> (i64, u32, u32) {
    // Count from 0000-03-01 so that the leap day ends each 400-year era's years.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_from_march + 2) / 5 + 1) as u32;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// TabSeparated escaping: backslash, tab and newline must be escaped; the other control
/// characters ClickHouse names are escaped too so a row stays on one line whatever it holds.
pub fn escape(out: &mut Vec<u8>, bytes: &[u8]) {
    for &b in bytes {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            0 => out.extend_from_slice(b"\\0"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            _ => out.push(b),
        }
    }
}

/// The inverse of `escape` (and of what ClickHouse writes in TabSeparated answers).
pub fn unescape(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if text[i] == b'\\' && i + 1 < text.len() {
            out.push(match text[i + 1] {
                b't' => b'\t',
                b'n' => b'\n',
                b'r' => b'\r',
                b'0' => 0,
                b'b' => 0x08,
                b'f' => 0x0c,
                b'a' => 0x07,
                b'v' => 0x0b,
                other => other,
            });
            i += 2;
        } else {
            out.push(text[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(cell: Cell, ty: &str, unit: TimeUnit) -> Result<String, String> {
        let mut out = Vec::new();
        write_cell(&mut out, cell, &ColumnType::parse(ty).unwrap(), unit)?;
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn types() {
        let t = ColumnType::parse("LowCardinality(Nullable(String))").unwrap();
        assert_eq!((t.base, t.nullable), (Base::String, true));
        assert_eq!(
            ColumnType::parse("DateTime('Europe/Paris')").unwrap().base,
            Base::DateTime
        );
        assert_eq!(
            ColumnType::parse("FixedString(3)").unwrap().base,
            Base::FixedString(3)
        );
        assert!(ColumnType::parse("Array(String)").is_err());
        assert!(ColumnType::parse("DateTime64(3)").is_err());
        assert!(ColumnType::parse("UInt8").unwrap().accepts(Kind::Bool));
        assert!(!ColumnType::parse("String").unwrap().accepts(Kind::Int {
            bytes: 8,
            signed: true
        }));
        assert!(!ColumnType::parse("Int64").unwrap().accepts(Kind::Float64));
    }

    #[test]
    fn values() {
        let s = TimeUnit::Seconds;
        assert_eq!(text(Cell::Int(255), "UInt8", s).unwrap(), "255");
        assert!(text(Cell::Int(256), "UInt8", s)
            .unwrap_err()
            .contains("outside the range"));
        assert!(text(Cell::Int(-1), "UInt64", s).is_err());
        assert!(text(Cell::UInt(u64::MAX), "Int64", s).is_err());
        assert_eq!(
            text(Cell::UInt(u64::MAX), "UInt64", s).unwrap(),
            "18446744073709551615"
        );
        assert_eq!(text(Cell::Int(-128), "Int8", s).unwrap(), "-128");
        assert_eq!(text(Cell::Bool(true), "UInt8", s).unwrap(), "1");
        assert_eq!(text(Cell::Null, "Nullable(Int32)", s).unwrap(), "\\N");
        assert!(text(Cell::Null, "String", s)
            .unwrap_err()
            .contains("not Nullable"));
        assert_eq!(
            text(Cell::Bytes(b"a\tb\\c\nd\0"), "String", s).unwrap(),
            "a\\tb\\\\c\\nd\\0"
        );
        assert_eq!(
            text(Cell::Bytes("é😀".as_bytes()), "String", s).unwrap(),
            "é😀"
        );
        assert!(text(Cell::Bytes(b"abcd"), "FixedString(3)", s).is_err());
        assert_eq!(
            text(
                Cell::Timestamp(1_700_000_000_999),
                "DateTime",
                TimeUnit::Milliseconds
            )
            .unwrap(),
            "1700000000"
        );
        assert!(text(Cell::Timestamp(-1), "DateTime", TimeUnit::Nanoseconds)
            .unwrap_err()
            .contains("outside"));
        assert_eq!(
            text(Cell::Timestamp(86_400 * 366 + 5), "Date", s).unwrap(),
            "1971-01-02"
        );
        assert_eq!(text(Cell::Date(19_675), "Date", s).unwrap(), "2023-11-14");
        assert_eq!(text(Cell::Date(1), "DateTime", s).unwrap(), "86400");
    }

    #[test]
    fn floats_keep_every_bit() {
        let s = TimeUnit::Seconds;
        for v in [
            44.74337369372327,
            98.60000000000001,
            -40.0,
            1e-7,
            123456789012345680.0,
            1.7976931348623157e308,
            5e-324,
            0.1 + 0.2,
        ] {
            let t = text(Cell::F64(v), "Float64", s).unwrap();
            assert_eq!(
                t.parse::<f64>().unwrap().to_bits(),
                v.to_bits(),
                "{} -> {}",
                v,
                t
            );
        }
        assert_eq!(text(Cell::F64(f64::NAN), "Float64", s).unwrap(), "nan");
        assert_eq!(
            text(Cell::F64(f64::NEG_INFINITY), "Float64", s).unwrap(),
            "-inf"
        );
        assert_eq!(text(Cell::F64(0.0), "Float64", s).unwrap(), "0");
        let f = text(Cell::F32(0.1), "Float32", s).unwrap();
        assert_eq!(f.parse::<f32>().unwrap(), 0.1f32);
        assert_eq!(text(Cell::Int(-3), "Float64", s).unwrap(), "-3");
    }

    #[test]
    fn calendar() {
        assert_eq!(civil_date(0), (1970, 1, 1));
        assert_eq!(civil_date(59), (1970, 3, 1));
        assert_eq!(civil_date(11_016), (2000, 2, 29));
        assert_eq!(civil_date(MAX_DATE_DAYS), (2105, 12, 31));
        assert_eq!(civil_date(-1), (1969, 12, 31));
    }

    #[test]
    fn unescapes() {
        let mut out = Vec::new();
        escape(&mut out, b"a\tb\\n\n\r\0\x08\x0c");
        assert_eq!(unescape(&out), b"a\tb\\n\n\r\0\x08\x0c");
    }
}
