//! The workload: flows (5-tuples), the traffic that arrives on the wire, and
//! the application threads that read it; or a capture replayed.

pub mod app;
pub mod flows;
pub mod notify;
pub mod packet;
pub mod pmd;
pub mod replay;
pub mod traffic;
