//! Compiles the contract in `proto/` with protox (no system `protoc`) and writes the encoded
//! descriptor set that server reflection serves.
//!
//! Messages and clients are generated once with tonic's codec; the servers are generated
//! apart (into `servers/`, over the same messages) with the contract's codec, which answers a
//! request that does not decode with `INVALID_ARGUMENT` (see `src/grpc_status_map.rs`), and
//! which send SearchDataSources and SearchVariables answers as bytes encoded ahead (see
//! `src/encoded.rs`).

use prost::Message;
use std::{env, fs, path::PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "helsedata/federation/v1/catalogue.proto",
        "helsedata/federation/v1/custodian.proto",
        "helsedata/federation/v1/gateway.proto",
    ];
    let descriptors = protox::compile(files, ["proto"])?;
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    fs::write(
        out_dir.join("helsedata_descriptor.bin"),
        descriptors.encode_to_vec(),
    )?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(false)
        .compile_fds(descriptors.clone())?;
    let servers = out_dir.join("servers");
    fs::create_dir_all(&servers)?;
    tonic_prost_build::configure()
        .build_client(false)
        .build_server(true)
        .out_dir(&servers)
        .extern_path(".helsedata.federation.v1", "crate::proto")
        // SearchDataSources is answered with bytes the gateway assembles from encodings it
        // keeps (see `src/encoded.rs`); on the wire it is the message itself.
        .extern_path(
            ".helsedata.federation.v1.SearchDataSourcesResponse",
            "crate::encoded::SearchDataSourcesAnswer",
        )
        // A custodian encodes its SearchVariables hits straight from its catalogue, without
        // copying them first (see `src/encoded.rs`).
        .extern_path(
            ".helsedata.federation.v1.SearchVariablesResponse",
            "crate::encoded::SearchVariablesAnswer",
        )
        .codec_path("crate::grpc_status_map::ContractCodec")
        .compile_fds(descriptors)?;
    println!("cargo:rerun-if-changed=proto");
    Ok(())
}
