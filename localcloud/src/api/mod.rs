//! What the AWS APIs localcloud serves itself (CodeDeploy and CloudWatch) share: the
//! error a request gets back ([`error`]), the ids it is given ([`ids`]) and how its
//! parameters are read ([`params`]). Neither service imports the other for these.

pub mod error;
pub mod ids;
pub mod params;
pub mod time;

pub use error::{ApiError, ApiResult};
pub use params::{Encoding, Params};
