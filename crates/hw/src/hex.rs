//! Hex text → bytes / integers, for values a user types or pastes from a dump.
//!
//! This models no hardware. It is the one place where the crate turns text
//! into the raw bytes and words that the format modules decode: an RSS key
//! (spec §1.3 gives it as a plain hex string; `ethtool -x` prints it
//! colon-separated), an MSI-X table entry in memory order (spec §2.2),
//! MSI address/data words (spec §3.1), and the 128-bit VT-d entries and
//! registers (§5.1, §6) as one number.
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
    /// One half of a split 128-bit value has more than 16 significant digits.
    #[error("the {half} half has {digits} significant hex digits; each half holds 64 bits (16 digits)")]
    HalfTooWide {
        /// `high` (bits 127:64, written first) or `low` (bits 63:0).
        half: &'static str,
        /// Significant digits in that half.
        digits: usize,
    },
    /// A 128-bit value split into more than two groups.
    #[error("{groups} groups of hex digits; expected one 128-bit number or two 64-bit halves (bits 127:64, then 63:0)")]
    TooManyGroups {
        /// Number of groups found.
        groups: usize,
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

/// Parse a hex `u128` (bits 127:0, most significant digit first): an
/// optional `0x`, then either one number of up to 32 significant digits, or
/// two 64-bit halves — bits 127:64 first, then bits 63:0, each up to 16
/// significant digits — separated by `_` and/or whitespace. Surrounding
/// whitespace is ignored; error positions count characters after the `0x`.
///
/// ```
/// # use irqlab_hw::hex::parse_u128;
/// assert_eq!(parse_u128("0x1_0000000000000002"), Ok((1 << 64) | 2));
/// assert_eq!(parse_u128("1 2"), Ok((1 << 64) | 2));
/// assert_eq!(parse_u128("10000000000000002"), Ok((1 << 64) | 2));
/// assert!(parse_u128("1_2_3").is_err());
/// ```
pub fn parse_u128(text: &str) -> Result<u128, HexError> {
    let body = strip_prefix(text.trim());
    let mut groups: Vec<Vec<u8>> = Vec::new();
    let mut in_group = false;
    for (position, ch) in body.chars().enumerate() {
        if ch == '_' || ch.is_whitespace() {
            in_group = false;
            continue;
        }
        let d = digit(ch, position)?;
        if !in_group {
            groups.push(Vec::new());
            in_group = true;
        }
        if let Some(group) = groups.last_mut() {
            group.push(d);
        }
    }
    let value = |digits: &[u8]| digits.iter().fold(0u128, |acc, &d| (acc << BITS_PER_DIGIT) | u128::from(d));
    let significant = |digits: &[u8]| digits.iter().skip_while(|&&d| d == 0).count();
    match groups.as_slice() {
        [] => Err(HexError::Empty),
        [one] => {
            let digits = significant(one);
            if digits > 32 {
                return Err(HexError::TooWide { digits, bits: u128::BITS });
            }
            Ok(value(one))
        }
        [high, low] => {
            for (half, digits) in [("high", high), ("low", low)] {
                let digits = significant(digits);
                if digits > 16 {
                    return Err(HexError::HalfTooWide { half, digits });
                }
            }
            Ok((value(high) << 64) | value(low))
        }
        more => Err(HexError::TooManyGroups { groups: more.len() }),
    }
}

/// Parse a 512-bit hex number (bits 511:0, most significant digit first,
/// optional `0x`, at most 128 significant digits; `_` and whitespace
/// between digits are ignored) into 8 words, word 0 = bits 63:0.
///
/// ```
/// # use irqlab_hw::hex::parse_u512;
/// assert_eq!(parse_u512("0x1_0000000000000002"), Ok([2, 1, 0, 0, 0, 0, 0, 0]));
/// assert!(parse_u512(&"f".repeat(129)).is_err());
/// ```
pub fn parse_u512(text: &str) -> Result<[u64; 8], HexError> {
    let body = strip_prefix(text.trim());
    let mut digits = Vec::new();
    for (position, ch) in body.chars().enumerate() {
        if ch == '_' || ch.is_whitespace() {
            continue;
        }
        digits.push(digit(ch, position)?);
    }
    if digits.is_empty() {
        return Err(HexError::Empty);
    }
    let significant: Vec<u8> = digits.into_iter().skip_while(|&d| d == 0).collect();
    if significant.len() > 128 {
        return Err(HexError::TooWide { digits: significant.len(), bits: 512 });
    }
    let mut words = [0u64; 8];
    for (i, d) in significant.iter().rev().enumerate() {
        words[i / 16] |= u64::from(*d) << (4 * (i % 16));
    }
    Ok(words)
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

    #[test]
    fn u128_takes_one_number_or_two_halves() {
        let full = 0x0000_0000_0006_0318_0000_0300_005C_0A3D_u128;
        assert_eq!(parse_u128("0x0000000000060318_00000300005c0a3d"), Ok(full));
        assert_eq!(parse_u128("000000000006031800000300005c0a3d"), Ok(full));
        assert_eq!(parse_u128("  0X60318 00000300005C0A3D\n"), Ok(full));
        assert_eq!(parse_u128("60318\t300005c0a3d"), Ok(full));
        assert_eq!(parse_u128("ffffffffffffffffffffffffffffffff"), Ok(u128::MAX));
        assert_eq!(parse_u128("0x0000ffffffffffffffffffffffffffffffff"), Ok(u128::MAX));
        // Halves are halves: "1_2" is 1 << 64 | 2, not 0x12.
        assert_eq!(parse_u128("1_2"), Ok((1 << 64) | 2));
        assert_eq!(parse_u128("1__2"), Ok((1 << 64) | 2));
    }

    #[test]
    fn u128_errors_say_what_is_wrong() {
        assert_eq!(parse_u128(""), Err(HexError::Empty));
        assert_eq!(parse_u128("0x"), Err(HexError::Empty));
        assert_eq!(parse_u128(" _ "), Err(HexError::Empty));
        assert_eq!(parse_u128(&"1".repeat(33)), Err(HexError::TooWide { digits: 33, bits: 128 }));
        assert_eq!(parse_u128("0x12g4"), Err(HexError::NonHex { ch: 'g', position: 2 }));
        assert_eq!(parse_u128("12_x4"), Err(HexError::NonHex { ch: 'x', position: 3 }));
        assert_eq!(parse_u128("1_2_3"), Err(HexError::TooManyGroups { groups: 3 }));
        assert_eq!(
            parse_u128(&format!("1{}_0", "0".repeat(16))),
            Err(HexError::HalfTooWide { half: "high", digits: 17 })
        );
        assert_eq!(
            parse_u128(&format!("0_1{}", "0".repeat(16))),
            Err(HexError::HalfTooWide { half: "low", digits: 17 })
        );
        assert!(matches!(parse_u128("1é"), Err(HexError::NonHex { ch: 'é', position: 1 })));
        let message = parse_u128("1_2_3").unwrap_err().to_string();
        assert!(message.contains("bits 127:64, then 63:0"), "{message}");
    }
}
