//! libFuzzer entry of the `national_rules` target ([`fuzz_targets::national_rules`]).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_targets::national_rules(data));
