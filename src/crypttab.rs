//! `/etc/crypttab` lines, as systemd-cryptsetup and Debian's cryptsetup
//! scripts split them (crypttab(5)):
//!
//! ```text
//! # target      source                                     key   options
//! cryptroot     UUID=0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0  none  luks,discard,tries=5
//! data          /dev/vdb2                                  /etc/keys/data.key  luks
//! ```
//!
//! Fields are separated by spaces or tabs; `#` starts a comment line. The
//! key is a file's path; `none`, `-` or a missing field mean "ask for a
//! passphrase". Options are comma-separated words and `key=value` pairs.
//!
//! The host reads the build machine's crypttab; the init reads the same
//! options from `rd.luks.options=` ([`option`], [`open_flags`]: the
//! crypttab options cryptsetup takes, as its flags). Pure and
//! allocation-free.

/// One crypttab line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    /// The mapping's name: `/dev/mapper/TARGET`.
    pub target: &'a [u8],
    /// The device: a path, or `UUID=`, `PARTUUID=`, `LABEL=`, `PARTLABEL=`.
    pub source: &'a [u8],
    /// The key file; `None` to ask for a passphrase.
    pub key: Option<&'a [u8]>,
    /// The comma-separated options, as written.
    pub options: &'a [u8],
}

/// The entries of a crypttab, with their 1-based line numbers. Comment and
/// blank lines are skipped; a line with fewer than two fields is skipped
/// too (systemd-cryptsetup-generator warns about it and goes on).
pub fn entries(text: &[u8]) -> impl Iterator<Item = (usize, Entry<'_>)> {
    crate::split_at_byte(text, b'\n')
        .enumerate()
        .filter_map(|(i, line)| Some((i + 1, Entry::parse(line)?)))
}

impl<'a> Entry<'a> {
    /// One line; `None` for a comment, a blank line or a lone field.
    pub fn parse(line: &'a [u8]) -> Option<Self> {
        let mut fields = line
            .split(|&c| c == b' ' || c == b'\t' || c == b'\r')
            .filter(|f| !f.is_empty());
        let target = fields.next().filter(|t| !t.starts_with(b"#"))?;
        let source = fields.next()?;
        let key = fields.next().filter(|k| !matches!(*k, b"none" | b"-"));
        let options = fields.next().unwrap_or(b"");
        Some(Entry {
            target,
            source,
            key,
            options,
        })
    }

    /// An option's value ([`option`]).
    pub fn option(&self, name: &[u8]) -> Option<&'a [u8]> {
        option(self.options, name)
    }

    /// How many passphrases to ask for: `tries=N` (0: no limit), 3 by
    /// default, as Debian's cryptroot script counts them.
    pub fn tries(&self) -> u32 {
        self.option(b"tries")
            .and_then(crate::cmdline::parse_u32)
            .unwrap_or(3)
    }

    /// Whether `source` names this device: a path (`/dev/NAME` against
    /// its kernel name), or `UUID=`/`LABEL=` against what its header says.
    pub fn matches(&self, devname: &[u8], uuid: &[u8], label: &[u8]) -> bool {
        source_matches(self.source, devname, uuid, label)
    }
}

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

/// Whether a `source` (crypttab's second field, or the device part of
/// `cryptdevice=`) names the device with kernel name `devname`, container
/// UUID `uuid` (text) and label `label`. `/dev/disk/by-uuid/` and
/// `by-label/` are read as `UUID=` and `LABEL=`.
pub fn source_matches(source: &[u8], devname: &[u8], uuid: &[u8], label: &[u8]) -> bool {
    let tagged: [(&[u8], &[u8]); 4] = [
        (b"UUID=", uuid),
        (b"/dev/disk/by-uuid/", uuid),
        (b"LABEL=", label),
        (b"/dev/disk/by-label/", label),
    ];
    for (prefix, value) in tagged {
        if let Some(v) = source.strip_prefix(prefix) {
            return !v.is_empty() && v.eq_ignore_ascii_case(value);
        }
    }
    source.strip_prefix(b"/dev/") == Some(devname)
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
    fn lines() {
        let text = b"# comment\n\n\
            sda5_crypt UUID=0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0 none luks,discard\n\
            \tdata\t/dev/vdb2   /etc/keys/data.key luks,tries=0,keyslot=1\n\
            lonely\n\
            swap /dev/vdc - plain,cipher=aes-xts-plain64,size=256,swap\n\
            nokey /dev/vdd\r\n";
        let e: Vec<_> = entries(text).collect();
        assert_eq!(e.len(), 4);
        assert_eq!(e[0].0, 3);
        assert_eq!(e[0].1.target, b"sda5_crypt");
        assert_eq!(e[0].1.key, None);
        assert_eq!(e[0].1.option(b"discard"), Some(&b""[..]));
        assert_eq!(e[0].1.tries(), 3);
        assert_eq!(e[1].1.key, Some(&b"/etc/keys/data.key"[..]));
        assert_eq!(e[1].1.tries(), 0);
        assert_eq!(e[2].1.key, None);
        assert_eq!(e[2].1.option(b"cipher"), Some(&b"aes-xts-plain64"[..]));
        assert_eq!(e[3].0, 7);
        assert_eq!((e[3].1.source, e[3].1.options), (&b"/dev/vdd"[..], &b""[..]));
    }

    #[test]
    fn sources() {
        let uuid = b"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
        let m = |s: &[u8]| source_matches(s, b"vda2", uuid, b"root");
        assert!(m(b"UUID=0F1E2D3C-4b5a-6978-8796-a5b4c3d2e1f0"));
        assert!(m(b"/dev/disk/by-uuid/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"));
        assert!(m(b"/dev/vda2") && m(b"LABEL=root"));
        assert!(!m(b"/dev/vda") && !m(b"UUID=") && !m(b"LABEL=") && !m(b"vda2"));
        assert!(!source_matches(b"LABEL=", b"vda2", uuid, b""));
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
