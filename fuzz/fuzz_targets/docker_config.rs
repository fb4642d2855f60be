//! The docker client configuration file: hostile files (huge, deeply nested, wrong types,
//! non-ECR entries) are read or refused with a position, never a panic.
#![no_main]
use ecr_doctor_core::registry_auth::{decode_basic, hostname_of, parse_docker_config};
use libfuzzer_sys::fuzz_target;

const HOST: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

fuzz_target!(|data: &[u8]| {
    // the file is read as UTF-8 text, lossily, as the probe does
    let text = String::from_utf8_lossy(data);
    match parse_docker_config(&text) {
        Ok(cfg) => {
            let _ = cfg.auth_entry_for(HOST);
            for (key, entry) in cfg.auths() {
                assert!(!hostname_of(key).contains('/'));
                if let Some(a) = &entry.auth {
                    let _ = decode_basic(a);
                }
            }
            for (key, helper) in cfg.helpers() {
                let _ = (hostname_of(key), helper.len());
            }
            let _ = cfg.secrets().count();
        }
        Err(u) => {
            // a position or a kind, never the text
            assert!(matches!(u.kind, "syntax" | "eof" | "type" | "auth"), "{}", u.kind);
            assert!(u.read_error.is_none());
        }
    }
});
