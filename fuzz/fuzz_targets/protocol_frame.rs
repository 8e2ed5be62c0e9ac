#![no_main]
// Body and input format: src/protocol_frame.rs.
libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice_fuzz::protocol_frame::run(data));
