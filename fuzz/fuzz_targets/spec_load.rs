//! Any bytes as a spec: load, validate and resolve every environment, plan.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| topicform_fuzz::spec_load(data));
