//! The local cloud: the embedded default that lets the whole delivery system run on
//! one machine. [`lifecycle`] starts and stops ministack and the localcloud front;
//! [`proxy`] is the front, on the public endpoint `http://127.0.0.1:4566`.

pub mod lifecycle;
pub mod probe;
pub mod process;
pub mod proxy;
pub mod testing;

pub use lifecycle::{Config, LifecycleError, Status, UpOutcome};
