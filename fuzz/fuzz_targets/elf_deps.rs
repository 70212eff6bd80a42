//! A program or library as `programs` reads it for packing: whatever its
//! bytes, `elf::dynamic` and `elf::undefined_symbols` give a result or an
//! error, never a panic. What they give comes from the input: every name
//! (`PT_INTERP`, `DT_NEEDED`, `DT_SONAME`, each `DT_RPATH`/`DT_RUNPATH`
//! element, each undefined symbol) is in the bytes, followed by its NUL
//! (path elements: by a `:` or the NUL); none is empty or holds a NUL;
//! path elements hold no `:`. A file with `DT_NEEDED` entries is dynamic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use modboot::host::elf;

/// Whether `name` followed by one of `ends` occurs in `data`.
fn in_input(data: &[u8], name: &str, ends: &[u8]) -> bool {
    let n = name.as_bytes();
    data.windows(n.len() + 1)
        .any(|w| &w[..n.len()] == n && ends.contains(&w[n.len()]))
}

fn check(data: &[u8], what: &str, name: &str, ends: &[u8]) {
    assert!(!name.is_empty(), "an empty {what}");
    assert!(!name.contains('\0'), "a NUL in {what} {name:?}");
    assert!(
        in_input(data, name, ends),
        "{what} {name:?} is not in the input"
    );
}

fuzz_target!(|data: &[u8]| {
    if let Ok(d) = elf::dynamic(data) {
        for interp in &d.interp {
            check(data, "interpreter", interp, b"\0");
        }
        for n in &d.needed {
            check(data, "DT_NEEDED", n, b"\0");
        }
        for n in &d.soname {
            check(data, "DT_SONAME", n, b"\0");
        }
        for p in d.rpath.iter().chain(&d.runpath) {
            assert!(!p.contains(':'), "a : in path element {p:?}");
            check(data, "path element", p, b":\0");
        }
        assert!(d.needed.is_empty() || d.is_dynamic);
    }
    if let Ok(symbols) = elf::undefined_symbols(data) {
        for s in &symbols {
            check(data, "undefined symbol", s, b"\0");
        }
    }
});
