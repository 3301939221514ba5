//! `irqlab rss`: the RSS Toeplitz hash of one flow, and optionally the
//! indirection-table slot and receive queue it lands on.
//!
//! Front end for `irqlab_hw::rss` (docs/sources.md §1): builds the hash input from
//! `--src`/`--dst` (4-tuple when both carry ports, 2-tuple when neither
//! does), hashes it with `--key` (default: the Microsoft verification key),
//! and with `--queues` looks the hash up in a default-filled RETA
//! (`index % queues`, Linux `ethtool_rxfh_indir_default`). Leaves out header
//! parsing and hash-type selection: the user says what the tuple is.
//!
//! Output is `name: value` lines (first line `hash: 0x%08x`) or, with
//! `--json`, one JSON object with the same keys.

use std::io::Write;

use clap::Args;
use irqlab_hw::rss::{Reta, RssKey, RssTuple, parse_endpoint, parse_key_hex};

/// RETA size used when `--queues` is given without `--reta-size` (the common
/// 128-entry table, Linux `scaling.rst`).
pub const DEFAULT_RETA_SIZE: usize = 128;

/// Compute the RSS Toeplitz hash of a flow, and optionally its RETA slot and queue.
#[derive(Debug, Clone, Args)]
pub struct RssArgs {
    /// RSS key as hex (plain or colon-separated, optional 0x, >= 40 bytes)
    /// [default: the Microsoft verification key]
    #[arg(long, value_name = "HEX", allow_hyphen_values = true)]
    pub key: Option<String>,
    /// Source endpoint: IPv4, IPv4:PORT, IPv6 or [IPv6]:PORT
    #[arg(long, value_name = "IP[:PORT]")]
    pub src: String,
    /// Destination endpoint: IPv4, IPv4:PORT, IPv6 or [IPv6]:PORT
    #[arg(long, value_name = "IP[:PORT]")]
    pub dst: String,
    /// Indirection table size, a power of two [default: 128 with --queues]
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub reta_size: Option<usize>,
    /// Number of RX queues: print the RETA index and the queue it selects
    #[arg(long, value_name = "Q", allow_negative_numbers = true)]
    pub queues: Option<u16>,
    /// Print one JSON object instead of `name: value` lines
    #[arg(long)]
    pub json: bool,
}

fn hex_string(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Run `irqlab rss`. Errors are returned as text for the caller to print.
pub fn run(args: &RssArgs, out: &mut dyn Write) -> Result<(), String> {
    let (key, key_source) = match &args.key {
        Some(text) => (parse_key_hex(text).map_err(|e| format!("--key: {e}"))?, "given"),
        None => (RssKey::microsoft(), "microsoft default"),
    };
    let src = parse_endpoint(&args.src).map_err(|e| format!("--src: {e}"))?;
    let dst = parse_endpoint(&args.dst).map_err(|e| format!("--dst: {e}"))?;
    let tuple = RssTuple::from_endpoints(src, dst).map_err(|e| e.to_string())?;
    let hash = key.hash_tuple(&tuple);
    let kind = tuple.kind();

    let reta_size = match (args.reta_size, args.queues) {
        (Some(size), _) => Some(size),
        (None, Some(_)) => Some(DEFAULT_RETA_SIZE),
        (None, None) => None,
    };
    // The index needs only the size; a queue count of 1 is a placeholder
    // when --queues is absent and no queue is printed.
    let reta = reta_size.map(|size| Reta::new(size, args.queues.unwrap_or(1))).transpose().map_err(|e| {
        match (args.reta_size, args.queues) {
            (_, Some(0)) => format!("--queues: {e}"),
            _ => format!("--reta-size: {e}"),
        }
    })?;

    let mut fields: Vec<(&str, serde_json::Value, String)> = vec![
        ("hash", hash.into(), format!("{hash:#010x}")),
        ("input_type", kind.name().into(), format!("{} ({}; {} bytes)", kind.name(), kind.layout(), kind.input_len())),
        ("input", hex_string(tuple.as_bytes()).into(), hex_string(tuple.as_bytes())),
        ("key", key.to_hex().into(), format!("{} ({key_source}, {} bytes)", key.to_hex(), key.as_bytes().len())),
    ];
    if let Some(reta) = &reta {
        let index = reta.index_for(hash);
        fields.push(("reta_size", reta.size().into(), reta.size().to_string()));
        fields.push(("reta_index", index.into(), index.to_string()));
        if let Some(queues) = args.queues {
            let queue = reta.queue_for(hash);
            fields.push(("queues", queues.into(), queues.to_string()));
            fields.push(("queue", queue.into(), queue.to_string()));
        }
    }

    let write_err = |e: std::io::Error| format!("writing output: {e}");
    if args.json {
        let mut obj = serde_json::Map::new();
        for (name, value, text) in fields {
            if name == "hash" {
                obj.insert("hash_hex".to_owned(), text.into());
            }
            obj.insert(name.to_owned(), value);
        }
        let text =
            serde_json::to_string_pretty(&serde_json::Value::Object(obj)).map_err(|e| format!("encoding JSON: {e}"))?;
        writeln!(out, "{text}").map_err(write_err)?;
    } else {
        for (name, _, text) in fields {
            writeln!(out, "{name}: {text}").map_err(write_err)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(src: &str, dst: &str) -> RssArgs {
        RssArgs { key: None, src: src.to_owned(), dst: dst.to_owned(), reta_size: None, queues: None, json: false }
    }

    fn output(a: &RssArgs) -> Result<String, String> {
        let mut buf = Vec::new();
        run(a, &mut buf)?;
        Ok(String::from_utf8(buf).unwrap())
    }

    #[test]
    fn microsoft_row_1_with_ports_prints_the_4tuple_hash_first() {
        // docs/sources.md §1.3 row 1: src 66.9.149.187:2794, dst 161.142.100.80:1766.
        let text = output(&args("66.9.149.187:2794", "161.142.100.80:1766")).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "hash: 0x51ccc178");
        assert!(lines[1].starts_with("input_type: ipv4-4tuple"));
        assert_eq!(lines[2], "input: 420995bba18e64500aea06e6");
        assert_eq!(lines.len(), 4, "no RETA lines without --queues/--reta-size");
    }

    #[test]
    fn microsoft_row_1_without_ports_uses_the_2tuple() {
        let text = output(&args("66.9.149.187", "161.142.100.80")).unwrap();
        assert!(text.starts_with("hash: 0x323e8fc2\ninput_type: ipv4-2tuple"));
    }

    #[test]
    fn queues_add_reta_index_and_queue_with_default_128_entries() {
        let mut a = args("66.9.149.187:2794", "161.142.100.80:1766");
        a.queues = Some(16);
        let text = output(&a).unwrap();
        // 0x51ccc178 & 127 = 120; default fill 120 % 16 = 8.
        assert!(text.contains("reta_size: 128\nreta_index: 120\nqueues: 16\nqueue: 8\n"));
        a.reta_size = Some(512);
        let text = output(&a).unwrap();
        // & 511 = 376; 376 % 16 = 8.
        assert!(text.contains("reta_size: 512\nreta_index: 376\n"));
    }

    #[test]
    fn json_has_the_same_keys_and_numeric_hash() {
        let mut a = args("66.9.149.187:2794", "161.142.100.80:1766");
        a.json = true;
        a.queues = Some(4);
        let v: serde_json::Value = serde_json::from_str(&output(&a).unwrap()).unwrap();
        assert_eq!(v["hash"], 0x51cc_c178_u32);
        assert_eq!(v["hash_hex"], "0x51ccc178");
        assert_eq!(v["input_type"], "ipv4-4tuple");
        assert_eq!(v["reta_index"], 120);
        assert_eq!(v["queue"], 0);
    }

    #[test]
    fn ipv6_and_explicit_key_work() {
        let mut a = args("[2001:db8::1]:443", "[2001:db8::2]:80");
        a.key = Some("6d5a".repeat(20));
        let fwd = output(&a).unwrap();
        assert!(fwd.contains("input_type: ipv6-4tuple"));
        // Symmetric key: swapping directions gives the same first line.
        let mut b = args("[2001:db8::2]:80", "[2001:db8::1]:443");
        b.key = a.key.clone();
        let rev = output(&b).unwrap();
        assert_eq!(fwd.lines().next(), rev.lines().next());
    }

    #[test]
    fn bad_input_is_an_error_message() {
        let mut a = args("66.9.149.187:2794", "161.142.100.80");
        assert!(output(&a).unwrap_err().contains("port"));
        a = args("1.2.3.4", "::1");
        assert!(output(&a).unwrap_err().contains("families"));
        a = args("1.2.3.4", "5.6.7.8");
        a.key = Some("zz".to_owned());
        assert!(output(&a).unwrap_err().starts_with("--key:"));
        a.key = Some("6d5a".to_owned());
        assert!(output(&a).unwrap_err().contains("40"));
        a = args("1.2.3.4", "5.6.7.8");
        a.reta_size = Some(100);
        assert!(output(&a).unwrap_err().starts_with("--reta-size:"));
        a.reta_size = None;
        a.queues = Some(0);
        assert!(output(&a).unwrap_err().starts_with("--queues:"));
        a = args("nonsense", "5.6.7.8");
        assert!(output(&a).unwrap_err().starts_with("--src:"));
    }
}
