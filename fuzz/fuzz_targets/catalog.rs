//! Arbitrary bytes as a catalog; the properties are in `../harness.rs`.
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    harness::catalog(data);
});
