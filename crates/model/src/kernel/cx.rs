//! What a kernel's handlers borrow besides the kernel's own state: the
//! simulation (events, costs), the platform its CPUs run on, and the devices
//! its drivers own — explicitly, in the shape of smoltcp's
//! `Interface::poll(timestamp, device, sockets)`.

use crate::devices::level::LevelDevice;
use crate::devices::nic::Nic;
use crate::ids::NicId;
use crate::platform::Platform;
use crate::sim::Sim;

/// A kernel handler's borrows.
pub struct Cx<'a> {
    /// Events, costs.
    pub sim: &'a mut Sim,
    /// Local APICs, the IO-APIC, the APIC bus.
    pub platform: &'a mut Platform,
    /// The machine's NICs (a kernel's driver owns one of them).
    pub nics: &'a mut [Nic],
    /// Level-triggered devices (the kernel's drivers own them).
    pub devices: &'a mut [LevelDevice],
}

impl<'a> Cx<'a> {
    /// A NIC with the simulation and the port it writes upstream through.
    pub fn nic(&mut self, id: NicId) -> (&mut Nic, &mut Sim, &mut Platform) {
        (&mut self.nics[id.idx()], &mut *self.sim, &mut *self.platform)
    }
}
