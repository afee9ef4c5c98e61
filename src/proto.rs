//! Generated types and services of `helsedata.federation.v1`, and the descriptor set
//! that server reflection serves.

#![allow(missing_docs, clippy::all, clippy::pedantic)]

tonic::include_proto!("helsedata.federation.v1");

/// Encoded `FileDescriptorSet` of the whole contract, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("helsedata_descriptor");
