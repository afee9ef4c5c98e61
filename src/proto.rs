//! Generated types and services of `helsedata.federation.v1`, and the descriptor set
//! that server reflection serves.

#![allow(missing_docs, clippy::all, clippy::pedantic)]

tonic::include_proto!("helsedata.federation.v1");

impl CatalogueChange {
    /// The ids of the sources whose new records the change brings: the added and the changed.
    pub fn new_record_ids(&self) -> impl Iterator<Item = &String> {
        self.added_ids.iter().chain(&self.changed_ids)
    }

    /// The ids of the sources whose old records the change retires: the changed and the
    /// removed.
    pub fn old_record_ids(&self) -> impl Iterator<Item = &String> {
        self.changed_ids.iter().chain(&self.removed_ids)
    }
}

/// The servers of the contract, generated with the contract's codec
/// ([`crate::grpc_status_map::ContractCodec`]) over the messages above.
mod servers {
    include!(concat!(
        env!("OUT_DIR"),
        "/servers/helsedata.federation.v1.rs"
    ));
}
pub use servers::{custodian_catalogue_server, federated_catalogue_server};

/// Encoded `FileDescriptorSet` of the whole contract, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("helsedata_descriptor");
