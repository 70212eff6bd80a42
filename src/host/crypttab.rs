//! `/etc/crypttab` as Debian's cryptsetup-initramfs reads it (its
//! `cryptroot` hook, and `crypttab_foreach_entry`, `crypttab_parse_options`
//! and `unlock_mapping` in `/lib/cryptsetup/functions`).
//!
//! ```text
//! # target     source                                     key   options
//! sda5_crypt   UUID=0a1b2c3d-...                          none  luks,discard
//! swap         /dev/disk/by-partlabel/swap                /dev/urandom swap,cipher=aes-xts-plain64,size=512
//! ```
//!
//! - One entry a line: fields separated by spaces and tabs; a line whose
//!   first field starts with `#` is a comment, a blank line is skipped.
//! - `target` (the mapping's name, no `/`), `source` (a path, `UUID=`,
//!   `PARTUUID=`, `LABEL=` or `PARTLABEL=`), `key` (`none` or `-`: ask; else
//!   a key file, or the keyscript's argument) are required; `options` may be
//!   left out. A fifth field is an error (Debian would fold it into the
//!   options: a comment at a line's end is not one).
//! - Fields are "mangled" as `printf '%b'` undoes: `\040` is a space, `\\` a
//!   backslash; an option's value is split at `,` before it is unmangled, so
//!   `\054` is a comma in a value.
//! - Options are comma separated, `name` or `name=value`; a later one wins.
//!   Values are checked as `crypttab_validate_option` checks them (a number
//!   where one is due); a bad value is an error naming file:line, where
//!   Debian skips the entry. An unknown option is kept in
//!   [`Entry::unknown`] and warned about ([`Entry::warnings`]), as Debian
//!   ignores it with a warning; a flag given a value is an error.
//!
//! The caller decides which entries the image needs ([`needed`]) and how to
//! open one ([`Entry::open_args`]).

use std::fmt::Write as _;

/// Where the encrypted data is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Path(String),
    Uuid(String),
    PartUuid(String),
    Label(String),
    PartLabel(String),
}

/// The `key` field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Key {
    /// `none` or `-`: ask for a passphrase.
    Ask,
    /// A key file, or (with `keyscript=`) the keyscript's argument.
    File(String),
}

/// The device type, as the options give it (`luks`, `plain`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Luks,
    Plain,
    Tcrypt,
    Bitlk,
    Fvault2,
}

impl Kind {
    /// `cryptsetup --type`'s word.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Luks => "luks",
            Kind::Plain => "plain",
            Kind::Tcrypt => "tcrypt",
            Kind::Bitlk => "bitlk",
            Kind::Fvault2 => "fvault2",
        }
    }
}

/// The options Debian knows, parsed. Flags are `bool`s; valued options
/// `Option`s (`None`: not given).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// The type the flags give, in Debian's precedence (luks, tcrypt,
    /// plain, bitlk, fvault2); `None`: probe the device.
    pub kind: Option<Kind>,
    pub discard: bool,
    pub readonly: bool,
    pub same_cpu_crypt: bool,
    pub submit_from_crypt_cpus: bool,
    pub no_read_workqueue: bool,
    pub no_write_workqueue: bool,
    pub initramfs: bool,
    pub noauto: bool,
    pub noearly: bool,
    pub swap: bool,
    pub verify: bool,
    pub loud: bool,
    pub quiet: bool,
    pub veracrypt: bool,
    pub tcrypt_hidden: bool,
    /// Passphrase attempts: 0 is forever; 3 unless given.
    pub tries: u32,
    /// `tmp[=FS]`: make a filesystem on it (`ext4` when no type is given).
    pub tmp: Option<String>,
    /// Absolute: a name without `/` is under `/lib/cryptsetup/scripts/`.
    pub keyscript: Option<String>,
    pub keyslot: Option<u32>,
    pub header: Option<String>,
    pub cipher: Option<String>,
    pub hash: Option<String>,
    /// Key size in bits.
    pub size: Option<u64>,
    pub sector_size: Option<u64>,
    pub offset: Option<u64>,
    pub skip: Option<u64>,
    pub keyfile_size: Option<u64>,
    pub keyfile_offset: Option<u64>,
    /// Absolute: a name without `/` is under `/lib/cryptsetup/checks/`.
    pub check: Option<String>,
    pub checkargs: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            kind: None,
            discard: false,
            readonly: false,
            same_cpu_crypt: false,
            submit_from_crypt_cpus: false,
            no_read_workqueue: false,
            no_write_workqueue: false,
            initramfs: false,
            noauto: false,
            noearly: false,
            swap: false,
            verify: false,
            loud: false,
            quiet: false,
            veracrypt: false,
            tcrypt_hidden: false,
            tries: 3,
            tmp: None,
            keyscript: None,
            keyslot: None,
            header: None,
            cipher: None,
            hash: None,
            size: None,
            sector_size: None,
            offset: None,
            skip: None,
            keyfile_size: None,
            keyfile_offset: None,
            check: None,
            checkargs: None,
        }
    }
}

/// One crypttab line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Its line number (from 1).
    pub line: usize,
    /// The mapping's name: `/dev/mapper/<target>`.
    pub target: String,
    pub source: Source,
    pub key: Key,
    pub options: Options,
    /// Options Debian does not know, as written: kept, warned about.
    pub unknown: Vec<String>,
}

/// The keyscript whose key is another target's (Debian's `decrypt_derived`).
pub const DECRYPT_DERIVED: &str = "/lib/cryptsetup/scripts/decrypt_derived";

/// `printf '%b'` of `s`: `\\`, `\NNN` and `\0NNN` (octal), `\a` `\b` `\f`
/// `\n` `\r` `\t` `\v`; `\c` ends the text; any other `\x` stays as it is.
fn unmangle(s: &str) -> Result<String, &'static str> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' || i + 1 == b.len() {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let c = b[i + 1];
        i += 2;
        match c {
            b'0'..=b'7' => {
                // `\0NNN` takes three digits after the 0, `\NNN` three in all.
                let max = if c == b'0' { 3 } else { 2 };
                let mut v = u32::from(c - b'0');
                let mut n = 0;
                while n < max && i < b.len() && (b'0'..=b'7').contains(&b[i]) {
                    v = v * 8 + u32::from(b[i] - b'0');
                    i += 1;
                    n += 1;
                }
                out.push(v as u8);
            }
            b'\\' => out.push(b'\\'),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(11),
            b'c' => break,
            _ => out.extend_from_slice(&[b'\\', c]),
        }
    }
    String::from_utf8(out).map_err(|_| "not UTF-8 once unmangled")
}

/// `s` mangled so that [`unmangle`] gives it back and it stays one field
/// (one option value, if `comma`).
fn mangle(s: &str, comma: bool) -> String {
    let mut out = String::new();
    for (i, c) in s.char_indices() {
        let special = c.is_ascii_control()
            || c == ' '
            || c == '\\'
            || (c == ',' && comma)
            || (c == '#' && i == 0);
        if special {
            let _ = write!(out, "\\0{:03o}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

fn number<T: std::str::FromStr>(value: &str, positive: bool) -> Option<T> {
    let ok = !value.is_empty()
        && value.bytes().all(|c| c.is_ascii_digit())
        && (!positive || value.bytes().any(|c| c != b'0'));
    ok.then(|| value.parse().ok()).flatten()
}

/// Apply one option to `o`; `Ok(false)` for an unknown option.
fn apply(
    o: &mut Options,
    name: &str,
    raw: Option<&str>,
    kinds: &mut Vec<Kind>,
) -> Result<bool, String> {
    let value = raw
        .map(unmangle)
        .transpose()
        .map_err(|e| format!("option {name}: {e}"))?;
    let bad = || match &value {
        Some(v) => format!("invalid value {v:?} for option {name}"),
        None => format!("option {name} needs a value"),
    };
    let flag = |f: &mut bool| -> Result<(), String> {
        if value.is_some() {
            return Err(format!("option {name} takes no value"));
        }
        *f = true;
        Ok(())
    };
    let text = |nonempty: bool| -> Result<String, String> {
        match &value {
            Some(v) if !nonempty || !v.is_empty() => Ok(v.clone()),
            _ => Err(bad()),
        }
    };
    let count = |positive: bool| {
        value
            .as_deref()
            .and_then(|v| number::<u64>(v, positive))
            .ok_or_else(bad)
    };
    let under = |dir: &str, v: String| {
        if v.starts_with('/') {
            v
        } else {
            format!("{dir}/{v}")
        }
    };
    match name {
        "luks" | "plain" | "tcrypt" | "bitlk" | "fvault2" => {
            if value.is_some() {
                return Err(format!("option {name} takes no value"));
            }
            kinds.push(match name {
                "luks" => Kind::Luks,
                "plain" => Kind::Plain,
                "tcrypt" => Kind::Tcrypt,
                "bitlk" => Kind::Bitlk,
                _ => Kind::Fvault2,
            });
        }
        "discard" => flag(&mut o.discard)?,
        "readonly" | "read-only" => flag(&mut o.readonly)?,
        "same-cpu-crypt" => flag(&mut o.same_cpu_crypt)?,
        "submit-from-crypt-cpus" => flag(&mut o.submit_from_crypt_cpus)?,
        "no-read-workqueue" => flag(&mut o.no_read_workqueue)?,
        "no-write-workqueue" => flag(&mut o.no_write_workqueue)?,
        "initramfs" => flag(&mut o.initramfs)?,
        "noauto" => flag(&mut o.noauto)?,
        "noearly" => flag(&mut o.noearly)?,
        "swap" => flag(&mut o.swap)?,
        "verify" => flag(&mut o.verify)?,
        "loud" => flag(&mut o.loud)?,
        "quiet" => flag(&mut o.quiet)?,
        "veracrypt" | "tcrypt-veracrypt" => flag(&mut o.veracrypt)?,
        "tcrypthidden" | "tcrypt-hidden" => flag(&mut o.tcrypt_hidden)?,
        "cipher" => o.cipher = Some(text(true)?),
        "hash" => o.hash = Some(text(true)?),
        "header" => o.header = Some(text(true)?),
        "checkargs" => o.checkargs = Some(text(false)?),
        "keyscript" => o.keyscript = Some(under("/lib/cryptsetup/scripts", text(true)?)),
        // Without a value Debian takes $CRYPTDISKS_CHECK, or no check.
        "check" if value.is_none() => o.check = None,
        "check" => o.check = Some(under("/lib/cryptsetup/checks", text(true)?)),
        "tmp" if value.is_none() => o.tmp = Some("ext4".into()),
        "tmp" => o.tmp = Some(text(true)?),
        "size" => o.size = Some(count(true)?),
        "sector-size" => o.sector_size = Some(count(true)?),
        "keyfile-size" => o.keyfile_size = Some(count(true)?),
        "offset" => o.offset = Some(count(false)?),
        "skip" => o.skip = Some(count(false)?),
        "keyfile-offset" => o.keyfile_offset = Some(count(false)?),
        "tries" => o.tries = u32::try_from(count(false)?).map_err(|_| bad())?,
        "keyslot" | "key-slot" => {
            o.keyslot = Some(u32::try_from(count(false)?).map_err(|_| bad())?)
        }
        _ => return Ok(false),
    }
    Ok(true)
}

fn parse_source(s: &str) -> Result<Source, String> {
    type Make = fn(String) -> Source;
    let specs: [(&str, Make); 4] = [
        ("UUID=", Source::Uuid),
        ("PARTUUID=", Source::PartUuid),
        ("LABEL=", Source::Label),
        ("PARTLABEL=", Source::PartLabel),
    ];
    for (prefix, make) in specs {
        if let Some(v) = s.strip_prefix(prefix) {
            if v.is_empty() {
                return Err(format!("source {s} names nothing"));
            }
            return Ok(make(v.to_string()));
        }
    }
    if s.starts_with('/') {
        Ok(Source::Path(s.to_string()))
    } else {
        Err(format!(
            "source {s:?} is neither a path nor UUID=, PARTUUID=, LABEL= or PARTLABEL="
        ))
    }
}

/// One line's entry, `None` for a comment or a blank line.
fn parse_line(line: &str, number: usize) -> Result<Option<Entry>, String> {
    let fields: Vec<&str> = line.split([' ', '\t']).filter(|f| !f.is_empty()).collect();
    let Some(first) = fields.first() else {
        return Ok(None);
    };
    if first.starts_with('#') {
        return Ok(None);
    }
    match fields.len() {
        1 | 2 => return Err("missing fields: target source key [options]".into()),
        5.. => {
            return Err(
                "more than four fields (options are one field, comma separated; a comment must \
                 have its own line)"
                    .into(),
            );
        }
        _ => {}
    }
    let target = unmangle(fields[0]).map_err(|e| format!("target: {e}"))?;
    if target.is_empty() {
        return Err("an empty target once unmangled".into());
    }
    if target.contains('/') {
        return Err(format!("target {target:?} contains a /"));
    }
    let source = parse_source(&unmangle(fields[1]).map_err(|e| format!("source: {e}"))?)?;
    let key = match unmangle(fields[2])
        .map_err(|e| format!("key: {e}"))?
        .as_str()
    {
        "none" | "-" => Key::Ask,
        "" => return Err("an empty key once unmangled".into()),
        k => Key::File(k.to_string()),
    };
    let mut options = Options::default();
    let mut unknown = Vec::new();
    let mut kinds = Vec::new();
    for item in fields
        .get(3)
        .unwrap_or(&"")
        .split(',')
        .filter(|i| !i.is_empty())
    {
        let (name, value) = match item.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (item, None),
        };
        if !apply(&mut options, name, value, &mut kinds)? {
            unknown.push(item.to_string());
        }
    }
    options.kind = [
        Kind::Luks,
        Kind::Tcrypt,
        Kind::Plain,
        Kind::Bitlk,
        Kind::Fvault2,
    ]
    .into_iter()
    .find(|k| kinds.contains(k));
    Ok(Some(Entry {
        line: number,
        target,
        source,
        key,
        options,
        unknown,
    }))
}

/// Every entry of crypttab text; an error names `file_name:line` and says
/// what is wrong.
pub fn parse(file_name: &str, text: &str) -> Result<Vec<Entry>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        match parse_line(line, i + 1) {
            Ok(Some(e)) => out.push(e),
            Ok(None) => {}
            Err(e) => return Err(format!("{file_name}:{}: {e}", i + 1)),
        }
    }
    Ok(out)
}

impl Entry {
    /// What Debian would warn about: unknown options.
    pub fn warnings(&self, file_name: &str) -> Vec<String> {
        self.unknown
            .iter()
            .map(|u| {
                format!(
                    "{file_name}:{}: {}: ignoring unknown option '{}'",
                    self.line,
                    self.target,
                    u.split('=').next().unwrap_or(u)
                )
            })
            .collect()
    }

    /// The options Debian knows that the entry sets, comma-separated, as
    /// `rd.luks.options=` gives them to the init (unknown ones left out: the
    /// init would ignore them); `None` when a value holds a space, a quote
    /// or a comma, which a command line cannot carry.
    pub fn known_options(&self) -> Option<String> {
        let mut out = Vec::new();
        for (name, value) in self.option_words() {
            match value {
                Some(v) if v.contains(|c: char| c.is_whitespace() || c == '"' || c == ',') => {
                    return None;
                }
                Some(v) => out.push(format!("{name}={v}")),
                None => out.push(name.to_string()),
            }
        }
        Some(out.join(","))
    }

    /// The options Debian knows that the entry sets, each once under its
    /// canonical name, with its value (unmangled): what [`Entry::render`]
    /// writes and [`Entry::open_args`] reads through the core's table.
    pub fn option_words(&self) -> Vec<(&'static str, Option<String>)> {
        let o = &self.options;
        let mut words: Vec<(&'static str, Option<String>)> = Vec::new();
        words.extend(o.kind.map(|k| (k.name(), None)));
        for (on, name) in [
            (o.discard, "discard"),
            (o.readonly, "readonly"),
            (o.same_cpu_crypt, "same-cpu-crypt"),
            (o.submit_from_crypt_cpus, "submit-from-crypt-cpus"),
            (o.no_read_workqueue, "no-read-workqueue"),
            (o.no_write_workqueue, "no-write-workqueue"),
            (o.initramfs, "initramfs"),
            (o.noauto, "noauto"),
            (o.noearly, "noearly"),
            (o.swap, "swap"),
            (o.verify, "verify"),
            (o.loud, "loud"),
            (o.quiet, "quiet"),
            (o.veracrypt, "veracrypt"),
            (o.tcrypt_hidden, "tcrypthidden"),
        ] {
            if on {
                words.push((name, None));
            }
        }
        if o.tries != 3 {
            words.push(("tries", Some(o.tries.to_string())));
        }
        let texts = [
            ("tmp", &o.tmp),
            ("keyscript", &o.keyscript),
            ("header", &o.header),
            ("cipher", &o.cipher),
            ("hash", &o.hash),
            ("check", &o.check),
            ("checkargs", &o.checkargs),
        ];
        for (name, v) in texts {
            if let Some(v) = v {
                words.push((name, Some(v.clone())));
            }
        }
        let numbers = [
            ("keyslot", o.keyslot.map(u64::from)),
            ("size", o.size),
            ("sector-size", o.sector_size),
            ("offset", o.offset),
            ("skip", o.skip),
            ("keyfile-size", o.keyfile_size),
            ("keyfile-offset", o.keyfile_offset),
        ];
        for (name, v) in numbers {
            if let Some(v) = v {
                words.push((name, Some(v.to_string())));
            }
        }
        words
    }

    /// The entry as a crypttab line (no newline), which [`parse`] reads
    /// back as the same entry.
    pub fn render(&self) -> String {
        let source = match &self.source {
            Source::Path(p) => p.clone(),
            Source::Uuid(v) => format!("UUID={v}"),
            Source::PartUuid(v) => format!("PARTUUID={v}"),
            Source::Label(v) => format!("LABEL={v}"),
            Source::PartLabel(v) => format!("PARTLABEL={v}"),
        };
        let key = match &self.key {
            Key::Ask => "none".to_string(),
            Key::File(f) => mangle(f, false),
        };
        let mut opts: Vec<String> = self
            .option_words()
            .into_iter()
            .map(|(name, value)| match value {
                Some(v) => format!("{name}={}", mangle(&v, true)),
                None => name.to_string(),
            })
            .collect();
        opts.extend(self.unknown.iter().cloned());
        let mut line = format!(
            "{} {} {key}",
            mangle(&self.target, false),
            mangle(&source, false)
        );
        if !opts.is_empty() {
            line.push(' ');
            line.push_str(&opts.join(","));
        }
        line
    }

    /// The options of `cryptsetup open` for this entry as a device of type
    /// `kind` (the entry's own, or what probing found), as Debian's
    /// `unlock_mapping` gives them: first what only other types than LUKS
    /// take (`--cipher=`, `--key-size=`, `--hash=`, `--offset=`, `--skip=`
    /// for plain; `--veracrypt`, `--tcrypt-hidden` for tcrypt) and
    /// `--sector-size=`, `--verify-passphrase`; then the flags of the
    /// core's table ([`crate::crypttab::open_flag_pairs`], the one the init
    /// opens LUKS devices with), `--key-slot=` for LUKS only, the
    /// key file's size not for plain and tcrypt, its offset not for
    /// tcrypt; then `--type=KIND`. The caller adds `--key-file=`, `open`,
    /// the source and the target, and asks up to [`Options::tries`] times
    /// (cryptsetup's own `-T1`).
    pub fn open_args(&self, kind: Kind) -> Vec<String> {
        let o = &self.options;
        let luks_or_tcrypt = matches!(kind, Kind::Luks | Kind::Tcrypt);
        let tcrypt = kind == Kind::Tcrypt;
        let mut args = Vec::new();
        let mut valued = |flag: &str, v: Option<String>| {
            if let Some(v) = v.filter(|v| !v.is_empty()) {
                args.push(format!("--{flag}={v}"));
            }
        };
        let plain_only = |v: Option<String>| v.filter(|_| !luks_or_tcrypt);
        valued("cipher", plain_only(o.cipher.clone()));
        valued("key-size", plain_only(o.size.map(|n| n.to_string())));
        valued("sector-size", o.sector_size.map(|n| n.to_string()));
        valued("hash", plain_only(o.hash.clone()));
        valued("offset", plain_only(o.offset.map(|n| n.to_string())));
        valued("skip", plain_only(o.skip.map(|n| n.to_string())));
        for (on, flag) in [
            (o.verify, "--verify-passphrase"),
            (o.veracrypt && tcrypt, "--veracrypt"),
            (o.tcrypt_hidden && tcrypt, "--tcrypt-hidden"),
        ] {
            if on {
                args.push(flag.to_string());
            }
        }
        let words = self.option_words();
        for (option, flag) in crate::crypttab::open_flag_pairs() {
            let Some((_, value)) = words.iter().find(|(n, _)| n.as_bytes() == option) else {
                continue;
            };
            let applies = match flag {
                b"--key-slot" => kind == Kind::Luks,
                b"--keyfile-size" => !matches!(kind, Kind::Plain | Kind::Tcrypt),
                b"--keyfile-offset" => !tcrypt,
                _ => true,
            };
            let flag = String::from_utf8_lossy(flag);
            match value {
                _ if !applies => {}
                Some(v) if v.is_empty() => {}
                Some(v) => args.push(format!("{flag}={v}")),
                None => args.push(flag.into_owned()),
            }
        }
        args.push(format!("--type={}", kind.name()));
        args
    }
}

/// The entries an image needs, by the rule of Debian's `cryptroot` hook:
/// the entries of `targets` (the mappings the caller found behind the root,
/// `/usr` and resume devices, in that order), each preceded by the entry
/// whose key a `decrypt_derived` keyscript derives its key from; then every
/// other entry with the `initramfs` option. Each entry once, the first
/// entry of a target when the file has several. A target in `targets` with
/// no entry is an error.
pub fn needed<'a>(entries: &'a [Entry], targets: &[&str]) -> Result<Vec<&'a Entry>, String> {
    let mut out: Vec<&Entry> = Vec::new();
    fn add<'a>(
        entries: &'a [Entry],
        target: &str,
        out: &mut Vec<&'a Entry>,
        depth: usize,
    ) -> Result<(), String> {
        if out.iter().any(|e| e.target == target) {
            return Ok(());
        }
        let e = entries
            .iter()
            .find(|e| e.target == target)
            .ok_or_else(|| format!("{target}: no crypttab entry for this mapping"))?;
        if e.options.keyscript.as_deref() == Some(DECRYPT_DERIVED) {
            match &e.key {
                Key::File(from) if depth < entries.len() => add(entries, from, out, depth + 1)?,
                _ => {
                    return Err(format!(
                        "{target}: decrypt_derived keys from a loop of entries"
                    ));
                }
            }
        }
        if !out.iter().any(|o| o.target == target) {
            out.push(e);
        }
        Ok(())
    }
    for t in targets {
        add(entries, t, &mut out, 0)?;
    }
    for e in entries.iter().filter(|e| e.options.initramfs) {
        add(entries, &e.target, &mut out, 0)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEBIAN_INSTALLER: &str =
        "sda5_crypt UUID=3f3e8b34-5a2b-4c1c-9c1a-0a3d5b7e8f10 none luks,discard\n";

    #[test]
    fn debian_installer_line() {
        let e = parse("/etc/crypttab", DEBIAN_INSTALLER).unwrap();
        assert_eq!(e.len(), 1);
        let e = &e[0];
        assert_eq!(e.line, 1);
        assert_eq!(e.target, "sda5_crypt");
        assert_eq!(
            e.source,
            Source::Uuid("3f3e8b34-5a2b-4c1c-9c1a-0a3d5b7e8f10".into())
        );
        assert_eq!(e.key, Key::Ask);
        assert_eq!(e.options.kind, Some(Kind::Luks));
        assert!(e.options.discard && !e.options.initramfs);
        assert_eq!(e.options.tries, 3);
        assert_eq!(e.open_args(Kind::Luks), ["--allow-discards", "--type=luks"]);
        assert_eq!(e.render(), DEBIAN_INSTALLER.trim_end());
    }

    #[test]
    fn a_realistic_file() {
        let text = "\
# <target name>\t<source device>\t\t<key file>\t<options>
cryptroot\tPARTUUID=5e1c8a9b-01\tnone\tluks,discard,no-read-workqueue,no-write-workqueue,tries=0,keyslot=1,header=/boot/hdr.img

home_crypt /dev/disk/by-uuid/11111111-2222 /etc/keys/home.key luks,key-slot=2,initramfs,x-systemd.device-timeout=10
cswap  /dev/sda6 /dev/urandom swap,plain,cipher=aes-xts-plain64,size=512,hash=sha256,offset=0,skip=0
derived LABEL=data cryptroot keyscript=decrypt_derived,luks,read-only
bit PARTLABEL=win\\040data - bitlk,same-cpu-crypt,submit-from-crypt-cpus,tmp
";
        let e = parse("/etc/crypttab", text).unwrap();
        assert_eq!(
            e.iter().map(|e| e.line).collect::<Vec<_>>(),
            [2, 4, 5, 6, 7]
        );
        let root = &e[0];
        assert_eq!(root.options.tries, 0);
        assert_eq!(
            root.open_args(Kind::Luks),
            [
                "--header=/boot/hdr.img",
                "--allow-discards",
                "--key-slot=1",
                "--perf-no_read_workqueue",
                "--perf-no_write_workqueue",
                "--type=luks"
            ]
        );
        let home = &e[1];
        assert_eq!(home.key, Key::File("/etc/keys/home.key".into()));
        assert_eq!(home.options.keyslot, Some(2));
        assert_eq!(home.unknown, ["x-systemd.device-timeout=10"]);
        assert_eq!(
            home.warnings("/etc/crypttab"),
            ["/etc/crypttab:4: home_crypt: ignoring unknown option 'x-systemd.device-timeout'"]
        );
        let swap = &e[2];
        assert_eq!(swap.options.kind, Some(Kind::Plain));
        assert_eq!(
            swap.open_args(Kind::Plain),
            [
                "--cipher=aes-xts-plain64",
                "--key-size=512",
                "--hash=sha256",
                "--offset=0",
                "--skip=0",
                "--type=plain"
            ]
        );
        let derived = &e[3];
        assert_eq!(derived.options.keyscript.as_deref(), Some(DECRYPT_DERIVED));
        assert!(derived.options.readonly);
        let bit = &e[4];
        assert_eq!(bit.source, Source::PartLabel("win data".into()));
        assert_eq!(bit.key, Key::Ask);
        assert_eq!(bit.options.tmp.as_deref(), Some("ext4"));
        for entry in &e {
            let again = parse("x", &entry.render()).unwrap();
            assert_eq!(
                again,
                [Entry {
                    line: 1,
                    ..entry.clone()
                }],
                "{}",
                entry.render()
            );
        }

        // The root's entry, the one its key derives from first, then the
        // initramfs ones.
        let needed: Vec<&str> = needed(&e, &["derived", "cswap"])
            .unwrap()
            .iter()
            .map(|e| e.target.as_str())
            .collect();
        assert_eq!(needed, ["cryptroot", "derived", "cswap", "home_crypt"]);
        assert_eq!(
            super::needed(&e, &["nope"]).unwrap_err(),
            "nope: no crypttab entry for this mapping"
        );
    }

    /// The LUKS flags come from the core's table, the same the init uses;
    /// what a type does not take is left out.
    #[test]
    fn open_flags_through_the_core_table() {
        let e = parse(
            "t",
            "k /dev/vdb /etc/k.key luks,key-slot=4,keyfile-size=64,keyfile-offset=8,verify,read-only\n",
        )
        .unwrap();
        assert_eq!(
            e[0].open_args(Kind::Luks),
            [
                "--verify-passphrase",
                "--readonly",
                "--key-slot=4",
                "--keyfile-size=64",
                "--keyfile-offset=8",
                "--type=luks"
            ]
        );
        assert_eq!(
            e[0].open_args(Kind::Tcrypt),
            ["--verify-passphrase", "--readonly", "--type=tcrypt"]
        );
        // The init's reading of the same line gives the same LUKS flags.
        let mut core = Vec::new();
        crate::crypttab::open_flags(
            b"luks,key-slot=4,keyfile-size=64,keyfile-offset=8,verify,read-only",
            &mut |f, v| {
                core.push(if v.is_empty() {
                    String::from_utf8_lossy(f).into_owned()
                } else {
                    format!(
                        "{}={}",
                        String::from_utf8_lossy(f),
                        String::from_utf8_lossy(v)
                    )
                })
            },
        );
        assert_eq!(core, e[0].open_args(Kind::Luks)[1..5]);
    }

    #[test]
    fn errors_name_file_and_line() {
        let cases = [
            (
                "a\n\nroot UUID=x\n",
                "/etc/crypttab:1: missing fields: target source key [options]",
            ),
            (
                "root UUID=x none luks # comment\n",
                "/etc/crypttab:1: more than four fields",
            ),
            (
                "# c\nroot sda1 none luks\n",
                "/etc/crypttab:2: source \"sda1\" is neither a path",
            ),
            (
                "root UUID= none\n",
                "/etc/crypttab:1: source UUID= names nothing",
            ),
            (
                "root /dev/sda1 none tries=x\n",
                "/etc/crypttab:1: invalid value \"x\" for option tries",
            ),
            (
                "root /dev/sda1 none tries\n",
                "/etc/crypttab:1: option tries needs a value",
            ),
            (
                "root /dev/sda1 none size=0\n",
                "/etc/crypttab:1: invalid value \"0\" for option size",
            ),
            (
                "root /dev/sda1 none keyslot=99999999999\n",
                "/etc/crypttab:1: invalid value",
            ),
            (
                "root /dev/sda1 none cipher=\n",
                "/etc/crypttab:1: invalid value \"\" for option cipher",
            ),
            (
                "root /dev/sda1 none discard=yes\n",
                "/etc/crypttab:1: option discard takes no value",
            ),
            (
                "a/b /dev/sda1 none\n",
                "/etc/crypttab:1: target \"a/b\" contains a /",
            ),
            (
                "root /dev/sda1 none tmp=\n",
                "/etc/crypttab:1: invalid value \"\" for option tmp",
            ),
        ];
        for (text, want) in cases {
            let e = parse("/etc/crypttab", text).unwrap_err();
            assert!(e.starts_with(want), "{text:?}: {e}");
        }
    }

    #[test]
    fn mangling() {
        assert_eq!(unmangle(r"a\040b\0054\\c\q").unwrap(), "a b,\\c\\q");
        assert_eq!(unmangle(r"x\cy").unwrap(), "x");
        let e = parse(
            "t",
            "my\\040disk /dev/disk/by-label/a\\040b none cipher=a\\054b,luks\n",
        )
        .unwrap();
        assert_eq!(e[0].target, "my disk");
        assert_eq!(e[0].options.cipher.as_deref(), Some("a,b"));
        assert_eq!(parse("t", &e[0].render()).unwrap()[0], e[0]);
        assert_eq!(mangle("#a b,c", true), "\\0043a\\0040b\\0054c");
        assert!(parse("t", "a /b none\n \t\n#x y\n").unwrap().len() == 1);
    }
}
