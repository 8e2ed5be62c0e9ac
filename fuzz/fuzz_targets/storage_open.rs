#![no_main]
// Body and input format: src/storage_open.rs.
libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice_fuzz::storage_open::run(data));
