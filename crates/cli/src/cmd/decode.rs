//! `irqlab decode`: print every field of an interrupt message or register
//! value, by name.
//!
//! Front end for `irqlab_hw` decoders:
//! * `decode msi --address HEX --data HEX` — an x86 MSI message: the
//!   compatibility format (docs/sources.md §3.1) or, with address bit 4 set,
//!   the VT-d remappable format (§3.2: handle, SHV, sub-handle, interrupt
//!   index); the first line, `format`, says which;
//! * `decode msix-entry HEX` — a 16-byte MSI-X table entry, 32 hex digits in
//!   memory order, byte 0 first (§2.2), followed by the MSI decode of the
//!   message it holds;
//! * `decode ioapic-rte HEX` — a 64-bit IO-APIC redirection table entry
//!   (§4.3), high DWORD ‖ low DWORD, followed by the MSI decode of the
//!   compatibility-format message irqlab delivers it as;
//! * VT-d (§5.1, §6), each one 128-bit number, bits 127:0, most significant
//!   digit first (the two 64-bit halves may be split by `_` or a space, high
//!   half first): `decode irte`, `decode vtd-fault` (a fault recording
//!   register), `decode context-entry`, `decode root-entry`; and `decode
//!   sl-pte HEX [--level N] [--haw N]`, a 64-bit second-level page-table
//!   entry with the reserved bits of its level.
//!
//! Output is `name: value` lines or, with `--json`, one JSON object with the
//! same keys (the message decode of an MSI-X entry or RTE nests under `msi`,
//! printed as `msi.`-prefixed lines). 128-bit values appear in JSON as
//! `0x`-prefixed hex strings.

use std::io::Write;

use clap::{Args, Subcommand};
use irqlab_hw::hex;
use irqlab_hw::ioapic::RedirectionEntry;
use irqlab_hw::msi::{DecodedMsi, MsiError, MsiMessage};
use irqlab_hw::msix::parse_hex_entry;
use irqlab_hw::vtd::pid::PostedInterruptDescriptor;
use irqlab_hw::vtd::slpt::{SlPte, SlPteAtLevel};
use irqlab_hw::vtd::{ContextEntry, FaultRecord, Irte, RemappableMsi, RootEntry};

/// Decode an MSI message, MSI-X table entry, IO-APIC redirection entry or
/// VT-d entry, printing every field by name.
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
    /// A VT-d interrupt-remapping table entry (128 bits; remapped or posted format)
    Irte(Hex128Args),
    /// A VT-d fault recording register (128 bits)
    VtdFault(Hex128Args),
    /// A VT-d context entry (128 bits, legacy mode)
    ContextEntry(Hex128Args),
    /// A VT-d root entry (128 bits, legacy mode)
    RootEntry(Hex128Args),
    /// A VT-d second-level page-table entry (64 bits)
    SlPte(SlPteArgs),
    /// A 64-byte posted-interrupt descriptor: PIR vectors set, ON, SN, NV, NDST
    Pid(PidArgs),
}

/// A posted-interrupt descriptor.
#[derive(Debug, Clone, Args)]
pub struct PidArgs {
    /// The descriptor as one 512-bit hex number, bits 511:0, most significant digit first (up to
    /// 128 digits, `0x` optional, `_` or spaces allowed between digits); bits 319:256 are the
    /// control word (NDST, NV, SN, ON), bits 255:0 the PIR
    #[arg(value_name = "HEX", num_args = 1.., allow_hyphen_values = true)]
    pub hex: Vec<String>,
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

/// A 128-bit VT-d value.
#[derive(Debug, Clone, Args)]
pub struct Hex128Args {
    /// The value as hex, bits 127:0, most significant digit first (`0x` optional), e.g.
    /// 0x000000000006031800000300005c0a3d; the two 64-bit halves may be split by `_` or a
    /// space: bits 127:64 first, then bits 63:0 (0x60318_300005c0a3d)
    #[arg(value_name = "HEX", allow_hyphen_values = true)]
    pub hex: String,
    /// Bits 63:0, when HEX gives only bits 127:64 (`irqlab decode irte 60318 300005c0a3d`)
    #[arg(value_name = "LOW")]
    pub low: Option<String>,
}

impl Hex128Args {
    /// Parse the value; `what` names it in the error.
    fn parse(&self, what: &str) -> Result<u128, String> {
        let text = match &self.low {
            Some(low) => format!("{} {low}", self.hex),
            None => self.hex.clone(),
        };
        hex::parse_u128(&text).map_err(|e| format!("{what}: {e}"))
    }
}

/// A second-level page-table entry and where it sits.
#[derive(Debug, Clone, Args)]
pub struct SlPteArgs {
    /// The 64-bit entry as hex (up to 16 digits, `0x` optional), e.g. 0x0000000876540003
    #[arg(value_name = "HEX", allow_hyphen_values = true)]
    pub hex: String,
    /// Level of the table holding it: 1 (4 KiB page table) to 5
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=5))]
    pub level: u8,
    /// Host address width of the unit (address bits at and above it are reserved)
    #[arg(long, default_value_t = 48, value_parser = clap::value_parser!(u8).range(12..=52))]
    pub haw: u8,
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

/// An MSI message in either x86 format.
enum Message {
    /// Address bit 4 clear (§3.1).
    Compatibility(DecodedMsi),
    /// Address bit 4 set: VT-d remappable format (§3.2).
    Remappable(RemappableMsi),
}

impl Message {
    /// `format` first, then the format's own fields.
    fn fields(&self) -> Vec<(&'static str, String)> {
        match self {
            Message::Compatibility(d) => {
                let mut out = vec![("format", "compatibility".to_owned())];
                out.extend(d.fields());
                out
            }
            Message::Remappable(m) => m.fields(),
        }
    }

    fn json(&self) -> Result<serde_json::Value, String> {
        match self {
            Message::Compatibility(d) => {
                let mut value = to_json(d)?;
                if let serde_json::Value::Object(map) = &mut value {
                    map.insert("format".to_owned(), "compatibility".into());
                }
                Ok(value)
            }
            Message::Remappable(m) => to_json(m),
        }
    }
}

fn decode_msi(address: u64, data: u32) -> Result<Message, String> {
    match MsiMessage::new(address, data).decode() {
        Ok(d) => Ok(Message::Compatibility(d)),
        Err(MsiError::RemappableFormat { .. }) => {
            RemappableMsi::decode(address, data).map(Message::Remappable).map_err(|e| e.to_string())
        }
        Err(e) => Err(e.to_string()),
    }
}

/// Print one decoded value: its fields, or its JSON.
fn print_one<T: serde::Serialize>(
    out: &mut dyn Write,
    json: bool,
    value: &T,
    fields: &[(&'static str, String)],
) -> Result<(), String> {
    if json { print_json(out, &to_json(value)?) } else { print_fields(out, "", fields) }
}

/// Run `irqlab decode`. Errors are returned as text for the caller to print.
pub fn run(args: &DecodeArgs, out: &mut dyn Write) -> Result<(), String> {
    match &args.what {
        DecodeWhat::Msi(msi) => {
            let address = hex::parse_u64(&msi.address).map_err(|e| format!("--address: {e}"))?;
            let data = hex::parse_u32(&msi.data).map_err(|e| format!("--data: {e}"))?;
            let decoded = decode_msi(address, data)?;
            if args.json { print_json(out, &decoded.json()?) } else { print_fields(out, "", &decoded.fields()) }
        }
        DecodeWhat::MsixEntry(entry) => {
            let entry = parse_hex_entry(&entry.hex).map_err(|e| e.to_string())?;
            let msi = decode_msi(entry.address, entry.data);
            if args.json {
                let mut value = to_json(&entry)?;
                if let serde_json::Value::Object(map) = &mut value {
                    match &msi {
                        Ok(d) => map.insert("msi".to_owned(), d.json()?),
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
            let msi = entry.to_msi();
            let msi = decode_msi(msi.address, msi.data)?;
            if args.json {
                let mut value = to_json(&entry)?;
                if let serde_json::Value::Object(map) = &mut value {
                    map.insert("msi".to_owned(), msi.json()?);
                }
                print_json(out, &value)
            } else {
                print_fields(out, "", &entry.fields())?;
                print_fields(out, "msi.", &msi.fields())
            }
        }
        DecodeWhat::Irte(a) => {
            let irte = Irte::decode(a.parse("IRTE")?);
            print_one(out, args.json, &irte, &irte.fields())
        }
        DecodeWhat::VtdFault(a) => {
            let record = FaultRecord::decode(a.parse("fault record")?);
            print_one(out, args.json, &record, &record.fields())
        }
        DecodeWhat::ContextEntry(a) => {
            let entry = ContextEntry::decode(a.parse("context entry")?);
            print_one(out, args.json, &entry, &entry.fields())
        }
        DecodeWhat::RootEntry(a) => {
            let entry = RootEntry::decode(a.parse("root entry")?);
            print_one(out, args.json, &entry, &entry.fields())
        }
        DecodeWhat::Pid(a) => {
            let words = hex::parse_u512(&a.hex.join(" ")).map_err(|e| format!("posted-interrupt descriptor: {e}"))?;
            let pid = PostedInterruptDescriptor::decode(words);
            print_one(out, args.json, &pid, &pid.fields())
        }
        DecodeWhat::SlPte(a) => {
            let raw = hex::parse_u64(&a.hex).map_err(|e| format!("SL-PTE: {e}"))?;
            let entry = SlPteAtLevel { pte: SlPte::decode(raw), level: a.level, haw: a.haw };
            print_one(out, args.json, &entry, &entry.fields())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use irqlab_hw::vtd::{FaultReason, PostedIrte, RemappedIrte, source_id};

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
        assert_eq!(line(&text, "format"), Some("compatibility"));
        assert_eq!(text.lines().count(), 14);
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
        assert_eq!(v["format"], "compatibility");
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
        assert_eq!(line(&text, "msi.format"), Some("compatibility"));
        // 13 RTE lines + 14 MSI lines (format first), no notes.
        assert_eq!(text.lines().count(), 27);
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
        let err = run_argv(&["irqlab", "decode", "msi", "--address", "fed00010", "--data", "0"]).unwrap_err();
        assert!(err.contains("outside the MSI window"), "{err}");
    }

    /// `(address, data)` as the two `--address`/`--data` arguments.
    fn run_msi(address: u64, data: u32, json: bool) -> String {
        let (a, d) = (format!("{address:#x}"), format!("{data:#x}"));
        let mut argv = vec!["irqlab", "decode", "msi", "--address", &a, "--data", &d];
        if json {
            argv.push("--json");
        }
        run_argv(&argv).unwrap()
    }

    /// Every `name` of the plain output is a key of the JSON output.
    fn assert_same_keys(plain: &str, json: &str) -> serde_json::Value {
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        for l in plain.lines() {
            let name = l.split(": ").next().unwrap();
            let found = if name == "note" {
                v["notes"].as_array().is_some_and(|n| !n.is_empty())
            } else {
                v.get(name).is_some()
            };
            assert!(found, "JSON lacks {name}");
        }
        v
    }

    #[test]
    fn remappable_msi_prints_handle_and_index() {
        // Linux's message for IRTE 0x8001 (MSI_ADDR_IR_* bits, data 0).
        let (address, data) = RemappableMsi::linux(0x8001);
        let text = run_msi(address, data, false);
        assert_eq!(line(&text, "format"), Some("remappable"));
        assert_eq!(line(&text, "address"), Some("0x00000000fee0003c"));
        assert_eq!(line(&text, "handle"), Some("0x8001 (32769)"));
        assert_eq!(line(&text, "shv"), Some("true"));
        assert_eq!(line(&text, "subhandle"), Some("0x0000 (0)"));
        assert_eq!(line(&text, "interrupt_index"), Some("0x8001 (32769)"));
        assert_eq!(line(&text, "check"), Some("ok"));
        assert!(line(&text, "vector").is_none() && line(&text, "destination_id").is_none());
        let v = assert_same_keys(&text, &run_msi(address, data, true));
        assert_eq!(v["interrupt_index"], 0x8001);
        // SHV with a sub-handle: index = handle + sub-handle; data 31:16 set
        // is the request's reserved field (fault 0x20).
        let m =
            RemappableMsi { handle: 0x10, shv: true, subhandle: 3, ..RemappableMsi::decode(0xFEE0_0010, 0).unwrap() };
        let (address, data) = m.encode();
        let text = run_msi(address, data | 0x0001_0000, false);
        assert_eq!(line(&text, "interrupt_index"), Some("0x0013 (19)"));
        assert_eq!(
            line(&text, "check"),
            Some("0x20 (Detected reserved fields in the decoded interrupt-remapped request)")
        );
        assert!(line(&text, "note").unwrap().contains("fault 0x20"));
    }

    #[test]
    fn msix_entry_with_a_remappable_message() {
        // Address lo 0xfee24698 (Linux, IRTE 0x1234) in memory order.
        let text = run_argv(&["irqlab", "decode", "msix-entry", "9846e2fe000000000000000000000000"]).unwrap();
        assert_eq!(line(&text, "msi.format"), Some("remappable"));
        assert_eq!(line(&text, "msi.interrupt_index"), Some("0x1234 (4660)"));
    }

    #[test]
    fn irte_round_trips_through_the_cli() {
        // Linux prepare_irte + set_irte_sid for vector 0x41 → APIC 2, 01:00.0.
        let raw = RemappedIrte::new(0x41, 2, false, false, source_id(1, 0, 0)).encode();
        let hex = format!("{raw:032x}");
        let text = run_argv(&["irqlab", "decode", "irte", &hex]).unwrap();
        assert_eq!(line(&text, "format"), Some("remapped"));
        assert_eq!(line(&text, "raw"), Some(format!("0x{hex}").as_str()));
        assert_eq!(line(&text, "present"), Some("true"));
        assert_eq!(line(&text, "redir_hint"), Some("true"));
        assert_eq!(line(&text, "trigger_level"), Some("false"));
        assert_eq!(line(&text, "delivery_mode"), Some("0 (fixed)"));
        assert_eq!(line(&text, "vector"), Some("0x41 (65)"));
        assert_eq!(line(&text, "destination"), Some("0x00000200"));
        assert_eq!(line(&text, "apic_id_xapic"), Some("2"));
        assert_eq!(line(&text, "sid"), Some("0x0100 (01:00.0)"));
        assert_eq!(line(&text, "svt"), Some("1 (verify requester id under SQ)"));
        assert_eq!(line(&text, "check"), Some("ok"));
        // The same value as two halves, `_`-joined or as two arguments.
        let (hi, lo) = (&hex[..16], &hex[16..]);
        assert_eq!(run_argv(&["irqlab", "decode", "irte", &format!("0x{hi}_{lo}")]).unwrap(), text);
        assert_eq!(run_argv(&["irqlab", "decode", "irte", hi, lo]).unwrap(), text);
        let json = run_argv(&["irqlab", "decode", "irte", &hex, "--json"]).unwrap();
        let v = assert_same_keys(&text, &json);
        assert_eq!(v["vector"], 0x41);
        assert_eq!(v["raw"], format!("0x{hex}"));
        // Posted: the vCPU vector and descriptor address.
        let posted = PostedIrte::from_remapped(&RemappedIrte::new(0x41, 2, false, false, 0x0100), 0x55, 0x1_2345_6740);
        let text = run_argv(&["irqlab", "decode", "irte", &format!("{:#x}", posted.encode())]).unwrap();
        assert_eq!(line(&text, "format"), Some("posted"));
        assert_eq!(line(&text, "vector"), Some("0x55 (85)"));
        assert_eq!(line(&text, "pda"), Some("0x0000000123456740"));
        // Not present: the check names fault 0x22.
        let text = run_argv(&["irqlab", "decode", "irte", "0"]).unwrap();
        assert_eq!(line(&text, "check"), Some("0x22 (Present field in the IRTE entry is clear)"));
    }

    #[test]
    fn vtd_fault_round_trips_through_the_cli() {
        // A write by 03:02.0 to 0x1234_5678 denied (QEMU vtd_report_dmar_fault).
        let raw = FaultRecord::dma(source_id(3, 2, 0), 0x1234_5678, FaultReason::WriteDenied, false).encode();
        let hex = format!("{raw:#x}");
        let text = run_argv(&["irqlab", "decode", "vtd-fault", &hex]).unwrap();
        assert_eq!(line(&text, "fault_info"), Some("0x0000000012345000"));
        assert_eq!(line(&text, "source_id"), Some("0x0310 (03:02.0)"));
        assert_eq!(line(&text, "reason"), Some("0x05 (PTE Write access is not set)"));
        assert_eq!(line(&text, "read"), Some("false"));
        assert_eq!(line(&text, "valid"), Some("true"));
        let v = assert_same_keys(&text, &run_argv(&["irqlab", "decode", "vtd-fault", &hex, "--json"]).unwrap());
        assert_eq!(v["reason"], "write_denied");
        // Interrupt fault: the index from bits 63:48.
        let raw = FaultRecord::interrupt(0x00f8, 0x0105, FaultReason::IrteNotPresent).encode();
        let text = run_argv(&["irqlab", "decode", "vtd-fault", &format!("{raw:x}")]).unwrap();
        assert_eq!(line(&text, "interrupt_index"), Some("0x0105 (261)"));
    }

    #[test]
    fn context_and_root_entries_round_trip_through_the_cli() {
        let raw = ContextEntry::new_translated(0x7_5432_1000, 0x42, 2).encode();
        let hex = format!("{raw:#x}");
        let text = run_argv(&["irqlab", "decode", "context-entry", &hex]).unwrap();
        assert_eq!(line(&text, "translation_type"), Some("multi-level"));
        assert_eq!(line(&text, "slptptr"), Some("0x0000000754321000"));
        assert_eq!(line(&text, "levels"), Some("4"));
        assert_eq!(line(&text, "address_width"), Some("48"));
        assert_eq!(line(&text, "did"), Some("0x0042 (66)"));
        assert_eq!(line(&text, "check"), Some("ok"));
        let v = assert_same_keys(&text, &run_argv(&["irqlab", "decode", "context-entry", &hex, "--json"]).unwrap());
        assert_eq!(v["did"], 0x42);
        // A reserved bit (4) makes it fault 0xB.
        let text = run_argv(&["irqlab", "decode", "context-entry", &format!("{:#x}", raw | 0x10)]).unwrap();
        assert_eq!(line(&text, "check"), Some("0x0b (non-zero reserved fields in CTP)"));

        let raw = RootEntry::new(0x1_2345_6000).encode();
        let text = run_argv(&["irqlab", "decode", "root-entry", &format!("{raw:x}")]).unwrap();
        assert_eq!(line(&text, "present"), Some("true"));
        assert_eq!(line(&text, "context_table"), Some("0x0000000123456000"));
        assert_eq!(line(&text, "check"), Some("ok"));
        let text = run_argv(&["irqlab", "decode", "root-entry", "0"]).unwrap();
        assert_eq!(line(&text, "check"), Some("0x01 (Present bit in root entry is clear)"));
    }

    #[test]
    fn sl_pte_round_trips_through_the_cli() {
        // A read-only 2 MiB page at 0x4060_0000.
        let raw = SlPte::leaf(0x4060_0000, true, false, true).raw;
        let hex = format!("{raw:#x}");
        let text = run_argv(&["irqlab", "decode", "sl-pte", &hex, "--level", "2"]).unwrap();
        assert_eq!(line(&text, "raw"), Some("0x0000000040600081"));
        assert_eq!(line(&text, "read"), Some("true"));
        assert_eq!(line(&text, "write"), Some("false"));
        assert_eq!(line(&text, "page_size"), Some("true"));
        assert_eq!(line(&text, "maps"), Some("2 MiB"));
        assert_eq!(line(&text, "reserved"), Some("0x0000000000000000"));
        let v = assert_same_keys(
            &text,
            &run_argv(&["irqlab", "decode", "sl-pte", &hex, "--level", "2", "--json"]).unwrap(),
        );
        assert_eq!(v["maps"], 0x20_0000);
        // At level 4 PS is reserved; at level 1 the same entry maps 4 KiB.
        let text = run_argv(&["irqlab", "decode", "sl-pte", &hex, "--level", "4"]).unwrap();
        assert_eq!(line(&text, "reserved"), Some("0x0000000000000080"));
        let text = run_argv(&["irqlab", "decode", "sl-pte", &hex]).unwrap();
        assert_eq!(line(&text, "maps"), Some("4 KiB"));
        // Address bit 40 is reserved under a 39-bit HAW.
        let text = run_argv(&["irqlab", "decode", "sl-pte", "0x10000000003", "--haw", "39"]).unwrap();
        assert_eq!(line(&text, "reserved"), Some("0x0000010000000000"));
    }

    #[test]
    fn vtd_bad_input_is_an_error_naming_the_problem() {
        for (argv, expect) in [
            (vec!["irte", &"1".repeat(33)], "IRTE: 33 hex digits do not fit in 128 bits"),
            (vec!["irte", "0x12g4"], "IRTE: invalid hex character 'g' at position 2"),
            (vec!["vtd-fault", "xyz"], "fault record: invalid hex character 'x' at position 0"),
            (vec!["context-entry", "1_2_3"], "context entry: 3 groups of hex digits"),
            (vec!["root-entry", ""], "root entry: empty hex string"),
            (vec!["root-entry", "11111111111111111", "0"], "root entry: the high half has 17 significant hex digits"),
            (vec!["sl-pte", "1ffffffffffffffff"], "SL-PTE: 17 hex digits do not fit in 64 bits"),
        ] {
            let mut full = vec!["irqlab", "decode"];
            full.extend(argv.iter().copied());
            let err = run_argv(&full).unwrap_err();
            assert!(err.starts_with(expect), "{argv:?}: {err}");
        }
        // Usage errors from the parser: a level outside 1-5, three halves, no value.
        assert!(run_argv(&["irqlab", "decode", "sl-pte", "3", "--level", "0"]).is_err());
        assert!(run_argv(&["irqlab", "decode", "sl-pte", "3", "--haw", "60"]).is_err());
        assert!(run_argv(&["irqlab", "decode", "irte", "1", "2", "3"]).is_err());
        assert!(run_argv(&["irqlab", "decode", "vtd-fault"]).is_err());
    }

    #[test]
    fn pid_round_trips_through_the_cli() {
        use irqlab_hw::vtd::pid::{POSTED_INTR_VECTOR, hex512};
        let mut d = PostedInterruptDescriptor::new(POSTED_INTR_VECTOR, 3, false);
        d.post(0x41, false);
        d.post(0xec, false);
        let raw = hex512(&d.encode());
        let text = run_argv(&["irqlab", "decode", "pid", &raw]).unwrap();
        assert_eq!(line(&text, "raw"), Some(raw.as_str()));
        assert_eq!(line(&text, "pir"), Some("0x41 0xec"));
        assert_eq!(line(&text, "on"), Some("true"));
        assert_eq!(line(&text, "nv"), Some("0xf2 (242)"));
        assert_eq!(line(&text, "apic_id_xapic"), Some("3"));
        // JSON, and the digits split into groups.
        let split = format!("{} {}", &raw[..66], &raw[66..]);
        let json = run_argv(&["irqlab", "decode", "--json", "pid", &split]).unwrap();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["pir"], serde_json::json!([0x41, 0xec]));
        assert_eq!(v["raw"], serde_json::json!(raw));
        let back = irqlab_hw::hex::parse_u512(v["raw"].as_str().unwrap()).unwrap();
        assert_eq!(PostedInterruptDescriptor::decode(back), d);
        // Bad input names the problem.
        let err = run_argv(&["irqlab", "decode", "pid", &"1".repeat(129)]).unwrap_err();
        assert!(err.starts_with("posted-interrupt descriptor: 129 hex digits do not fit in 512 bits"), "{err}");
        let err = run_argv(&["irqlab", "decode", "pid", "0x12z"]).unwrap_err();
        assert!(err.contains("invalid hex character 'z'"), "{err}");
    }
}
