//! Hex text → bytes / integers, for values a user types or pastes from a dump.
//!
//! This models no hardware. It is the one place where the crate turns text
//! into the raw bytes and words that the format modules decode: an RSS key
//! (spec §1.3 gives it as a plain hex string; `ethtool -x` prints it
//! colon-separated), an MSI-X table entry in memory order (spec §2.2), and
//! MSI address/data words (spec §3.1).
//!
//! Accepted byte-string syntax, kept deliberately small:
//! * an optional `0x`/`0X` prefix;
//! * either plain hex (`6d5a56da…`, even number of digits) or colon-separated
//!   byte pairs (`6d:5a:56:da…`, exactly two digits per group);
//! * whitespace may separate several such tokens (`0010e0fe 00000000 …`, as a
//!   word-grouped memory dump shows them); tokens are concatenated in order.
//!
//! Left out: `,` separators, single-digit groups, and any byte-swapping — bytes
//! come out in the order they were written.

use thiserror::Error;

/// Why a hex string was rejected. Positions count characters of the token
/// after any `0x` prefix, starting at 0.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HexError {
    /// Nothing but whitespace (or a bare `0x`).
    #[error("empty hex string")]
    Empty,
    /// Plain hex must have two digits per byte.
    #[error("odd number of hex digits ({digits}); every byte needs two")]
    OddLength {
        /// Number of hex digits in the offending token.
        digits: usize,
    },
    /// A character that is not `0-9a-fA-F` (or an allowed separator).
    #[error("invalid hex character {ch:?} at position {position}")]
    NonHex {
        /// The offending character.
        ch: char,
        /// Its position in the token.
        position: usize,
    },
    /// A colon-separated group that is not exactly two hex digits.
    #[error("colon-separated group {group} is {got:?}; expected exactly two hex digits")]
    BadGroup {
        /// Index of the group (0-based).
        group: usize,
        /// The group's text.
        got: String,
    },
    /// More digits than fit the requested integer width.
    #[error("{digits} hex digits do not fit in {bits} bits")]
    TooWide {
        /// Significant digits given (leading zeros are ignored).
        digits: usize,
        /// Width of the target integer.
        bits: u32,
    },
}

/// Number of bits in one hex digit.
const BITS_PER_DIGIT: u32 = 4;

fn strip_prefix(token: &str) -> &str {
    token.strip_prefix("0x").or_else(|| token.strip_prefix("0X")).unwrap_or(token)
}

fn digit(ch: char, position: usize) -> Result<u8, HexError> {
    ch.to_digit(16).and_then(|d| u8::try_from(d).ok()).ok_or(HexError::NonHex { ch, position })
}

fn pair(hi: char, lo: char, position: usize) -> Result<u8, HexError> {
    let high = digit(hi, position)?;
    let low = digit(lo, position + 1)?;
    Ok((high << BITS_PER_DIGIT) | low)
}

fn decode_plain(token: &str, out: &mut Vec<u8>) -> Result<(), HexError> {
    let chars: Vec<char> = token.chars().collect();
    // Report a bad character before complaining about the length.
    for (position, &ch) in chars.iter().enumerate() {
        digit(ch, position)?;
    }
    if !chars.len().is_multiple_of(2) {
        return Err(HexError::OddLength { digits: chars.len() });
    }
    for (i, two) in chars.chunks_exact(2).enumerate() {
        out.push(pair(two[0], two[1], 2 * i)?);
    }
    Ok(())
}

fn decode_colon(token: &str, out: &mut Vec<u8>) -> Result<(), HexError> {
    let mut position = 0;
    for (group, text) in token.split(':').enumerate() {
        let chars: Vec<char> = text.chars().collect();
        for (i, &ch) in chars.iter().enumerate() {
            digit(ch, position + i)?;
        }
        if chars.len() != 2 {
            return Err(HexError::BadGroup { group, got: text.to_owned() });
        }
        out.push(pair(chars[0], chars[1], position)?);
        position += chars.len() + 1;
    }
    Ok(())
}

/// Decode a hex byte string (see the module doc for the syntax).
///
/// ```
/// # use irqlab_hw::hex::decode_bytes;
/// assert_eq!(decode_bytes("0x6d5a").unwrap(), vec![0x6d, 0x5a]);
/// assert_eq!(decode_bytes("6d:5a").unwrap(), vec![0x6d, 0x5a]);
/// assert!(decode_bytes("6d5").is_err());
/// ```
pub fn decode_bytes(text: &str) -> Result<Vec<u8>, HexError> {
    let mut out = Vec::new();
    for raw in text.split_whitespace() {
        let token = strip_prefix(raw);
        if token.contains(':') {
            decode_colon(token, &mut out)?;
        } else {
            decode_plain(token, &mut out)?;
        }
    }
    if out.is_empty() {
        return Err(HexError::Empty);
    }
    Ok(out)
}

/// Parse one hex integer of at most `bits` bits: optional `0x`, then 1 or more
/// digits, surrounding whitespace ignored. Leading zeros do not count against
/// the width.
fn parse_uint(text: &str, bits: u32) -> Result<u64, HexError> {
    let token = strip_prefix(text.trim());
    if token.is_empty() {
        return Err(HexError::Empty);
    }
    let mut digits = Vec::new();
    for (position, ch) in token.chars().enumerate() {
        digits.push(digit(ch, position)?);
    }
    let significant: Vec<u8> = digits.into_iter().skip_while(|&d| d == 0).collect();
    let max_digits = usize::try_from(bits / BITS_PER_DIGIT).unwrap_or(usize::MAX);
    if significant.len() > max_digits {
        return Err(HexError::TooWide { digits: significant.len(), bits });
    }
    Ok(significant.iter().fold(0u64, |acc, &d| (acc << BITS_PER_DIGIT) | u64::from(d)))
}

/// Parse a hex `u64` (up to 16 significant digits, optional `0x`).
pub fn parse_u64(text: &str) -> Result<u64, HexError> {
    parse_uint(text, u64::BITS)
}

/// Parse a hex `u32` (up to 8 significant digits, optional `0x`).
pub fn parse_u32(text: &str) -> Result<u32, HexError> {
    let value = parse_uint(text, u32::BITS)?;
    // parse_uint already bounded the width to 32 bits.
    u32::try_from(value).map_err(|_| HexError::TooWide { digits: 9, bits: u32::BITS })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_prefixed_hex_decode_in_written_order() {
        assert_eq!(decode_bytes("6d5a56da").unwrap(), [0x6d, 0x5a, 0x56, 0xda]);
        assert_eq!(decode_bytes("0X6D5A").unwrap(), [0x6d, 0x5a]);
    }

    #[test]
    fn colon_groups_and_whitespace_tokens_concatenate() {
        assert_eq!(decode_bytes("6d:5a:56").unwrap(), [0x6d, 0x5a, 0x56]);
        assert_eq!(decode_bytes(" 0010e0fe\t00000000 ").unwrap(), [0x00, 0x10, 0xe0, 0xfe, 0, 0, 0, 0]);
    }

    #[test]
    fn malformed_byte_strings_are_rejected_with_the_reason() {
        assert_eq!(decode_bytes(""), Err(HexError::Empty));
        assert_eq!(decode_bytes("0x"), Err(HexError::Empty));
        assert_eq!(decode_bytes("abc"), Err(HexError::OddLength { digits: 3 }));
        assert_eq!(decode_bytes("6g"), Err(HexError::NonHex { ch: 'g', position: 1 }));
        assert_eq!(decode_bytes("6d:5:56"), Err(HexError::BadGroup { group: 1, got: "5".into() }));
        assert!(matches!(decode_bytes("6d::5a"), Err(HexError::BadGroup { group: 1, .. })));
        // Non-ASCII input must not panic on char boundaries.
        assert!(matches!(decode_bytes("6dé5"), Err(HexError::NonHex { ch: 'é', .. })));
    }

    #[test]
    fn integers_respect_width_but_ignore_leading_zeros() {
        assert_eq!(parse_u32("0xFEE01000"), Ok(0xFEE0_1000));
        assert_eq!(parse_u32("00000000fee01000"), Ok(0xFEE0_1000));
        assert_eq!(parse_u64("ffffffffffffffff"), Ok(u64::MAX));
        assert_eq!(parse_u32("1fee01000"), Err(HexError::TooWide { digits: 9, bits: 32 }));
        assert_eq!(parse_u64("1ffffffffffffffff0"), Err(HexError::TooWide { digits: 18, bits: 64 }));
        assert_eq!(parse_u64("0x"), Err(HexError::Empty));
        assert!(matches!(parse_u32("12z"), Err(HexError::NonHex { .. })));
    }
}
