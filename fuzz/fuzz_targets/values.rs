//! Any key and values through the config value parsers and comparisons.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| topicform_fuzz::values(data));
