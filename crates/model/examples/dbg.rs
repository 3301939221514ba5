fn main() {
    let mut s = irqlab_model::Scenario::default();
    for a in std::env::args().skip(1) {
        let (k, v) = a.split_once('=').unwrap();
        match k {
            "rate" => s.workload.rate_pps = Some(v.parse().unwrap()),
            "cores" => s.machine.cores = v.parse().unwrap(),
            "queues" => s.nic.queues = v.parse().unwrap(),
            "ms" => s.duration_ms = v.parse().unwrap(),
            _ => panic!(),
        }
    }
    let m = irqlab_model::run(&s).unwrap();
    println!("{}", serde_json::to_string_pretty(&m).unwrap());
}
