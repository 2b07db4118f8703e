//! The ETL workflow's Lambda functions over etl-core: Extract, Transform (one Map item
//! per batch), Load and Compensate (the saga's undo). Each binary is a thin
//! `lambda_runtime` wrapper around a handler here.

pub mod aws;
pub mod events;
pub mod handlers;
pub mod layout;
pub mod observability;
pub mod runtime;
pub mod settings;
