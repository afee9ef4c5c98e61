//! libFuzzer entry of the `planner` target ([`fuzz_targets::planner`]).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_targets::planner(data));
