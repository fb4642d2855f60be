//! `--image` and the other flag values: any text is accepted as a valid value or refused
//! with a one-line message, never a panic.
#![no_main]
use ecr_doctor_core::validate;
use libfuzzer_sys::fuzz_target;

fn one_line<T>(r: Result<T, String>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            assert!(!e.contains('\n') && !e.contains('\r'), "a usage error is one line: {e:?}");
            None
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(image) = one_line(validate::image(s)) {
        assert!(!image.repository.is_empty());
        assert!(!image.reference.is_empty());
        // what is accepted prints back (REPO:TAG or REPO@DIGEST, after its registry) as a
        // reference that is accepted again, unchanged
        let text = match &image.registry {
            Some(r) => format!("{r}/{image}"),
            None => image.to_string(),
        };
        let again = validate::image(&text).expect("round trip");
        assert_eq!(again, image);
    }
    one_line(validate::registry(s));
    one_line(validate::region(s));
    one_line(validate::role_arn(s));
    one_line(validate::platform(s));
    one_line(validate::timeout(s));
    one_line(validate::dns_server(s));
    one_line(validate::vpc_id(s));
    one_line(validate::subnet_id(s));
    one_line(validate::security_group_id(s));
});
