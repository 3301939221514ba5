//! The arrival generator: one frame of a port's stream (flow, size, last
//! bit's time) per iteration, for evenly spaced and Poisson arrivals with
//! 64 and with a million flows. Run with `cargo bench -p irqlab-model`.

use irqlab_model::config::{ArrivalKind, WorkloadConfig};
use irqlab_model::workload::traffic::PortArrivals;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn main() {
    divan::main();
}

fn stream(arrival: ArrivalKind, flows: u32) -> PortArrivals {
    let mut w = WorkloadConfig::default();
    w.arrival = arrival;
    w.rate_pps = Some(14_880_952.0);
    let mut s = PortArrivals::new(&w, flows, 10.0, ChaCha8Rng::seed_from_u64(1));
    // Touch every flow's state first, as a long run has: the figures are
    // then the steady state, not the first touches of fresh pages.
    for _ in 0..2 * flows {
        s.next_packet();
    }
    s
}

#[divan::bench(args = [64, 1_000_000])]
fn constant(bencher: divan::Bencher, flows: u32) {
    let mut s = stream(ArrivalKind::Constant, flows);
    bencher.bench_local(|| s.next_packet());
}

#[divan::bench(args = [64, 1_000_000])]
fn poisson(bencher: divan::Bencher, flows: u32) {
    let mut s = stream(ArrivalKind::Poisson, flows);
    bencher.bench_local(|| s.next_packet());
}
