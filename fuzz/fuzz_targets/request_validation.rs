//! libFuzzer entry of the `request_validation` target ([`fuzz_targets::request_validation`]).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_targets::request_validation(data));
