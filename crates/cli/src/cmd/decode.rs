//! `irqlab decode`: print every field of an interrupt message or register
//! value, by name.
//!
//! Front end for `irqlab_hw` decoders:
//! * `decode msi --address HEX --data HEX` — x86 compatibility-format MSI
//!   (docs/sources.md §3.1);
//! * `decode msix-entry HEX` — a 16-byte MSI-X table entry, 32 hex digits in
//!   memory order, byte 0 first (§2.2), followed by the MSI decode of the
//!   message it holds;
//! * `decode ioapic-rte HEX` — a 64-bit IO-APIC redirection table entry
//!   (§4.3), high DWORD ‖ low DWORD, followed by the MSI decode of the
//!   compatibility-format message irqlab delivers it as.
//!
//! Output is `name: value` lines or, with `--json`, one JSON object with the
//! same keys (the message decode of an MSI-X entry or RTE nests under `msi`,
//! printed as `msi.`-prefixed lines). Leaves out remappable (VT-d) messages:
//! they are reported as an error naming the remappable-format bit.

use std::io::Write;

use clap::{Args, Subcommand};
use irqlab_hw::hex;
use irqlab_hw::ioapic::RedirectionEntry;
use irqlab_hw::msi::{DecodedMsi, MsiMessage};
use irqlab_hw::msix::parse_hex_entry;

/// Decode an MSI message, MSI-X table entry or IO-APIC redirection entry,
/// printing every field by name.
#[derive(Debug, Clone, Args)]
pub struct DecodeArgs {
    /// What to decode
    #[command(subcommand)]
    pub what: DecodeWhat,
    /// Print one JSON object instead of `name: value` lines
    #[arg(long, global = true)]
    pub json: bool,
}

/// The things `irqlab decode` understands.
#[derive(Debug, Clone, Subcommand)]
pub enum DecodeWhat {
    /// An x86 MSI message (compatibility format): address and data words
    Msi(MsiArgs),
    /// A 16-byte MSI-X table entry: 32 hex digits in memory order, byte 0 first
    MsixEntry(MsixEntryArgs),
    /// A 64-bit IO-APIC redirection table entry (high DWORD, then low), e.g. 0x010000000000a031
    IoapicRte(IoapicRteArgs),
}

/// Decode an x86 MSI message (compatibility format).
#[derive(Debug, Clone, Args)]
pub struct MsiArgs {
    /// Message address, hex (up to 64 bits: upper << 32 | lower), e.g. 0xfee01000
    #[arg(long, value_name = "HEX", allow_hyphen_values = true)]
    pub address: String,
    /// Message data, hex (32 bits), e.g. 0x4031
    #[arg(long, value_name = "HEX", allow_hyphen_values = true)]
    pub data: String,
}

/// Decode a 16-byte MSI-X table entry and the message it holds.
#[derive(Debug, Clone, Args)]
pub struct MsixEntryArgs {
    /// The entry's 16 bytes as 32 hex digits, byte 0 (address bits 7:0) first
    #[arg(value_name = "HEX", allow_hyphen_values = true)]
    pub hex: String,
}

/// Decode a 64-bit IO-APIC redirection table entry and the message it sends.
#[derive(Debug, Clone, Args)]
pub struct IoapicRteArgs {
    /// The entry as one hex number of up to 16 digits, `0x` optional (bits 63:56 = destination)
    #[arg(value_name = "HEX", allow_hyphen_values = true)]
    pub hex: String,
}

fn write_err(e: std::io::Error) -> String {
    format!("writing output: {e}")
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<serde_json::Value, String> {
    serde_json::to_value(value).map_err(|e| format!("encoding JSON: {e}"))
}

fn print_json(out: &mut dyn Write, value: &serde_json::Value) -> Result<(), String> {
    let text = serde_json::to_string_pretty(value).map_err(|e| format!("encoding JSON: {e}"))?;
    writeln!(out, "{text}").map_err(write_err)
}

fn print_fields(out: &mut dyn Write, prefix: &str, fields: &[(&'static str, String)]) -> Result<(), String> {
    for (name, value) in fields {
        writeln!(out, "{prefix}{name}: {value}").map_err(write_err)?;
    }
    Ok(())
}

fn decode_msi(address: u64, data: u32) -> Result<DecodedMsi, String> {
    MsiMessage::new(address, data).decode().map_err(|e| e.to_string())
}

/// Run `irqlab decode`. Errors are returned as text for the caller to print.
pub fn run(args: &DecodeArgs, out: &mut dyn Write) -> Result<(), String> {
    match &args.what {
        DecodeWhat::Msi(msi) => {
            let address = hex::parse_u64(&msi.address).map_err(|e| format!("--address: {e}"))?;
            let data = hex::parse_u32(&msi.data).map_err(|e| format!("--data: {e}"))?;
            let decoded = decode_msi(address, data)?;
            if args.json { print_json(out, &to_json(&decoded)?) } else { print_fields(out, "", &decoded.fields()) }
        }
        DecodeWhat::MsixEntry(entry) => {
            let entry = parse_hex_entry(&entry.hex).map_err(|e| e.to_string())?;
            let msi = decode_msi(entry.address, entry.data);
            if args.json {
                let mut value = to_json(&entry)?;
                if let serde_json::Value::Object(map) = &mut value {
                    match &msi {
                        Ok(d) => map.insert("msi".to_owned(), to_json(d)?),
                        Err(e) => map.insert("msi_error".to_owned(), e.clone().into()),
                    };
                }
                print_json(out, &value)
            } else {
                print_fields(out, "", &entry.fields())?;
                match &msi {
                    Ok(d) => print_fields(out, "msi.", &d.fields()),
                    Err(e) => writeln!(out, "msi_error: {e}").map_err(write_err),
                }
            }
        }
        DecodeWhat::IoapicRte(rte) => {
            let raw = hex::parse_u64(&rte.hex).map_err(|e| format!("IO-APIC RTE: {e}"))?;
            let entry = RedirectionEntry::decode(raw);
            // The compatibility-format message always decodes (head 0xFEE,
            // format bit clear); an error here would be an irqlab bug.
            let msi = entry.to_msi().decode().map_err(|e| e.to_string())?;
            if args.json {
                let mut value = to_json(&entry)?;
                if let serde_json::Value::Object(map) = &mut value {
                    map.insert("msi".to_owned(), to_json(&msi)?);
                }
                print_json(out, &value)
            } else {
                print_fields(out, "", &entry.fields())?;
                print_fields(out, "msi.", &msi.fields())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// Stand-in for the real binary's parser, to test the argument syntax.
    #[derive(Debug, Parser)]
    struct TestCli {
        #[command(subcommand)]
        cmd: TestCmd,
    }

    #[derive(Debug, Subcommand)]
    enum TestCmd {
        Decode(DecodeArgs),
    }

    fn run_argv(argv: &[&str]) -> Result<String, String> {
        let cli = TestCli::try_parse_from(argv).map_err(|e| e.to_string())?;
        let TestCmd::Decode(args) = cli.cmd;
        let mut buf = Vec::new();
        run(&args, &mut buf)?;
        Ok(String::from_utf8(buf).unwrap())
    }

    fn line<'a>(text: &'a str, name: &str) -> Option<&'a str> {
        text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(": "))
    }

    #[test]
    fn msi_prints_every_field_by_name() {
        // address 0xFEE01000 → dest 1, physical; data 0x4031 → vector 0x31,
        // fixed, level bit set, edge (docs/sources.md §3.1 bit tables).
        let text = run_argv(&["irqlab", "decode", "msi", "--address", "0xfee01000", "--data", "0x4031"]).unwrap();
        assert_eq!(line(&text, "address"), Some("0x00000000fee01000"));
        assert_eq!(line(&text, "destination_id"), Some("0x01 (1)"));
        assert_eq!(line(&text, "vector"), Some("0x31 (49)"));
        assert_eq!(line(&text, "delivery_mode"), Some("fixed"));
        assert_eq!(line(&text, "trigger"), Some("edge"));
        assert_eq!(line(&text, "level_assert"), Some("true"));
        assert_eq!(text.lines().count(), 13);
    }

    #[test]
    fn msi_json_uses_the_same_keys() {
        let text = run_argv(&["irqlab", "decode", "msi", "--address", "fee01000", "--data", "4031", "--json"]).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let plain = run_argv(&["irqlab", "decode", "msi", "--address", "fee01000", "--data", "4031"]).unwrap();
        for l in plain.lines() {
            let name = l.split(": ").next().unwrap();
            assert!(v.get(name).is_some(), "JSON lacks {name}");
        }
        assert_eq!(v["vector"], 0x31);
        assert_eq!(v["delivery_mode"], "fixed");
        assert_eq!(v["destination_mode"], "physical");
        assert_eq!(v["notes"], serde_json::json!([]));
    }

    #[test]
    fn json_flag_may_come_before_the_subcommand() {
        let text = run_argv(&["irqlab", "decode", "--json", "msi", "--address", "fee01000", "--data", "4031"]).unwrap();
        assert!(text.trim_start().starts_with('{'));
    }

    #[test]
    fn msix_entry_prints_entry_then_message_fields() {
        // Memory order: addr lo 0xFEE01000, addr hi 0, data 0x4031, ctrl 1.
        let text = run_argv(&["irqlab", "decode", "msix-entry", "0010e0fe000000003140000001000000"]).unwrap();
        assert_eq!(line(&text, "address_lo"), Some("0xfee01000"));
        assert_eq!(line(&text, "data"), Some("0x00004031"));
        assert_eq!(line(&text, "masked"), Some("true"));
        assert_eq!(line(&text, "msi.vector"), Some("0x31 (49)"));
        let json = run_argv(&["irqlab", "decode", "msix-entry", "0010e0fe000000003140000001000000", "--json"]).unwrap();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["address_lo"], 0xfee0_1000_u32);
        assert_eq!(v["vector_control"], 1);
        assert_eq!(v["masked"], true);
        assert_eq!(v["msi"]["vector"], 0x31);
    }

    #[test]
    fn msix_entry_with_non_msi_address_still_decodes_the_entry() {
        // Reset entry: all-zero message, masked.
        let text = run_argv(&["irqlab", "decode", "msix-entry", "00000000000000000000000001000000"]).unwrap();
        assert_eq!(line(&text, "masked"), Some("true"));
        assert!(line(&text, "msi_error").unwrap().contains("outside the MSI window"));
    }

    #[test]
    fn ioapic_rte_prints_every_field_by_name() {
        // 0x0100_0000_0000_A031 (docs/sources.md §4.3 table): vector 0x31 (7:0),
        // fixed (10:8 = 000), physical (11), idle (12), 0xA0 in 15:8 sets
        // bit 13 (active low) and bit 15 (level), Remote IRR (14) clear,
        // unmasked (16), destination 0x01 (63:56). It travels as MSI address
        // 0xFEE0_1000, data 0xC031 (vector | assert bit 14 | level bit 15).
        let text = run_argv(&["irqlab", "decode", "ioapic-rte", "0x010000000000a031"]).unwrap();
        assert_eq!(line(&text, "rte"), Some("0x010000000000a031"));
        assert_eq!(line(&text, "low"), Some("0x0000a031"));
        assert_eq!(line(&text, "high"), Some("0x01000000"));
        assert_eq!(line(&text, "vector"), Some("0x31 (49)"));
        assert_eq!(line(&text, "delivery_mode"), Some("fixed"));
        assert_eq!(line(&text, "destination_mode"), Some("physical"));
        assert_eq!(line(&text, "delivery_status"), Some("idle"));
        assert_eq!(line(&text, "polarity"), Some("active-low"));
        assert_eq!(line(&text, "remote_irr"), Some("false"));
        assert_eq!(line(&text, "trigger"), Some("level"));
        assert_eq!(line(&text, "masked"), Some("false"));
        assert_eq!(line(&text, "reserved"), Some("0x0000000000000000"));
        assert_eq!(line(&text, "destination"), Some("0x01 (1)"));
        assert_eq!(line(&text, "msi.address"), Some("0x00000000fee01000"));
        assert_eq!(line(&text, "msi.data"), Some("0x0000c031"));
        assert!(line(&text, "note").is_none());
        // 13 RTE lines + 13 MSI lines, no notes.
        assert_eq!(text.lines().count(), 26);
        // Without 0x and with leading zeros dropped: same output.
        assert_eq!(run_argv(&["irqlab", "decode", "ioapic-rte", "10000000000A031"]).unwrap(), text);
    }

    #[test]
    fn ioapic_rte_json_uses_the_same_keys() {
        let plain = run_argv(&["irqlab", "decode", "ioapic-rte", "0x00ab00000003a031"]).unwrap();
        let json = run_argv(&["irqlab", "decode", "ioapic-rte", "0x00ab00000003a031", "--json"]).unwrap();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        for l in plain.lines() {
            let name = l.split(": ").next().unwrap();
            let found = match name.strip_prefix("msi.") {
                Some(inner) => v["msi"].get(inner).is_some(),
                None if name == "note" => v["notes"].as_array().is_some_and(|n| !n.is_empty()),
                None => v.get(name).is_some(),
            };
            assert!(found, "JSON lacks {name}");
        }
        // 0x00AB_0000_0003_A031: bit 16 (0x1_0000) masked, bit 17 and
        // bits 55:48 = 0xAB reserved.
        assert_eq!(v["rte"], 0x00ab_0000_0003_a031_u64);
        assert_eq!(v["masked"], true);
        assert_eq!(v["reserved"], 0x00ab_0000_0002_0000_u64);
        assert_eq!(v["polarity"], "active-low");
        assert_eq!(v["trigger"], "level");
        assert_eq!(v["delivery_status"], "idle");
        assert_eq!(v["msi"]["vector"], 0x31);
        assert!(v["notes"].as_array().unwrap().iter().any(|n| n.as_str().unwrap().contains("bit 48")));
    }

    #[test]
    fn ioapic_rte_bad_input_is_an_error_not_a_panic() {
        for (input, expect) in [
            ("0x01000000000g0031", "invalid hex character 'g'"),
            ("0x1ffffffffffffffff", "17 hex digits do not fit in 64 bits"),
            ("", "empty"),
            ("0x", "empty"),
            ("a031 0100", "invalid hex character ' '"),
            ("é", "invalid hex character 'é'"),
        ] {
            let err = run_argv(&["irqlab", "decode", "ioapic-rte", input]).unwrap_err();
            assert!(err.starts_with("IO-APIC RTE:"), "{input:?}: {err}");
            assert!(err.contains(expect), "{input:?}: {err}");
        }
        // A missing argument is a usage error from the parser.
        assert!(run_argv(&["irqlab", "decode", "ioapic-rte"]).is_err());
    }

    #[test]
    fn bad_hex_and_bad_messages_are_errors() {
        let err = run_argv(&["irqlab", "decode", "msix-entry", "0010e0fe"]).unwrap_err();
        assert!(err.contains("32 hex digits"), "{err}");
        let err = run_argv(&["irqlab", "decode", "msix-entry", &"zz".repeat(16)]).unwrap_err();
        assert!(err.contains("invalid hex"), "{err}");
        let err = run_argv(&["irqlab", "decode", "msi", "--address", "0xfeeg", "--data", "0"]).unwrap_err();
        assert!(err.starts_with("--address:"), "{err}");
        let err = run_argv(&["irqlab", "decode", "msi", "--address", "fee00000", "--data", "123456789"]).unwrap_err();
        assert!(err.starts_with("--data:"), "{err}");
        let err = run_argv(&["irqlab", "decode", "msi", "--address", "fee00010", "--data", "0"]).unwrap_err();
        assert!(err.contains("remappable"), "{err}");
    }
}
