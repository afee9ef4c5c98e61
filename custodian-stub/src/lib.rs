//! The reference custodian service: loads one custodian's data file and serves its
//! catalogue over gRPC with mutual TLS.

#![warn(missing_docs)]

pub mod catalogue;
mod convert;
pub mod datafile;
pub mod load;
pub mod server;
pub mod service;
