#![no_main]
// Body and input format: src/record_batch.rs.
libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice_fuzz::record_batch::run(data));
