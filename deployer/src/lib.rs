//! The deployer: packages the ETL functions reproducibly and releases them through
//! CodeDeploy traffic shifting, one verdict per release. See deployer/README.md.

pub mod cli;
pub mod cloud;
pub mod commands;
pub mod connect;
pub mod engine;
pub mod error;
pub mod ledger;
pub mod release;
pub mod report;
pub mod settings;
