//! libFuzzer entry of the `page_token` target ([`fuzz_targets::page_token`]).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_targets::page_token(data));
