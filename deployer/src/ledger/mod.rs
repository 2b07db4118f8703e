//! The release ledger: one record per deploy, promote or rollback of an environment,
//! kept in that environment's account (the SDK side is `cloud::sdk::ledger`).
//!
//! Why DynamoDB: conditional writes make the release lock a single atomic call; the
//! table lives in the account it describes, so the deploy role's permissions name one
//! table there; point-in-time recovery keeps the history.

mod announce;
mod clock;
mod holder;
mod record;

pub use announce::release_log_event;
pub use clock::{now_ms, parse_rfc3339_ms, rfc3339};
pub use holder::{holder_died_here, holder_id};
pub use record::*;
