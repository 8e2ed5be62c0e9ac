#![no_main]
// Body and input format: src/kafka_request.rs.
libfuzzer_sys::fuzz_target!(|data: &[u8]| sluice_fuzz::kafka_request::run(data));
