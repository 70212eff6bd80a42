//! The options of an `/etc/crypttab` line (crypttab(5)), as the init
//! reads them from `rd.luks.options=` (systemd's and dracut's parameter,
//! which mkmodboot also writes into the image's own command line for the
//! build machine's crypttab entries): comma-separated words and
//! `key=value` pairs ([`option`]); those that `cryptsetup open` takes,
//! as its flags ([`open_flag_pairs`], [`open_flags`]) — the one table of them,
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

/// The crypttab options that become `cryptsetup open` flags, and the
/// flags, as `OPTION FLAG` pairs, one a line (one string, not a table of
/// slices: 300 bytes less in the init). An option's value is the
/// flag's (`--key-slot 1`, or `--key-slot=1`).
const OPEN_FLAG_PAIRS: &str = "header --header
readonly --readonly
read-only --readonly
discard --allow-discards
keyslot --key-slot
key-slot --key-slot
keyfile-size --keyfile-size
keyfile-offset --keyfile-offset
same-cpu-crypt --perf-same_cpu_crypt
submit-from-crypt-cpus --perf-submit_from_crypt_cpus
no-read-workqueue --perf-no_read_workqueue
no-write-workqueue --perf-no_write_workqueue";

/// Each crypttab option `cryptsetup open` takes, with its flag.
pub fn open_flag_pairs() -> impl Iterator<Item = (&'static [u8], &'static [u8])> {
    crate::split_at_byte(OPEN_FLAG_PAIRS.as_bytes(), b'\n').filter_map(|pair| {
        let space = pair.iter().position(|&c| c == b' ')?;
        Some((pair.get(..space)?, pair.get(space + 1..)?))
    })
}

/// Each `cryptsetup open` flag that `options` (crypttab's, or
/// `rd.luks.options=`) asks for: `f(flag, value)`, the value empty for a
/// plain flag.
pub fn open_flags<'a>(options: &'a [u8], f: &mut dyn FnMut(&'static [u8], &'a [u8])) {
    for (name, flag) in open_flag_pairs() {
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
    fn every_pair_is_an_option_and_a_flag() {
        let pairs: Vec<_> = open_flag_pairs().collect();
        assert_eq!(pairs.len(), 12);
        for (option, flag) in pairs {
            assert!(!option.is_empty() && !option.starts_with(b"-"), "{option:?}");
            assert!(flag.starts_with(b"--") && !flag.contains(&b' '), "{flag:?}");
        }
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
