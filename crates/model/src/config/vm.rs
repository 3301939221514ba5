//! `[vm]`: a virtual machine whose guest kernel runs on vCPUs pinned one
//! to one on dedicated host cores, with its interrupts delivered by an
//! emulated APIC, APICv, or VT-d posted interrupts (kernel/guest.rs), and
//! its NIC reached by one of three device paths (`vm.device`): the NIC
//! assigned to it (VFIO), a virtio-net device served by a vhost worker, or
//! an emulated NIC served by the VMM's I/O thread
//! (devices/nic/backend.rs).
//!
//! With `[vm]`, every CPU number in `[nic]`, `[kernel]`, `[[apps]]`,
//! `[process]` and `[tx]` is a vCPU of the guest (0 .. number of `cores`);
//! `machine.cores` is the physical machine.
//!
//! `[[vms]]` adds further VMs of the same shape: each runs its own guest
//! kernel (the guest `[vm]` describes) on its own assigned VF with its own
//! arrivals — `[workload]`'s, or its own `rate_pps` / `rate_gbps` / `flows`
//! ([`Scenario::for_vm`]) — and its vCPUs may share host cores with other
//! VMs' vCPUs:
//! each shared core then has a host run queue of vCPU threads
//! (vcpu_sched.rs). With VT-d posted interrupts (`apic = "posted"`) the
//! remapping hardware posts each device interrupt into its vCPU's
//! descriptor; with APICv or an emulated APIC the host takes each VFIO
//! IRQ on the core under a host vector of its own (one per IRTE, so two
//! guests' vectors never collide there) and KVM forwards it to its vCPU,
//! which takes it at its next entry if it is scheduled out
//! (kernel/guest.rs `vfio_irq`). Two vCPUs of one VM on one core are not
//! modelled (the guest's MSI-X destinations name host cores).

use super::{Scenario, ValidateCx};
use serde::{Deserialize, Serialize};

/// How interrupts reach the guest.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApicMode {
    /// No APIC virtualization: the hypervisor injects each interrupt on VM
    /// entry after an exit, and every guest EOI exits.
    Emulated,
    /// APICv (virtual-interrupt delivery, EOI virtualization): the device's
    /// interrupt still exits to the host, which posts it in software; the
    /// guest's EOIs do not exit.
    #[default]
    Apicv,
    /// APICv plus VT-d posted interrupts: the device's interrupt is posted
    /// by the remapping hardware into the vCPU's descriptor; a running vCPU
    /// takes it without an exit, a halted one is woken through the wakeup
    /// vector.
    Posted,
}

/// How the guest reaches its NIC.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DevicePath {
    /// The NIC (a VF) assigned to the guest (VFIO): DMA into guest memory
    /// through the VM's IOMMU domain, MSI-X remapped or posted, doorbells
    /// written directly.
    #[default]
    Assigned,
    /// virtio-net with vhost: the host keeps the NIC; a vhost worker on
    /// `backend_core` copies each frame into the guest's virtqueue and
    /// signals the guest through an irqfd; the guest's kicks are ioeventfd
    /// writes that exit unless vhost suppressed them.
    Virtio,
    /// An emulated NIC (e1000e-like): the VMM's I/O thread on
    /// `backend_core` emulates its receive, and every guest register access
    /// exits to the VMM in host user space.
    Emulated,
}

impl DevicePath {
    /// Whether a host back end (a vhost worker or the VMM's I/O thread)
    /// stands between the NIC and the guest.
    pub fn has_backend(self) -> bool {
        self != DevicePath::Assigned
    }
}

/// Where a VM's vCPU threads may run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VcpuAffinity {
    /// Each vCPU thread on its own core of `cores` (`taskset` to one CPU).
    #[default]
    Pinned,
    /// Each vCPU thread may run on any core of `allowed_cores` (its
    /// cpuset): the host scheduler places a woken vCPU on an idle allowed
    /// core, else the least loaded run queue (`select_task_rq_fair`,
    /// `select_idle_sibling`), migrating it.
    Floating,
}

/// The virtual machine.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VmConfig {
    /// The host core of each vCPU (pinned, one vCPU per core, no other work
    /// on it).
    pub cores: Vec<u32>,
    /// How interrupts reach the guest.
    pub apic: ApicMode,
    /// IPI virtualization (Intel IPIv): a guest's ICR write does not exit;
    /// the processor posts the IPI into the target vCPU's descriptor and
    /// notifies it. Needs `apic` = `apicv` or `posted`.
    pub ipiv: bool,
    /// Halt polling's ceiling, ns (KVM `halt_poll_ns`; its default is
    /// 200000): a halting vCPU first polls for an interrupt for up to its
    /// current window, which grows (from 10 µs, ×2) while halts end within
    /// the ceiling and shrinks (÷2) after longer ones
    /// (`kvm_vcpu_halt`); 0 turns polling off (this model's default).
    /// At most [`MAX_HALT_POLL_NS`].
    pub halt_poll_ns: u32,
    /// A competing host thread on each vCPU's core, taking this share of
    /// it (0 = none, at most [`MAX_HOST_LOAD`]): it runs `host_slice_us`
    /// at a time, then sleeps `host_slice_us × (1 − load) / load`. One
    /// other thread at equal weight is 0.5, three others 0.75 — the share
    /// a vCPU keeps when 2 or 4 threads share its core.
    pub host_load: f64,
    /// How long the competing thread runs each turn, and each of this VM's
    /// vCPU threads on a host core it shares with other VMs' vCPUs, µs
    /// (EEVDF's base slice is 750 µs, `sysctl_sched_base_slice`); 10 µs to
    /// 100 ms.
    pub host_slice_us: u32,
    /// How the guest reaches its NIC: `assigned` (VFIO, the default),
    /// `virtio` (virtio-net with a vhost worker) or `emulated` (an
    /// e1000e-like NIC emulated by the VMM in host user space).
    pub device: DevicePath,
    /// The host core of the device's back end (`virtio`: the vhost worker,
    /// which also runs the host NIC's receive; `emulated`: the VMM's I/O
    /// thread). Default: the lowest core running no vCPU. It must run no
    /// vCPU.
    pub backend_core: Option<u32>,
    /// `pinned` (the default): each vCPU thread runs on its core of
    /// `cores`; `floating`: each may run on any core of `allowed_cores`,
    /// starting on its core of `cores`.
    pub vcpu_affinity: VcpuAffinity,
    /// The host cores a floating vCPU thread may run on (its cpuset);
    /// empty: the VM's `cores`. Only with `vcpu_affinity = "floating"`.
    pub allowed_cores: Vec<u32>,
    /// A further VM's (`[[vms]]`) own offered packet rate, replacing
    /// `workload.rate_pps` and `workload.rate_gbps` for its VF.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_pps: Option<f64>,
    /// The same, as a line rate in Gbit/s (`workload.rate_gbps`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_gbps: Option<f64>,
    /// A further VM's own number of flows (`workload.flows`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flows: Option<u32>,
}

/// Largest `vm.host_load`: the vCPU keeps at least 5 % of its core.
pub const MAX_HOST_LOAD: f64 = 0.95;

/// Largest `vm.halt_poll_ns`: one second.
pub const MAX_HALT_POLL_NS: u32 = 1_000_000_000;
/// KVM `halt_poll_ns_grow_start`: the first window, ns.
pub const HALT_POLL_GROW_START_NS: u32 = 10_000;

impl Default for VmConfig {
    fn default() -> Self {
        VmConfig {
            cores: vec![0],
            apic: ApicMode::Apicv,
            ipiv: false,
            halt_poll_ns: 0,
            host_load: 0.0,
            host_slice_us: 750,
            device: DevicePath::Assigned,
            backend_core: None,
            vcpu_affinity: VcpuAffinity::Pinned,
            allowed_cores: Vec::new(),
            rate_pps: None,
            rate_gbps: None,
            flows: None,
        }
    }
}

impl VmConfig {
    /// The scenario as the guest kernel sees it: a machine of one socket
    /// with one CPU per vCPU. A virtio or emulated NIC is the VMM's: the
    /// guest sees no IOMMU (its MSI-X messages are compatibility-format,
    /// routed by KVM's irqfd; its buffers are guest-physical addresses).
    pub fn guest_view(s: &Scenario) -> Scenario {
        let mut g = s.clone();
        if let Some(vm) = &s.vm {
            g.machine.cores = vm.cores.len() as u32;
            g.machine.sockets = 1;
            if vm.device.has_backend() {
                g.iommu = super::IommuConfig::default();
            }
        }
        g
    }

    /// The back end's host core: `backend_core`, else the lowest core
    /// running no vCPU (`None`: every core runs one).
    pub fn backend_core(&self, machine_cores: u32) -> Option<u32> {
        self.backend_core.or_else(|| (0..machine_cores).find(|c| !self.cores.contains(c)))
    }

    /// The cores a floating vCPU thread may run on (`allowed_cores`, else
    /// `cores`); empty when pinned.
    pub fn float_set(&self) -> Vec<u32> {
        match self.vcpu_affinity {
            VcpuAffinity::Pinned => Vec::new(),
            VcpuAffinity::Floating if self.allowed_cores.is_empty() => self.cores.clone(),
            VcpuAffinity::Floating => self.allowed_cores.clone(),
        }
    }

    /// Checks `[vm]` against the machine and the IOMMU.
    pub fn validate(&self, s: &Scenario, cx: &mut ValidateCx) {
        if self.cores.is_empty() {
            cx.err("vm.cores", "expected at least one vCPU (its host core)");
        }
        check_cores("vm.cores", &self.cores, s, cx, |c| {
            format!("core {c} already runs a vCPU: vCPUs are pinned one per core")
        });
        if self.device.has_backend() {
            match self.backend_core(s.machine.cores) {
                None => cx.err(
                    "vm.backend_core",
                    format!(
                        "the {} back end needs a host core running no vCPU: every one of the {} cores runs one (add a core to machine.cores)",
                        if self.device == DevicePath::Virtio { "vhost" } else { "VMM's I/O" },
                        s.machine.cores
                    ),
                ),
                Some(c) if c >= s.machine.cores => cx.err(
                    "vm.backend_core",
                    format!("core {c} does not exist (machine.cores = {})", s.machine.cores),
                ),
                Some(c) if self.cores.contains(&c) => cx.err(
                    "vm.backend_core",
                    format!("core {c} runs a vCPU: the back end needs a core of its own (sharing one is not modelled)"),
                ),
                Some(_) => {}
            }
            if !s.kernel.napi {
                cx.err(
                    "kernel.napi",
                    "a guest without NAPI on a virtio or emulated NIC is not modelled: set kernel.napi = true",
                );
            }
        } else if self.backend_core.is_some() {
            cx.err(
                "vm.backend_core",
                "only a virtio or emulated device has a back end: set vm.device = \"virtio\" or \"emulated\"",
            );
        }
        // VFIO assigns a device only behind an IOMMU: DMA through the VM's
        // domain (its memory mapped once), interrupts through remapping.
        let assigned = !self.device.has_backend();
        if assigned && (!s.iommu.mode.translates() || s.iommu.mapping != super::DmaMapping::PagePool) {
            cx.err(
                "vm",
                "an assigned device's DMA goes through the VM's IOMMU domain, its memory mapped once: set iommu.mode = \"strict\" or \"lazy\" with iommu.mapping = \"page_pool\"",
            );
        }
        if assigned && !s.iommu.interrupt_remapping {
            cx.err("vm", "VFIO needs interrupt remapping for an assigned device: set iommu.interrupt_remapping = true");
        }
        if s.iommu.posted_msi {
            cx.err("iommu.posted_msi", "posted MSIs are the host's own; with [vm] use vm.apic = \"posted\"");
        }
        if s.nic.interrupt_mode != super::InterruptMode::Msix {
            cx.err(
                "nic.interrupt_mode",
                "the VM's NIC (an assigned VF, virtio-net or the emulated e1000e) interrupts through MSI-X: set nic.interrupt_mode = \"msix\"",
            );
        }
        for (key, given) in [
            ("rate_pps", self.rate_pps.is_some()),
            ("rate_gbps", self.rate_gbps.is_some()),
            ("flows", self.flows.is_some()),
        ] {
            if given {
                cx.err(
                    format!("vm.{key}"),
                    format!("the first VM's traffic is [workload]'s: set workload.{key} (vms[].{key} gives a further VM its own)"),
                );
            }
        }
        cx.check_u32("vm.halt_poll_ns", self.halt_poll_ns, 0, MAX_HALT_POLL_NS, "ns (one second at most)");
        if !(self.host_load.is_finite() && (0.0..=MAX_HOST_LOAD).contains(&self.host_load)) {
            cx.err(
                "vm.host_load",
                format!("expected a share of the core from 0 to {MAX_HOST_LOAD}, got {}", self.host_load),
            );
        }
        cx.check_u32("vm.host_slice_us", self.host_slice_us, 10, 100_000, "µs (10 µs to 100 ms)");
        if self.ipiv && self.apic == ApicMode::Emulated {
            cx.err("vm.ipiv", "IPI virtualization needs APICv: set vm.apic = \"apicv\" or \"posted\"");
        }
        if s.tx.is_some() {
            cx.err("tx", "the transmit path inside a VM is not modelled yet");
        }
        if !s.devices.is_empty() || !s.attackers.is_empty() {
            cx.err("vm", "[[devices]] and [[attackers]] with a VM are not modelled yet");
        }
        if s.kernel.irqbalance_interval_ms > 0.0 {
            cx.err("kernel.irqbalance_interval_ms", "moving an assigned device's IRQs inside a VM is not modelled yet");
        }
    }
}

impl Scenario {
    /// Every VM: `[vm]` first, then `[[vms]]` in order (empty without `[vm]`).
    pub fn all_vms(&self) -> Vec<&VmConfig> {
        self.vm.iter().chain(if self.vm.is_some() { self.vms.iter() } else { [].iter() }).collect()
    }
}

/// The key of VM `i`'s table: `vm` or `vms[i-1]`.
pub fn vm_key(i: usize) -> String {
    if i == 0 { "vm".into() } else { format!("vms[{}]", i - 1) }
}

/// Checks a further VM's own workload keys (`rate_pps`, `rate_gbps`,
/// `flows`) as `[workload]`'s own are checked.
fn validate_vm_workload(s: &Scenario, vm: &VmConfig, key: &str, cx: &mut ValidateCx) {
    use super::workload::{MAX_FLOWS, MAX_RATE_PPS};
    let positive = |x: f64| x.is_finite() && x > 0.0;
    let rate_given = vm.rate_pps.is_some() || vm.rate_gbps.is_some();
    if rate_given && s.workload.pcap.is_some() {
        cx.err(
            key,
            "workload.pcap replays a capture, whose timestamps give every VF's traffic: remove rate_pps and rate_gbps here",
        );
    }
    match (vm.rate_pps, vm.rate_gbps) {
        (Some(_), Some(_)) => cx.err(format!("{key}.rate_gbps"), "give either rate_pps or rate_gbps, not both"),
        (Some(p), None) if !positive(p) || p > MAX_RATE_PPS => cx.err(
            format!("{key}.rate_pps"),
            format!("expected a positive packet rate of at most {MAX_RATE_PPS:.0} pps, got {p}"),
        ),
        (None, Some(g)) if !positive(g) || g > super::nic::MAX_LINE_RATE_GBPS => cx.err(
            format!("{key}.rate_gbps"),
            format!("expected a positive rate of at most {} Gbit/s, got {g}", super::nic::MAX_LINE_RATE_GBPS),
        ),
        _ => {}
    }
    if let Some(n) = vm.flows {
        let path = format!("{key}.flows");
        cx.check_u32(&path, n, 1, MAX_FLOWS, "flows");
        if !s.workload.flow_list.is_empty() || s.workload.pcap.is_some() {
            cx.err(&path, "workload.flow_list or workload.pcap gives the flows: remove this key");
        }
        if let Some(i) = s.apps.iter().position(|a| a.flows.as_ref().is_some_and(|f| f.iter().any(|x| *x >= n))) {
            cx.err(
                &path,
                format!("apps[{i}] reads a flow this VM's {n} flows do not have (every VM runs the same [[apps]])"),
            );
        }
    }
}

impl Scenario {
    /// The scenario as VM `i` runs it: `[workload]` with the VM's own
    /// `rate_pps`, `rate_gbps` and `flows` (a rate given replaces both rate
    /// keys).
    pub fn for_vm(&self, i: usize) -> Scenario {
        let mut s = self.clone();
        let Some(vm) = self.all_vms().get(i).copied().cloned() else { return s };
        if vm.rate_pps.is_some() || vm.rate_gbps.is_some() {
            s.workload.rate_pps = vm.rate_pps;
            s.workload.rate_gbps = vm.rate_gbps;
        }
        if let Some(n) = vm.flows {
            s.workload.flows = n;
        }
        s
    }
}

/// Checks a list of host cores at `key`: each must be one of the
/// machine's (not `cx.cores`, which counts a guest's vCPUs), and a core
/// listed again gets `again`'s message.
fn check_cores(key: &str, cores: &[u32], s: &Scenario, cx: &mut ValidateCx, again: impl Fn(u32) -> String) {
    for (j, &c) in cores.iter().enumerate() {
        if c >= s.machine.cores {
            cx.err(format!("{key}[{j}]"), format!("core {c} does not exist (machine.cores = {})", s.machine.cores));
        } else if cores[..j].contains(&c) {
            cx.err(format!("{key}[{j}]"), again(c));
        }
    }
}

/// Checks each VM's `vcpu_affinity` and `allowed_cores`.
fn validate_affinity(s: &Scenario, cx: &mut ValidateCx) {
    for (i, vm) in s.all_vms().into_iter().enumerate() {
        let key = vm_key(i);
        if vm.vcpu_affinity == VcpuAffinity::Pinned {
            if !vm.allowed_cores.is_empty() {
                cx.err(
                    format!("{key}.allowed_cores"),
                    "only a floating vCPU has a set of cores: set vcpu_affinity = \"floating\"",
                );
            }
            continue;
        }
        check_cores(&format!("{key}.allowed_cores"), &vm.allowed_cores, s, cx, |c| format!("core {c} is listed twice"));
        if !vm.allowed_cores.is_empty()
            && let Some(c) = vm.cores.iter().find(|c| !vm.allowed_cores.contains(c))
        {
            cx.err(
                format!("{key}.allowed_cores"),
                format!("core {c} of cores (where a vCPU starts) is not in allowed_cores: add it"),
            );
        }
        let why = "a floating vCPU thread (its descriptor's NDST follows it from core to core)";
        if vm.apic != ApicMode::Posted {
            cx.err(
                format!("{key}.vcpu_affinity"),
                format!("{why} is modelled with VT-d posted interrupts only: set apic = \"posted\" (without posting the VF's IRQs are remapped to the host cores the guest named)"),
            );
        }
        if vm.host_load > 0.0 {
            cx.err(
                format!("{key}.host_load"),
                format!("{why} with a competing host thread is not modelled (that thread is a periodic task on a fixed core, not a run-queue thread): set host_load = 0"),
            );
        }
        if vm.halt_poll_ns > 0 {
            cx.err(
                format!("{key}.halt_poll_ns"),
                format!(
                    "{why} goes through the host run queues, where halt polling is not modelled: set halt_poll_ns = 0"
                ),
            );
        }
        if vm.device != DevicePath::Assigned {
            cx.err(format!("{key}.device"), format!("{why} needs an assigned device: set device = \"assigned\""));
        }
    }
}

/// Checks `[[vms]]`: each further VM against the machine, and every VM
/// whose vCPUs share a core with another VM's against what sharing needs.
pub fn validate_vms(s: &Scenario, cx: &mut ValidateCx) {
    validate_affinity(s, cx);
    let Some(first) = &s.vm else {
        if !s.vms.is_empty() {
            cx.err("vms", "[[vms]] adds VMs beside [vm]: add a [vm] table (the first VM)");
        }
        return;
    };
    if s.vms.is_empty() {
        return;
    }
    for (i, vm) in s.vms.iter().enumerate() {
        let key = vm_key(i + 1);
        if vm.cores.len() != first.cores.len() {
            cx.err(
                format!("{key}.cores"),
                format!(
                    "expected {} vCPUs, as [vm] has: every VM runs the guest [vm] describes, whose CPU numbers are vCPUs",
                    first.cores.len()
                ),
            );
        }
        check_cores(&format!("{key}.cores"), &vm.cores, s, cx, |c| {
            format!("core {c} already runs a vCPU of this VM: two vCPUs of one VM on one core are not modelled")
        });
        cx.check_u32(&format!("{key}.halt_poll_ns"), vm.halt_poll_ns, 0, MAX_HALT_POLL_NS, "ns (one second at most)");
        cx.check_u32(&format!("{key}.host_slice_us"), vm.host_slice_us, 10, 100_000, "µs (10 µs to 100 ms)");
        if vm.ipiv && vm.apic == ApicMode::Emulated {
            cx.err(format!("{key}.ipiv"), "IPI virtualization needs APICv: set apic = \"apicv\" or \"posted\"");
        }
        if vm.backend_core.is_some() {
            cx.err(format!("{key}.backend_core"), "a further VM's NIC is an assigned VF: it has no back end");
        }
        validate_vm_workload(s, vm, &key, cx);
    }
    let vms = s.all_vms().len() as u32;
    // Without posting, each VFIO IRQ of a VM on a shared core gets a host
    // vector of its own (one per IRTE, from `FIRST_EXTERNAL_VECTOR` up to
    // the system vectors), so the device vectors must fit.
    let unposted_shared =
        s.all_vms().iter().enumerate().any(|(i, vm)| vm.apic != ApicMode::Posted && shares_a_core(s, i));
    if unposted_shared && vms * s.nic.queues > MAX_HOST_VFIO_VECTORS {
        cx.err(
            "vms",
            format!(
                "{vms} VMs of {} queues need {} host vectors for their VFIO IRQs (vCPUs sharing a core without posted interrupts): at most {MAX_HOST_VFIO_VECTORS} fit below the system vectors; use fewer VMs or queues, or apic = \"posted\"",
                s.nic.queues,
                vms * s.nic.queues
            ),
        );
    }
    if s.iommu.interrupt_remapping && s.iommu.ir_entries < vms * s.nic.queues {
        cx.err(
            "iommu.ir_entries",
            format!(
                "{vms} VMs of {} queues need {} IRTEs, one per VF vector: the table has {}",
                s.nic.queues,
                vms * s.nic.queues,
                s.iommu.ir_entries
            ),
        );
    }
    for (i, vm) in s.all_vms().into_iter().enumerate() {
        let key = vm_key(i);
        if vm.device != DevicePath::Assigned {
            cx.err(
                format!("{key}.device"),
                "with [[vms]] every VM has an assigned VF of its own: set device = \"assigned\" (back ends for several VMs are not modelled)",
            );
        }
        if vm.host_load > 0.0 {
            cx.err(
                format!("{key}.host_load"),
                "with [[vms]] the vCPUs' cores are shared by VMs, not by a competing thread: set host_load = 0",
            );
        }
        let shared = shares_a_core(s, i);
        if shared && vm.halt_poll_ns > 0 {
            cx.err(
                format!("{key}.halt_poll_ns"),
                "halt polling on a core shared with other vCPUs is not modelled (KVM polls only while its thread runs alone): set halt_poll_ns = 0",
            );
        }
    }
}

/// Whether VM `i`'s vCPUs share a host core with another VM's.
pub fn shares_a_core(s: &Scenario, i: usize) -> bool {
    let vms = s.all_vms();
    let runs_on = |vm: &VmConfig, c: &u32| vm.cores.contains(c) || vm.float_set().contains(c);
    let mine: Vec<u32> = vms[i].cores.iter().chain(vms[i].float_set().iter()).copied().collect();
    mine.iter().any(|c| vms.iter().enumerate().any(|(j, other)| j != i && runs_on(other, c)))
}

/// Host vectors for VFIO IRQs when vCPUs share cores without posted
/// interrupts: `FIRST_EXTERNAL_VECTOR` (0x20) up to `LOCAL_TIMER_VECTOR`
/// (0xec), one per IRTE.
pub const MAX_HOST_VFIO_VECTORS: u32 = 0xec - 0x20;
