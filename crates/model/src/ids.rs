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
    /// A logical CPU; its local APIC ID equals its index.
    CoreId
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
