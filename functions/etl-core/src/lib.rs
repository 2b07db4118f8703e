//! The ETL workflow's core: the order record model, validation and normalisation
//! rules, deterministic idempotency keys, a streaming transform over JSON Lines and
//! CSV, and typed errors that become the Lambda error types the state machine's
//! Retry and Catch clauses match.

pub mod error;
pub mod record;
pub mod synthetic;
pub mod time;
pub mod transform;

pub use error::EtlError;
pub use record::{idempotency_key, Field, Order, RawOrder, Status};
pub use time::{Date, Instant};
pub use transform::{transform, Format, Stats};
