//! `irqlab check`: exhaustive checks of the driver/device memory-ordering
//! contract (`docs/memory-model.md`).
//!
//! * `irqlab check doorbell --model weak|tso --barrier none|wmb|dma-wmb
//!   --descriptors K [--mmio uc|wc] [--json]` — can the NIC, after the tail
//!   doorbell, DMA-read a descriptor before all its stores are visible?
//! * `irqlab check rx-status --model weak|tso --barrier none|dma-rmb [--json]`
//!   — can the driver, after seeing a descriptor's DD bit, use data it loaded
//!   before the device wrote it?
//!
//! Prints "safe: explored N visibility orders" or "counterexample (M steps):"
//! with the numbered events and the stale read. The caller maps the outcome
//! to the exit code: 0 safe, 1 counterexample, 2 bad arguments (`Err`).

use clap::{Args, Subcommand, ValueEnum};
use irqlab_model::memory::check::{doorbell_program, rx_status_program};
use irqlab_model::memory::{Barrier, MemoryModel, MmioType, RxBarrier, Verdict, check_doorbell, check_rx_status};
use serde_json::{Map, Value, json};
use std::io::Write;

/// Arguments of `irqlab check`.
#[derive(Args, Debug, Clone)]
pub struct CheckArgs {
    /// What to check.
    #[command(subcommand)]
    pub what: CheckWhat,
}

/// The contracts `irqlab check` knows.
#[derive(Subcommand, Debug, Clone)]
pub enum CheckWhat {
    /// TX: descriptor stores, barrier, tail doorbell — can the NIC read a stale descriptor?
    Doorbell(DoorbellArgs),
    /// RX: done bit, then length and data — can the driver use stale data?
    RxStatus(RxStatusArgs),
}

/// Arguments of `irqlab check doorbell`.
#[derive(Args, Debug, Clone)]
pub struct DoorbellArgs {
    /// CPU memory model.
    #[arg(long, value_enum)]
    pub model: ModelArg,
    /// Barrier between the descriptor stores and the doorbell.
    #[arg(long, value_enum)]
    pub barrier: BarrierArg,
    /// Descriptors written before the doorbell (1 to 10).
    #[arg(long, value_name = "K", allow_negative_numbers = true)]
    pub descriptors: u32,
    /// Memory type of the doorbell's MMIO mapping.
    #[arg(long, value_enum, default_value_t = MmioArg::Uc)]
    pub mmio: MmioArg,
    /// Print the verdict as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `irqlab check rx-status`.
#[derive(Args, Debug, Clone)]
pub struct RxStatusArgs {
    /// CPU memory model.
    #[arg(long, value_enum)]
    pub model: ModelArg,
    /// Barrier between reading the done bit and reading the rest.
    #[arg(long, value_enum)]
    pub barrier: RxBarrierArg,
    /// Print the verdict as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `--model`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelArg {
    /// ARMv8-like: stores (and loads) to different locations reorder unless a barrier separates them.
    Weak,
    /// x86 total store order.
    Tso,
}

/// `--barrier` of `check doorbell`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum BarrierArg {
    /// No barrier.
    None,
    /// wmb(): sfence on x86, dsb st on arm64.
    Wmb,
    /// dma_wmb(): a compiler barrier on x86, dmb oshst on arm64.
    #[value(alias = "dma_wmb")]
    DmaWmb,
}

/// `--mmio`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum MmioArg {
    /// Uncached (ioremap).
    Uc,
    /// Write-combining (ioremap_wc).
    Wc,
}

/// `--barrier` of `check rx-status`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum RxBarrierArg {
    /// No barrier.
    None,
    /// dma_rmb(): a compiler barrier on x86, dmb oshld on arm64.
    #[value(alias = "dma_rmb")]
    DmaRmb,
}

/// What a check found; the caller turns it into the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckOutcome {
    /// No allowed execution reads stale data (exit 0).
    Safe,
    /// A counterexample was printed (exit 1).
    Counterexample,
}

impl CheckOutcome {
    /// The process exit code for this outcome.
    pub fn exit_code(self) -> u8 {
        match self {
            CheckOutcome::Safe => 0,
            CheckOutcome::Counterexample => super::EXIT_COUNTEREXAMPLE,
        }
    }
}

impl From<ModelArg> for MemoryModel {
    fn from(m: ModelArg) -> Self {
        match m {
            ModelArg::Weak => MemoryModel::Weak,
            ModelArg::Tso => MemoryModel::Tso,
        }
    }
}

impl From<BarrierArg> for Barrier {
    fn from(b: BarrierArg) -> Self {
        match b {
            BarrierArg::None => Barrier::None,
            BarrierArg::Wmb => Barrier::Wmb,
            BarrierArg::DmaWmb => Barrier::DmaWmb,
        }
    }
}

impl From<MmioArg> for MmioType {
    fn from(m: MmioArg) -> Self {
        match m {
            MmioArg::Uc => MmioType::Uc,
            MmioArg::Wc => MmioType::Wc,
        }
    }
}

impl From<RxBarrierArg> for RxBarrier {
    fn from(b: RxBarrierArg) -> Self {
        match b {
            RxBarrierArg::None => RxBarrier::None,
            RxBarrierArg::DmaRmb => RxBarrier::DmaRmb,
        }
    }
}

/// `irqlab check`. `Err` is bad input (exit 2) or a failed write.
pub fn run(a: &CheckArgs, out: &mut dyn Write) -> Result<CheckOutcome, String> {
    let (header, params, program, verdict, json) = match &a.what {
        CheckWhat::Doorbell(d) => {
            let (model, barrier, mmio) = (MemoryModel::from(d.model), Barrier::from(d.barrier), MmioType::from(d.mmio));
            let verdict = check_doorbell(model, barrier, mmio, d.descriptors).map_err(|e| e.to_string())?;
            let k = d.descriptors;
            let header = format!(
                "check doorbell: model {model}, barrier {barrier} ({}), mmio {mmio}, {k} descriptor{}",
                barrier.instruction(model),
                if k == 1 { "" } else { "s" }
            );
            let params = json!({
                "check": "doorbell",
                "model": model.name(),
                "barrier": barrier.name(),
                "mmio": mmio.name(),
                "descriptors": k,
            });
            (header, params, doorbell_program(model, barrier, mmio, k), verdict, d.json)
        }
        CheckWhat::RxStatus(r) => {
            let (model, barrier) = (MemoryModel::from(r.model), RxBarrier::from(r.barrier));
            let verdict = check_rx_status(model, barrier);
            let header = format!("check rx-status: model {model}, barrier {barrier} ({})", barrier.instruction(model));
            let params = json!({ "check": "rx-status", "model": model.name(), "barrier": barrier.name() });
            (header, params, rx_status_program(model, barrier), verdict, r.json)
        }
    };
    let outcome = if verdict.is_safe() { CheckOutcome::Safe } else { CheckOutcome::Counterexample };
    let io = |e: std::io::Error| e.to_string();
    if json {
        writeln!(out, "{}", to_json(params, &program, &verdict)?).map_err(io)?;
    } else {
        print_text(out, &header, &program, &verdict).map_err(io)?;
    }
    Ok(outcome)
}

fn to_json(params: Value, program: &[String], verdict: &Verdict) -> Result<String, String> {
    let mut obj: Map<String, Value> = match params {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    obj.insert("program".into(), json!(program));
    if let Value::Object(v) = serde_json::to_value(verdict).map_err(|e| e.to_string())? {
        obj.extend(v);
    }
    serde_json::to_string_pretty(&Value::Object(obj)).map_err(|e| e.to_string())
}

fn print_text(out: &mut dyn Write, header: &str, program: &[String], verdict: &Verdict) -> std::io::Result<()> {
    writeln!(out, "{header}")?;
    writeln!(out, "driver program, in program order:")?;
    for line in program {
        writeln!(out, "    {line}")?;
    }
    match verdict {
        Verdict::Safe { orders_explored } => {
            let s = if *orders_explored == 1 { "" } else { "s" };
            writeln!(out, "safe: explored {orders_explored} visibility order{s}")
        }
        Verdict::Counterexample { stores_in_visibility_order, device_read } => {
            let m = stores_in_visibility_order.len() + 1;
            writeln!(out, "counterexample ({m} step{}):", if m == 1 { "" } else { "s" })?;
            for (i, step) in stores_in_visibility_order.iter().enumerate() {
                writeln!(out, "  {:>2}. {step}", i + 1)?;
            }
            writeln!(out, "  {m:>2}. STALE: {device_read}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doorbell(model: ModelArg, barrier: BarrierArg, mmio: MmioArg, k: u32, json: bool) -> (CheckOutcome, String) {
        let a = CheckArgs { what: CheckWhat::Doorbell(DoorbellArgs { model, barrier, descriptors: k, mmio, json }) };
        let mut out = Vec::new();
        let o = run(&a, &mut out).unwrap();
        (o, String::from_utf8(out).unwrap())
    }

    #[test]
    fn the_five_required_verdicts_print_and_map_to_exit_codes() {
        use BarrierArg::{None, Wmb};
        use MmioArg::{Uc, Wc};
        use ModelArg::{Tso, Weak};
        for (m, b, mmio, safe) in [
            (Weak, None, Uc, false),
            (Weak, Wmb, Uc, true),
            (Tso, None, Uc, true),
            (Tso, None, Wc, false),
            (Tso, Wmb, Wc, true),
        ] {
            let (o, text) = doorbell(m, b, mmio, 2, false);
            if safe {
                assert_eq!(o.exit_code(), 0);
                assert!(text.lines().last().unwrap().starts_with("safe: explored "), "{text}");
            } else {
                assert_eq!(o.exit_code(), 1);
                assert!(text.contains("counterexample (2 steps):\n   1. visible: TDT = 2"), "{text}");
                assert!(text.contains("   2. STALE: device reads tx_ring[0]"), "{text}");
            }
        }
    }

    #[test]
    fn safe_output_counts_orders() {
        let (_, text) = doorbell(ModelArg::Weak, BarrierArg::Wmb, MmioArg::Uc, 2, false);
        assert!(text.starts_with("check doorbell: model weak, barrier wmb (dsb st), mmio uc, 2 descriptors\n"));
        assert!(text.ends_with("safe: explored 24 visibility orders\n"), "{text}");
    }

    #[test]
    fn json_carries_the_parameters_and_the_verdict() {
        let (_, text) = doorbell(ModelArg::Tso, BarrierArg::None, MmioArg::Wc, 1, true);
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["check"], "doorbell");
        assert_eq!(v["mmio"], "wc");
        assert_eq!(v["verdict"], "counterexample");
        assert_eq!(v["stores_in_visibility_order"][0], "visible: TDT = 1 (tail doorbell, MMIO wc)");
        assert!(v["device_read"].as_str().unwrap().starts_with("device reads tx_ring[0]"));
    }

    #[test]
    fn out_of_range_descriptor_counts_are_errors() {
        for k in [0, irqlab_model::memory::MAX_DESCRIPTORS + 1, u32::MAX] {
            let a = CheckArgs {
                what: CheckWhat::Doorbell(DoorbellArgs {
                    model: ModelArg::Weak,
                    barrier: BarrierArg::Wmb,
                    descriptors: k,
                    mmio: MmioArg::Uc,
                    json: false,
                }),
            };
            let e = run(&a, &mut Vec::new()).unwrap_err();
            assert!(e.contains("1 to 10 descriptors"), "{e}");
        }
    }

    #[test]
    fn rx_status_needs_dma_rmb_on_weak() {
        let run_rx = |model, barrier| {
            let a = CheckArgs { what: CheckWhat::RxStatus(RxStatusArgs { model, barrier, json: false }) };
            let mut out = Vec::new();
            (run(&a, &mut out).unwrap(), String::from_utf8(out).unwrap())
        };
        let (o, text) = run_rx(ModelArg::Weak, RxBarrierArg::None);
        assert_eq!(o, CheckOutcome::Counterexample);
        assert!(text.contains("STALE: driver reads rx_desc[0].status: DD set"), "{text}");
        let (o, text) = run_rx(ModelArg::Weak, RxBarrierArg::DmaRmb);
        assert_eq!(o, CheckOutcome::Safe);
        assert!(text.ends_with("safe: explored 20 visibility orders\n"), "{text}");
    }

    #[test]
    fn clap_parses_the_documented_spellings() {
        use clap::Parser;
        #[derive(Parser, Debug)]
        struct T {
            #[command(subcommand)]
            what: CheckWhat,
        }
        let t =
            T::try_parse_from(["check", "doorbell", "--model", "tso", "--barrier", "dma_wmb", "--descriptors", "3"])
                .unwrap();
        let CheckWhat::Doorbell(d) = t.what else { panic!("expected doorbell") };
        assert_eq!((d.barrier, d.mmio, d.descriptors), (BarrierArg::DmaWmb, MmioArg::Uc, 3));
        assert!(T::try_parse_from(["check", "doorbell", "--model", "arm", "--barrier", "none"]).is_err());
        let t = T::try_parse_from(["check", "rx-status", "--model", "weak", "--barrier", "dma-rmb", "--json"]).unwrap();
        assert!(matches!(t.what, CheckWhat::RxStatus(RxStatusArgs { json: true, .. })));
    }
}
