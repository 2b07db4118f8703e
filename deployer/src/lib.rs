//! The deployer: packages the ETL functions reproducibly and releases them through
//! CodeDeploy traffic shifting, one verdict per release. See deployer/README.md.
//!
//! - [`cli`] is the command line, and [`commands`] runs it (settings, connection,
//!   engine, report): the only place that knows all the others;
//! - [`settings`] reads `environments/<env>/deployer.yaml`;
//! - [`release`] packages, and reads the release manifest;
//! - [`connect`] holds the credentials, the deploy role and the account check;
//! - [`cloud`] is the seam over AWS (traits, the SDK adapter, the in-memory fake);
//! - [`ledger`] holds the release records and the lock holder;
//! - [`engine`] is the release logic, generic over the cloud;
//! - [`report`] shows progress, and the final report in text, JSON and Markdown;
//! - [`review`] is the Well-Architected review, every tick with its evidence;
//! - [`error`] is the one error type.

pub mod cli;
pub mod cloud;
pub mod commands;
pub mod connect;
pub mod engine;
pub mod error;
pub mod judge;
pub mod ledger;
pub mod release;
pub mod report;
pub mod review;
pub mod settings;
pub mod shadow;
