//! kcat-style output formats for `sluice consume --format`.
//!
//! A format is parsed once into [`Piece`]s and rendered per record with no
//! allocation. Placeholders: `%t` topic, `%p` partition, `%o` offset, `%k`
//! key, `%s` value, `%T` timestamp (ms since the epoch), `%K` key length,
//! `%S` value length, `%%` a percent sign. Escapes: `\n`, `\t`, `\r`,
//! `\\`. A null key or value prints as nothing (length -1). Keys and values
//! are written as raw bytes. Like kcat, nothing is appended: end the format
//! with `\n` for one record per line.

use std::io::{self, Write};

use sluice_client::ConsumerRecord;

/// The default: the value and a newline.
pub const DEFAULT_FORMAT: &str = "%s\\n";

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Literal(Vec<u8>),
    Topic,
    Partition,
    Offset,
    Key,
    Value,
    Timestamp,
    KeyLen,
    ValueLen,
}

/// A parsed `--format` string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Format {
    pieces: Vec<Piece>,
}

impl Format {
    /// Parses a format; unknown placeholders and escapes are errors.
    pub fn parse(spec: &str) -> Result<Format, String> {
        let mut pieces = Vec::new();
        let mut literal = Vec::new();
        let mut chars = spec.chars();
        while let Some(c) = chars.next() {
            let piece = match c {
                '%' => match chars.next() {
                    Some('t') => Piece::Topic,
                    Some('p') => Piece::Partition,
                    Some('o') => Piece::Offset,
                    Some('k') => Piece::Key,
                    Some('s') => Piece::Value,
                    Some('T') => Piece::Timestamp,
                    Some('K') => Piece::KeyLen,
                    Some('S') => Piece::ValueLen,
                    Some('%') => {
                        literal.push(b'%');
                        continue;
                    }
                    Some(other) => {
                        return Err(format!(
                            "unknown placeholder %{other} in format (known: %t %p %o %k %s %T %K %S %%)"
                        ));
                    }
                    None => return Err("format ends with a lone %".to_owned()),
                },
                '\\' => {
                    let escaped = match chars.next() {
                        Some('n') => b'\n',
                        Some('t') => b'\t',
                        Some('r') => b'\r',
                        Some('\\') => b'\\',
                        Some(other) => {
                            return Err(format!(
                                "unknown escape \\{other} in format (known: \\n \\t \\r \\\\)"
                            ));
                        }
                        None => return Err("format ends with a lone \\".to_owned()),
                    };
                    literal.push(escaped);
                    continue;
                }
                other => {
                    let mut buf = [0; 4];
                    literal.extend_from_slice(other.encode_utf8(&mut buf).as_bytes());
                    continue;
                }
            };
            if !literal.is_empty() {
                pieces.push(Piece::Literal(std::mem::take(&mut literal)));
            }
            pieces.push(piece);
        }
        if !literal.is_empty() {
            pieces.push(Piece::Literal(literal));
        }
        Ok(Format { pieces })
    }

    /// Writes one record.
    pub fn write(&self, out: &mut impl Write, r: &ConsumerRecord) -> io::Result<()> {
        fn len(b: Option<&bytes::Bytes>) -> i64 {
            b.map_or(-1, |b| i64::try_from(b.len()).unwrap_or(i64::MAX))
        }
        for piece in &self.pieces {
            match piece {
                Piece::Literal(bytes) => out.write_all(bytes)?,
                Piece::Topic => out.write_all(r.topic.as_bytes())?,
                Piece::Partition => write!(out, "{}", r.partition)?,
                Piece::Offset => write!(out, "{}", r.offset)?,
                Piece::Key => out.write_all(r.key.as_deref().unwrap_or_default())?,
                Piece::Value => out.write_all(r.value.as_deref().unwrap_or_default())?,
                Piece::Timestamp => write!(out, "{}", r.timestamp)?,
                Piece::KeyLen => write!(out, "{}", len(r.key.as_ref()))?,
                Piece::ValueLen => write!(out, "{}", len(r.value.as_ref()))?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn record() -> ConsumerRecord {
        ConsumerRecord {
            topic: "orders".into(),
            partition: 2,
            offset: 41,
            timestamp: 1_700_000_000_123,
            key: Some(Bytes::from_static(b"k1")),
            value: Some(Bytes::from_static(b"hello")),
            headers: Vec::new(),
        }
    }

    fn render(spec: &str, r: &ConsumerRecord) -> String {
        let mut out = Vec::new();
        Format::parse(spec).unwrap().write(&mut out, r).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn placeholders_and_escapes() {
        let r = record();
        assert_eq!(render(DEFAULT_FORMAT, &r), "hello\n");
        assert_eq!(
            render("%t/%p@%o %k=%s ts=%T\\t%K %S 100%%\\\\\\r\\n", &r),
            "orders/2@41 k1=hello ts=1700000000123\t2 5 100%\\\r\n"
        );
        assert_eq!(render("ünï %s", &r), "ünï hello");
    }

    #[test]
    fn nulls_print_empty() {
        let mut r = record();
        r.key = None;
        r.value = None;
        assert_eq!(render("[%k][%s] %K %S", &r), "[][] -1 -1");
    }

    #[test]
    fn errors() {
        assert!(Format::parse("%x").unwrap_err().contains("%x"));
        assert!(Format::parse("%").is_err());
        assert!(Format::parse("\\q").unwrap_err().contains("\\q"));
        assert!(Format::parse("a\\").is_err());
    }
}
