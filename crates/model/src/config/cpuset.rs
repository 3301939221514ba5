//! CPU sets as Linux writes them, accepted wherever a scenario names a set
//! of CPUs: an array of CPU numbers, or the text of the matching `/proc` or
//! `/sys` file, so a real machine's settings can be pasted in:
//!
//! * a **cpulist** (`/proc/irq/N/smp_affinity_list`, `isolcpus`): `0-3,8-11`,
//!   `5`, ranges and single CPUs separated by commas (`lib/bitmap.c`
//!   `bitmap_parselist`, without the `:used/group` stride form);
//! * a **hex mask** (`/proc/irq/N/smp_affinity`,
//!   `/sys/class/net/*/queues/rx-*/rps_cpus`): comma-separated groups of at
//!   most 8 hex digits, most significant group first, e.g. `ff,00000000` for
//!   CPUs 32–39 (`bitmap_parse`); an optional `0x` is allowed.
//!
//! Each key takes the format of the file it mirrors: `kernel.rps_cpus` and
//! `kernel.rps_cpus_by_queue` a mask (as `rps_cpus`), `nic.irq_cores` a
//! cpulist (as `smp_affinity_list`). Either way the set is kept as a sorted
//! list of CPU numbers.

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use std::fmt;

/// The most CPUs a mask or list may name (the model's 255 cores, with room).
const MAX_CPU: u32 = 4095;

/// Parses a cpulist: `0-3,8-11`.
pub fn parse_cpulist(text: &str) -> Result<Vec<u32>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for part in text.split(',') {
        let part = part.trim();
        let num = |s: &str| {
            s.trim()
                .parse::<u32>()
                .map_err(|_| format!("`{part}` in the cpulist `{text}` is not a CPU number or a range a-b"))
        };
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (num(a)?, num(b)?),
            None => (num(part)?, num(part)?),
        };
        if lo > hi {
            return Err(format!("the range `{part}` in the cpulist `{text}` runs backwards"));
        }
        if hi > MAX_CPU {
            return Err(format!("CPU {hi} in the cpulist `{text}` is beyond {MAX_CPU}"));
        }
        out.extend(lo..=hi);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// Parses a hex CPU mask: `ff,00000000`.
pub fn parse_cpumask(text: &str) -> Result<Vec<u32>, String> {
    let body = text.trim();
    let body = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")).unwrap_or(body);
    if body.is_empty() {
        return Err(format!("`{text}` is not a hex CPU mask"));
    }
    let groups: Vec<&str> = body.split(',').collect();
    let mut out = Vec::new();
    for (i, g) in groups.iter().rev().enumerate() {
        if g.is_empty() || g.len() > 8 {
            return Err(format!(
                "`{g}` in the mask `{text}` is not a group of 1 to 8 hex digits (groups are 32 bits, most significant first, as in smp_affinity)"
            ));
        }
        let bits = u32::from_str_radix(g, 16).map_err(|_| {
            // A cpulist where a mask belongs: say which mask it means.
            let hint = match parse_cpulist(text) {
                Ok(cpus) if text.contains(['-', ',']) => format!(
                    "; this is a hex mask as in sysfs: the CPUs {text} are `{}`, or give an array of CPU numbers",
                    to_cpumask(&cpus)
                ),
                _ => String::new(),
            };
            format!("`{g}` in the mask `{text}` is not hex{hint}")
        })?;
        for b in 0..32 {
            if bits & (1 << b) != 0 {
                let cpu = i as u32 * 32 + b;
                if cpu > MAX_CPU {
                    return Err(format!("the mask `{text}` names CPU {cpu}, beyond {MAX_CPU}"));
                }
                out.push(cpu);
            }
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// The hex mask of `cpus`, 32-bit groups most significant first, separated
/// by commas (the form [`parse_cpumask`] reads).
pub fn to_cpumask(cpus: &[u32]) -> String {
    let groups = cpus.iter().map(|c| c / 32 + 1).max().unwrap_or(1) as usize;
    let mut words = vec![0u32; groups];
    for c in cpus {
        words[(c / 32) as usize] |= 1 << (c % 32);
    }
    let mut out: Vec<String> = Vec::with_capacity(groups);
    for (i, w) in words.iter().rev().enumerate() {
        out.push(if i == 0 { format!("{w:x}") } else { format!("{w:08x}") });
    }
    out.join(",")
}

struct SetVisitor {
    parse: fn(&str) -> Result<Vec<u32>, String>,
    what: &'static str,
}

impl<'de> Visitor<'de> for SetVisitor {
    type Value = Vec<u32>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "an array of CPU numbers or {}", self.what)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<u32>, E> {
        (self.parse)(v).map_err(E::custom)
    }

    /// A bare number reads as its text would (`--set nic.irq_cores=2` is
    /// CPU 2; `--set kernel.rps_cpus=3` is the mask 3, CPUs 0 and 1).
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Vec<u32>, E> {
        (self.parse)(&v.to_string()).map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Vec<u32>, E> {
        (self.parse)(&v.to_string()).map_err(E::custom)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u32>, A::Error> {
        let mut out = Vec::new();
        while let Some(c) = seq.next_element::<u32>()? {
            out.push(c);
        }
        Ok(out)
    }
}

/// A CPU set given as an array or a hex mask (`rps_cpus`).
pub fn mask_or_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u32>, D::Error> {
    d.deserialize_any(SetVisitor { parse: parse_cpumask, what: "a hex CPU mask such as \"ff,00000000\"" })
}

/// A CPU set given as an array or a cpulist (`smp_affinity_list`), or as
/// a hex mask with a `0x` prefix (`smp_affinity`, `"0x0f"`).
pub fn cpulist_or_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u32>, D::Error> {
    d.deserialize_any(SetVisitor {
        parse: cpulist_or_prefixed_mask,
        what: "a cpulist such as \"0-3,8-11\" or a hex mask such as \"0xff\"",
    })
}

/// A cpulist, or a hex mask when it starts with `0x`.
fn cpulist_or_prefixed_mask(text: &str) -> Result<Vec<u32>, String> {
    let t = text.trim();
    if t.starts_with("0x") || t.starts_with("0X") { parse_cpumask(t) } else { parse_cpulist(t) }
}

/// One CPU set per queue, each an array or a hex mask.
pub fn masks_or_lists<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<u32>>, D::Error> {
    struct Sets;
    #[derive(serde::Deserialize)]
    #[serde(transparent)]
    struct One(#[serde(deserialize_with = "mask_or_list")] Vec<u32>);
    impl<'de> Visitor<'de> for Sets {
        type Value = Vec<Vec<u32>>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            write!(f, "an array with one CPU set per queue (an array of CPU numbers or a hex mask each)")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(One(s)) = seq.next_element::<One>()? {
                out.push(s);
            }
            Ok(out)
        }
    }
    d.deserialize_seq(Sets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mask_written_from_cpus_reads_back_as_them() {
        assert_eq!(to_cpumask(&[0, 1, 2, 3]), "f");
        assert_eq!(to_cpumask(&[]), "0");
        assert_eq!(to_cpumask(&[4, 33]), "2,00000010");
        for cpus in [vec![0u32, 5, 31], vec![32], vec![1, 40, 63, 64, 100]] {
            assert_eq!(parse_cpumask(&to_cpumask(&cpus)).unwrap(), cpus);
        }
        let e = parse_cpumask("0-3,8").unwrap_err();
        assert!(e.contains("the CPUs 0-3,8 are `10f`"), "{e}");
        assert!(!parse_cpumask("xyz").unwrap_err().contains("CPUs"), "no hint when it is no cpulist either");
    }

    #[test]
    fn cpulists_as_linux_writes_them() {
        assert_eq!(parse_cpulist("0-3,8-11").unwrap(), vec![0, 1, 2, 3, 8, 9, 10, 11]);
        assert_eq!(parse_cpulist("5").unwrap(), vec![5]);
        assert_eq!(parse_cpulist("3,1-2,2").unwrap(), vec![1, 2, 3]);
        assert_eq!(parse_cpulist("").unwrap(), Vec::<u32>::new());
        assert!(parse_cpulist("3-1").unwrap_err().contains("backwards"));
        assert!(parse_cpulist("0-3:2/4").unwrap_err().contains("not a CPU number"));
    }

    #[test]
    fn masks_as_linux_writes_them() {
        assert_eq!(parse_cpumask("3").unwrap(), vec![0, 1]);
        assert_eq!(parse_cpumask("f0").unwrap(), vec![4, 5, 6, 7]);
        assert_eq!(parse_cpumask("ff,00000000").unwrap(), (32..40).collect::<Vec<u32>>());
        assert_eq!(parse_cpumask("0x1,00000001").unwrap(), vec![0, 32]);
        assert_eq!(parse_cpumask("0").unwrap(), Vec::<u32>::new());
        assert!(parse_cpumask("123456789").unwrap_err().contains("1 to 8 hex digits"));
        assert!(parse_cpumask("zz").unwrap_err().contains("not hex"));
    }
}
