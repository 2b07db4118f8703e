//! The local cloud: the embedded default that lets the whole delivery system run on
//! one machine. [`lifecycle`] starts and stops ministack and the localcloud front;
//! [`proxy`] is the front, on the public endpoint `http://127.0.0.1:4566`.

pub mod account;
pub mod answer_watch;
pub mod api;
pub mod clock;
pub mod cloudwatch;
pub mod codedeploy;
pub mod connection;
pub mod faults;
pub mod launcher;
pub mod lifecycle;
pub mod percent;
pub mod probe;
pub mod process;
pub mod proxy;
pub mod routing;
pub mod testing;
pub mod upstream;

pub use lifecycle::{Config, LifecycleError, Status, UpOutcome};
