//! The deployer: packages the ETL functions reproducibly and releases them through
//! CodeDeploy traffic shifting, one verdict per release. See deployer/README.md.
//!
//! - [`cli`]: the command line; [`commands`]: runs it (settings, connection, engine,
//!   report) and is the only place that knows all the others;
//! - [`settings`]: `environments/<env>/deployer.yaml`;
//! - [`release`]: packaging and the release manifest;
//! - [`connect`]: credentials, the deploy role, the account check;
//! - [`cloud`]: the seam over AWS (traits, the SDK adapter, the in-memory fake);
//! - [`ledger`]: release records and the lock holder;
//! - [`engine`]: the release logic, generic over the cloud;
//! - [`report`]: progress, and the final report in text, JSON and Markdown;
//! - [`review`]: the Well-Architected review, every tick with its evidence;
//! - [`error`]: the one error type.

pub mod cli;
pub mod cloud;
pub mod commands;
pub mod connect;
pub mod engine;
pub mod error;
pub mod ledger;
pub mod release;
pub mod report;
pub mod review;
pub mod settings;
