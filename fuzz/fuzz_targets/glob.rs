//! `modboot::glob::matches` against the C library's `fnmatch(3)` with no
//! flags, which is what kmod uses for aliases (glibc, C locale, which is what
//! a process that never calls `setlocale` has; `POSIXLY_CORRECT` unset).
//!
//! The input is split at its first NUL byte into pattern and text. The text
//! may hold more NULs; `matches` reads both only up to their first NUL, as C
//! does, so fnmatch is given the text up to there. Also checked: the
//! documented promises of `literal_prefix`, `is_pattern`, `example_into` and
//! `excludes`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use modboot::glob::{example_into, excludes, is_pattern, literal_prefix, matches};
use std::ffi::CString;

fuzz_target!(|data: &[u8]| {
    let (pattern, text) = match data.iter().position(|&c| c == 0) {
        Some(nul) => (&data[..nul], &data[nul + 1..]),
        None => (data, &[][..]),
    };
    let ours = matches(pattern, text);
    let c_text = &text[..text.iter().position(|&c| c == 0).unwrap_or(text.len())];

    if ours {
        assert!(
            c_text.starts_with(literal_prefix(pattern)),
            "a match that does not start with the literal prefix b\"{}\"",
            literal_prefix(pattern).escape_ascii()
        );
    }
    // The text as the init passes it: possibly with more after a NUL.
    assert!(
        !(ours && excludes(pattern, text)),
        "excludes() ruled out a match"
    );
    if !is_pattern(pattern) {
        assert_eq!(
            ours,
            pattern == c_text,
            "a plain pattern is not plain equality"
        );
    }

    let mut buf = [0u8; 256];
    if let Some(example) = example_into(pattern, &mut buf) {
        assert!(
            matches(pattern, example),
            "example b\"{}\" does not match",
            example.escape_ascii()
        );
    }

    let pattern_c = CString::new(pattern).expect("split at the first NUL");
    let text_c = CString::new(c_text).expect("cut at the first NUL");
    // SAFETY: both are valid NUL-terminated strings that outlive the call.
    let rc = unsafe { libc::fnmatch(pattern_c.as_ptr(), text_c.as_ptr(), 0) };
    assert!(rc == 0 || rc == libc::FNM_NOMATCH, "fnmatch returned {rc}");
    assert_eq!(
        ours,
        rc == 0,
        "pattern b\"{}\" text b\"{}\": modboot says {ours}, fnmatch says {}",
        pattern.escape_ascii(),
        c_text.escape_ascii(),
        rc == 0
    );
});
