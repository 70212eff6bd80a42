//! The options of an `/etc/crypttab` line (crypttab(5)), as the init
//! reads them from `rd.luks.options=` (systemd's and dracut's parameter,
//! which mkmodboot also writes into the image's own command line for the
//! build machine's crypttab entries): comma-separated words and
//! `key=value` pairs ([`option`]); those that `cryptsetup open` takes,
//! as its flags ([`OPEN_FLAGS`], [`open_flags`]) — the one table of them,
//! which the host's crypttab reader (`host::crypttab`) uses too.
//!
//! ```text
//! # target      source                                     key   options
//! cryptroot     UUID=0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0  none  luks,discard,tries=5
//! ```
//!
//! Pure and allocation-free.

/// An option's value in comma-separated `options`: `Some(b"")` for a
/// word given alone (`discard`), `Some(VALUE)` for `NAME=VALUE`; the last
/// one wins.
pub fn option<'a>(options: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let mut found = None;
    for o in crate::split_at_byte(options, b',') {
        let eq = o.iter().position(|&c| c == b'=').unwrap_or(o.len());
        if o.get(..eq) == Some(name) {
            found = Some(o.get(eq + 1..).unwrap_or(b""));
        }
    }
    found
}

/// The crypttab options that become `cryptsetup open` flags for a LUKS
/// device, and the flags, in the order of Debian's `unlock_mapping`.
/// Options taking a value are given as `--flag=VALUE`. The one table of
/// this mapping: the init opens LUKS devices with it, and the host's
/// `crypttab::Entry::open_args` adds only what other device types take
/// (plain's `cipher=`, tcrypt's `veracrypt`, ...).
pub const OPEN_FLAGS: [(&[u8], &[u8]); 12] = [
    (b"header", b"--header"),
    (b"readonly", b"--readonly"),
    (b"read-only", b"--readonly"),
    (b"discard", b"--allow-discards"),
    (b"keyslot", b"--key-slot"),
    (b"key-slot", b"--key-slot"),
    (b"keyfile-size", b"--keyfile-size"),
    (b"keyfile-offset", b"--keyfile-offset"),
    (b"same-cpu-crypt", b"--perf-same_cpu_crypt"),
    (b"submit-from-crypt-cpus", b"--perf-submit_from_crypt_cpus"),
    (b"no-read-workqueue", b"--perf-no_read_workqueue"),
    (b"no-write-workqueue", b"--perf-no_write_workqueue"),
];

/// Each `cryptsetup open` flag that `options` (crypttab's, or
/// `rd.luks.options=`) asks for: `f(flag, value)`, the value empty for a
/// plain flag.
pub fn open_flags<'a>(options: &'a [u8], f: &mut dyn FnMut(&'static [u8], &'a [u8])) {
    for (name, flag) in OPEN_FLAGS {
        if let Some(value) = option(options, name) {
            f(flag, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options() {
        let o = b"luks,discard,tries=0,keyslot=1,tries=5,header=/h";
        assert_eq!(option(o, b"discard"), Some(&b""[..]));
        assert_eq!(option(o, b"tries"), Some(&b"5"[..]));
        assert_eq!(option(o, b"header"), Some(&b"/h"[..]));
        assert_eq!(option(o, b"luk"), None);
        assert_eq!(option(b"", b"luks"), None);
    }

    #[test]
    fn flags() {
        let mut got = Vec::new();
        open_flags(b"luks,discard,keyslot=2,tries=1,read-only", &mut |f, v| {
            got.push((f, v))
        });
        assert_eq!(
            got,
            [
                (&b"--readonly"[..], &b""[..]),
                (b"--allow-discards", b""),
                (b"--key-slot", b"2"),
            ]
        );
    }
}
