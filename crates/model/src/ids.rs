//! Typed ids for the things that cross module lines (style guide habit 2).
//! Each is an index into its owner's arena.

use serde::Serialize;

macro_rules! id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        pub struct $name(pub u32);

        impl $name {
            /// The id as an arena index.
            pub fn idx(self) -> usize {
                self.0 as usize
            }
        }
    };
}

id!(
    /// A physical core of the platform; its local APIC ID equals its index.
    CoreId
);
id!(
    /// A logical CPU of one kernel (`smp_processor_id()`): an index into that
    /// kernel's per-CPU state. The host kernel's CPU i runs on core i; a
    /// guest kernel's CPUs will be vCPUs.
    CpuId
);
id!(
    /// A kernel instance on the machine (the host today; guests later).
    KernelId
);
id!(
    /// A NIC on the machine.
    NicId
);
id!(
    /// A NIC receive queue; queue i uses MSI-X table entry i.
    QueueId
);
id!(
    /// A flow (one 5-tuple, one socket).
    FlowId
);
id!(
    /// An application thread.
    ThreadId
);
id!(
    /// A Linux IRQ descriptor (`irq_desc`): one per MSI-X vector, MSI vector or IO-APIC pin in use.
    IrqId
);

/// A PCI requester ID (bus/device/function, PCIe §2.2.6.2): the source a
/// device's memory requests and MSI writes carry upstream, which an IOMMU
/// uses to pick the device's translation tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Rid(pub u16);

impl Rid {
    /// The requester ID of bus `bus`, device `dev`, function `func`.
    pub const fn bdf(bus: u8, dev: u8, func: u8) -> Rid {
        Rid(((bus as u16) << 8) | (((dev & 0x1f) as u16) << 3) | (func & 0x7) as u16)
    }
    /// Bus number.
    pub fn bus(self) -> u8 {
        (self.0 >> 8) as u8
    }
    /// Device number.
    pub fn device(self) -> u8 {
        ((self.0 >> 3) & 0x1f) as u8
    }
    /// Function number.
    pub fn function(self) -> u8 {
        (self.0 & 0x7) as u8
    }
}

impl std::fmt::Display for Rid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:02x}:{:02x}.{}", self.bus(), self.device(), self.function())
    }
}

/// The PCI requester ID of NIC `n` (bus n+1, device 0, function 0).
pub fn nic_rid(n: u32) -> Rid {
    Rid::bdf(n as u8 + 1, 0, 0)
}

#[cfg(test)]
mod tests {
    use super::Rid;

    #[test]
    fn requester_id_packs_bus_device_function() {
        let r = Rid::bdf(0x3b, 0x1f, 7);
        assert_eq!(r.0, 0x3bff);
        assert_eq!((r.bus(), r.device(), r.function()), (0x3b, 0x1f, 7));
        assert_eq!(r.to_string(), "3b:1f.7");
    }
}
