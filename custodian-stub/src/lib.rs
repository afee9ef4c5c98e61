//! The reference custodian service: loads one custodian's data file and serves its
//! catalogue over gRPC with mutual TLS.

#![warn(missing_docs)]

pub mod catalogue;
pub mod live;
pub mod observe;
pub mod reload;
pub mod server;
pub mod service;
pub mod watch;
