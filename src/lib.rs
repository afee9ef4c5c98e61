//! Shared library of the helsedata federation: the generated contract and its rules, the
//! health concept vocabulary, search, paging, request errors, workload identity, mutual TLS,
//! server defaults, limits on calls and telemetry.

#![warn(missing_docs)]

pub mod acceptor;
pub mod authz;
pub mod concepts;
pub mod contract;
pub mod custodian_data;
pub mod datafile;
pub mod deadline;
pub mod encoded;
pub mod grpc_server;
pub mod grpc_status_map;
pub mod identity;
mod layer;
pub mod limits;
pub mod observe;
pub mod paging;
pub mod proto;
pub mod reload;
pub mod search;
pub mod status;
pub mod telemetry;
pub mod text;
pub mod tls;
