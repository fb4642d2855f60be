//! ECR's authorization token (base64 of `AWS:<password>`) and the expiration inside the
//! password: any text decodes or is refused, never a panic.
#![no_main]
use ecr_doctor_core::registry_auth::{decode_basic, hours_until, password_expiration};
use libfuzzer_sys::fuzz_target;
use std::time::SystemTime;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some((user, password)) = decode_basic(text) {
        assert!(!user.contains(':'), "the user ends at the first colon");
        if let Some(t) = password_expiration(&password) {
            let h = hours_until(t, SystemTime::now());
            assert!(h.is_finite());
        }
    }
    // the text itself as a password
    let _ = password_expiration(text);
});
