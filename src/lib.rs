//! Shared library of the helsedata federation: the generated contract and its rules, text folding for
//! search, paging, request errors, workload identity, mutual TLS, server defaults and telemetry.

#![warn(missing_docs)]

pub mod contract;
pub mod datafile;
pub mod deadline;
pub mod grpc_server;
pub mod identity;
pub mod paging;
pub mod proto;
pub mod search;
pub mod status;
pub mod telemetry;
pub mod text;
pub mod tls;
