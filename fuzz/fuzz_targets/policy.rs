//! Arbitrary bytes as gen-policy.yaml; the properties are in `../harness.rs`.
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    harness::policy(data);
});
