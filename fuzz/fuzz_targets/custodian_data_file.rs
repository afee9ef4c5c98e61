//! libFuzzer entry of the `custodian_data_file` target ([`fuzz_targets::custodian_data_file`]).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_targets::custodian_data_file(data));
