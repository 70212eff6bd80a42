//! The blob writer: [`BlobSpec`] in, bytes out, deterministically.
//!
//! The layout is defined once, in `crate::blob`; this file only follows its
//! constants. The module table is sorted by name (the reader binary-searches
//! it), strings are interned in first-use order, and nothing depends on time
//! or hash order, so the same spec always gives the same bytes.

use crate::blob::{
    self, FLAG_DEFLATE, HEADER_SIZE, MAGIC, PAYLOAD_HEADER_SIZE, SECTION_SIZE, Stored, VERSION,
    field, section,
};
use std::collections::HashMap;

/// One module as the blob describes it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModuleSpec {
    /// Module name; normalised (`-` to `_`) when written.
    pub name: String,
    /// Path relative to `/lib/modules/<release>`.
    pub path: String,
    /// Names of every dependency, in load order.
    pub deps: Vec<String>,
}

/// One `softdep` line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SoftdepSpec {
    pub pattern: String,
    pub pre: Vec<String>,
    pub post: Vec<String>,
}

/// Everything a blob holds. Lists keep their source's order, except that
/// `modules` and `builtin` are sorted by name and `aliases` by rank (stably)
/// when written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlobSpec {
    /// The kernel release (`uname -r`) the modules were built for.
    pub release: String,
    pub modules: Vec<ModuleSpec>,
    /// Names (or aliases) to load at boot, in order.
    pub load: Vec<String>,
    /// modprobe.d `alias`: (pattern, target).
    pub config_aliases: Vec<(String, String)>,
    /// modules.alias: (pattern, module, rank in modules.order).
    pub aliases: Vec<(String, String, u32)>,
    /// modules.builtin names.
    pub builtin: Vec<String>,
    /// Aliases of built-in modules: (pattern, module).
    pub builtin_aliases: Vec<(String, String)>,
    /// modprobe.d `options`: (name, text).
    pub options: Vec<(String, String)>,
    /// modprobe.d `install`/`remove`: (kind, name pattern, command).
    pub commands: Vec<(u32, String, String)>,
    /// `softdep` lines from modprobe.d and modules.softdep, in kmod's order.
    pub softdeps: Vec<SoftdepSpec>,
    /// modprobe.d `blacklist` names.
    pub blacklist: Vec<String>,
}

/// Normalise a module name as kmod does: `-` becomes `_`.
pub fn normalise(name: &str) -> String {
    name.replace('-', "_")
}

struct Strings {
    bytes: Vec<u8>,
    index: HashMap<String, u32>,
}

impl Strings {
    fn new() -> Self {
        // Offset 0 is the empty string.
        Strings {
            bytes: vec![0],
            index: HashMap::from([(String::new(), 0)]),
        }
    }

    fn add(&mut self, s: &str) -> Result<u32, String> {
        if s.as_bytes().contains(&0) {
            return Err(format!("string contains a NUL byte: {s:?}"));
        }
        if let Some(&off) = self.index.get(s) {
            return Ok(off);
        }
        let off =
            u32::try_from(self.bytes.len()).map_err(|_| "string table over 4 GiB".to_string())?;
        self.bytes.extend_from_slice(s.as_bytes());
        self.bytes.push(0);
        self.index.insert(s.to_string(), off);
        Ok(off)
    }
}

/// Entries of one section being written.
struct Entries {
    kind: u16,
    bytes: Vec<u8>,
}

impl Entries {
    fn new(kind: u16) -> Self {
        Entries {
            kind,
            bytes: Vec::new(),
        }
    }

    fn size(&self) -> usize {
        section::SHAPE[self.kind as usize].0 as usize
    }

    /// Append one entry made of these fields (u32 strings/words, u16s).
    fn push(&mut self, fields: &[Field]) {
        let start = self.bytes.len();
        for f in fields {
            match *f {
                Field::U32(v) => self.bytes.extend_from_slice(&v.to_le_bytes()),
                Field::U16(v) => self.bytes.extend_from_slice(&v.to_le_bytes()),
            }
        }
        debug_assert_eq!(
            self.bytes.len() - start,
            self.size(),
            "entry of section {}",
            self.kind
        );
    }
}

enum Field {
    U32(u32),
    U16(u16),
}
use Field::{U16, U32};

/// Write `spec` as a blob, deflated when that is worth it.
pub fn emit(spec: &BlobSpec) -> Result<Vec<u8>, String> {
    emit_with(spec, Deflate::Auto)
}

/// Write `spec` as a blob, deflated as asked.
pub fn emit_with(spec: &BlobSpec, deflate: Deflate) -> Result<Vec<u8>, String> {
    let mut modules: Vec<ModuleSpec> = spec
        .modules
        .iter()
        .map(|m| ModuleSpec {
            name: normalise(&m.name),
            ..m.clone()
        })
        .collect();
    modules.sort_by(|a, b| a.name.cmp(&b.name));
    if let Some(w) = modules.windows(2).find(|w| w[0].name == w[1].name) {
        return Err(format!("module {} listed twice", w[0].name));
    }
    if modules.len() > blob::MAX_MODULES {
        return Err(format!(
            "{} modules; a blob holds at most {}",
            modules.len(),
            blob::MAX_MODULES
        ));
    }
    let index: HashMap<&str, u16> = modules
        .iter()
        .enumerate()
        .map(|(i, m)| (m.name.as_str(), i as u16))
        .collect();

    let mut strings = Strings::new();
    let release = strings.add(&spec.release)?;
    let mut table = Entries::new(section::MODULES);
    let mut deps = Entries::new(section::DEPS);
    for m in &modules {
        let start = (deps.bytes.len() / 2) as u32;
        let count = u16::try_from(m.deps.len())
            .map_err(|_| format!("{}: too many dependencies", m.name))?;
        for d in &m.deps {
            let i = index
                .get(normalise(d).as_str())
                .ok_or_else(|| format!("{}: dependency {d} is not in the blob", m.name))?;
            deps.push(&[U16(*i)]);
        }
        table.push(&[
            U32(strings.add(&m.name)?),
            U32(strings.add(&m.path)?),
            U32(start),
            U16(count),
            U16(0),
        ]);
    }

    let mut names =
        |kind: u16, list: &mut dyn Iterator<Item = &String>| -> Result<Entries, String> {
            let mut e = Entries::new(kind);
            for n in list {
                e.push(&[U32(strings.add(n)?)]);
            }
            Ok(e)
        };
    let load = names(section::LOAD, &mut spec.load.iter())?;
    let mut builtin_sorted: Vec<&String> = spec.builtin.iter().collect();
    builtin_sorted.sort();
    builtin_sorted.dedup();
    let builtin = names(section::BUILTIN, &mut builtin_sorted.into_iter())?;
    let blacklist = names(section::BLACKLIST, &mut spec.blacklist.iter())?;

    let mut pairs = |kind: u16, list: &[(String, String)]| -> Result<Entries, String> {
        let mut e = Entries::new(kind);
        for (a, b) in list {
            e.push(&[U32(strings.add(a)?), U32(strings.add(b)?)]);
        }
        Ok(e)
    };
    let config_aliases = pairs(section::CONFIG_ALIASES, &spec.config_aliases)?;
    let builtin_aliases = pairs(section::BUILTIN_ALIASES, &spec.builtin_aliases)?;
    let options = pairs(section::OPTIONS, &spec.options)?;

    let mut aliases_sorted: Vec<&(String, String, u32)> = spec.aliases.iter().collect();
    aliases_sorted.sort_by_key(|a| a.2);
    let mut aliases = Entries::new(section::ALIASES);
    for (pattern, module, rank) in &aliases_sorted {
        aliases.push(&[
            U32(strings.add(pattern)?),
            U32(strings.add(module)?),
            U32(*rank),
        ]);
    }
    // The search index: entries by literal prefix (ties in rank order).
    let mut by_prefix: Vec<usize> = (0..aliases_sorted.len()).collect();
    by_prefix.sort_by_key(|&i| {
        (
            crate::glob::literal_prefix(aliases_sorted[i].0.as_bytes()),
            i,
        )
    });
    let mut alias_index = Entries::new(section::ALIAS_INDEX);
    for i in by_prefix {
        alias_index.push(&[U32(i as u32)]);
    }
    let mut commands = Entries::new(section::COMMANDS);
    for (kind, name, command) in &spec.commands {
        commands.push(&[
            U32(strings.add(name)?),
            U32(strings.add(command)?),
            U32(*kind),
        ]);
    }
    let mut softdeps = Entries::new(section::SOFTDEPS);
    let mut softdep_names = Entries::new(section::SOFTDEP_NAMES);
    for sd in &spec.softdeps {
        let first = (softdep_names.bytes.len() / 4) as u32;
        let too_many = || format!("softdep {}: too many names", sd.pattern);
        let (pre, post) = (
            u16::try_from(sd.pre.len()).map_err(|_| too_many())?,
            u16::try_from(sd.post.len()).map_err(|_| too_many())?,
        );
        for n in sd.pre.iter().chain(&sd.post) {
            softdep_names.push(&[U32(strings.add(n)?)]);
        }
        softdeps.push(&[
            U32(strings.add(&sd.pattern)?),
            U32(first),
            U16(pre),
            U16(post),
        ]);
    }

    let strings = Entries {
        kind: section::STRINGS,
        bytes: strings.bytes,
    };
    let sections = [
        strings,
        table,
        deps,
        load,
        config_aliases,
        aliases,
        builtin,
        builtin_aliases,
        options,
        commands,
        softdeps,
        softdep_names,
        blacklist,
        alias_index,
    ];
    let mut payload = vec![0u8; PAYLOAD_HEADER_SIZE + sections.len() * SECTION_SIZE];
    for (i, sec) in sections.iter().enumerate() {
        let offset = u32::try_from(payload.len()).map_err(|_| "blob over 4 GiB".to_string())?;
        let desc = &mut payload[PAYLOAD_HEADER_SIZE + i * SECTION_SIZE..][..SECTION_SIZE];
        desc[field::SEC_KIND].copy_from_slice(&sec.kind.to_le_bytes());
        desc[field::SEC_ENTRY_SIZE].copy_from_slice(&(sec.size() as u16).to_le_bytes());
        desc[field::SEC_OFFSET].copy_from_slice(&offset.to_le_bytes());
        desc[field::SEC_COUNT]
            .copy_from_slice(&((sec.bytes.len() / sec.size()) as u32).to_le_bytes());
        payload.extend_from_slice(&sec.bytes);
    }
    payload[field::SECTIONS].copy_from_slice(&(sections.len() as u16).to_le_bytes());
    payload[field::RELEASE].copy_from_slice(&release.to_le_bytes());
    container(&payload, deflate)
}

/// Whether to store the payload deflated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deflate {
    /// When the payload is at least [`Deflate::AUTO_MIN`] bytes and shrinks.
    Auto,
    Always,
    Never,
}

impl Deflate {
    /// Smaller payloads are stored as they are: inflating costs more at boot
    /// than the bytes are worth, and the image is compressed anyway.
    pub const AUTO_MIN: usize = 4096;
}

/// Wrap a payload in the blob header, deflating it as asked.
fn container(payload: &[u8], deflate: Deflate) -> Result<Vec<u8>, String> {
    let packed = match deflate {
        Deflate::Never => None,
        Deflate::Auto if payload.len() < Deflate::AUTO_MIN => None,
        _ => Some(miniz_oxide::deflate::compress_to_vec(payload, 10)),
    };
    let packed = match packed {
        Some(p) if deflate == Deflate::Always || p.len() < payload.len() => Some(p),
        _ => None,
    };
    let mut out = vec![0u8; HEADER_SIZE];
    out.extend_from_slice(packed.as_deref().unwrap_or(payload));
    let too_big = |_| "blob over 4 GiB".to_string();
    let flags = if packed.is_some() { FLAG_DEFLATE } else { 0 };
    out[field::MAGIC].copy_from_slice(&MAGIC);
    out[field::VERSION].copy_from_slice(&VERSION.to_le_bytes());
    out[field::FLAGS].copy_from_slice(&flags.to_le_bytes());
    let total = u32::try_from(out.len()).map_err(too_big)?;
    out[field::TOTAL_LEN].copy_from_slice(&total.to_le_bytes());
    out[field::PAYLOAD_LEN]
        .copy_from_slice(&u32::try_from(payload.len()).map_err(too_big)?.to_le_bytes());
    let crc = blob::checksum(&out);
    out[field::CRC32].copy_from_slice(&crc.to_le_bytes());
    Ok(out)
}

/// The payload of a stored blob, inflated if it is deflated.
pub fn payload(bytes: &[u8]) -> Result<Vec<u8>, blob::Error> {
    let stored = Stored::new_checked(bytes)?;
    let mut buf = vec![0u8; stored.payload_len()];
    Ok(stored.payload(&mut buf)?.to_vec())
}

/// [`payload`], its error told as a message: `bad blob: ...`.
pub fn payload_of(stored: &[u8]) -> Result<Vec<u8>, String> {
    payload(stored).map_err(|e| format!("bad blob: {}", e.describe()))
}

/// The blob of a payload ([`payload_of`]), checked, its error told as a
/// message: `bad blob: ...`.
pub fn checked(payload: &[u8]) -> Result<blob::Blob<'_>, String> {
    blob::Blob::new_checked(payload).map_err(|e| format!("bad blob: {}", e.describe()))
}

/// Read a validated blob back into a spec (in the blob's order).
pub fn decode(b: &blob::Blob<'_>) -> BlobSpec {
    let own = |(x, y): (&str, &str)| (x.to_string(), y.to_string());
    let name = |i: u16| {
        b.module(i)
            .map(|m| m.name().to_string())
            .unwrap_or_default()
    };
    BlobSpec {
        release: b.release().to_string(),
        modules: b
            .modules()
            .map(|m| ModuleSpec {
                name: m.name().to_string(),
                path: m.path().to_string_lossy().into_owned(),
                deps: m.deps().map(name).collect(),
            })
            .collect(),
        load: b.load_list().map(str::to_string).collect(),
        config_aliases: b.config_aliases().map(own).collect(),
        aliases: b
            .aliases()
            .map(|(p, m, r)| (p.to_string(), m.to_string(), r))
            .collect(),
        builtin: b.builtin().map(str::to_string).collect(),
        builtin_aliases: b.builtin_aliases().map(own).collect(),
        options: b.options().map(own).collect(),
        commands: b
            .commands()
            .map(|(k, n, c)| (k, n.to_string(), c.to_string()))
            .collect(),
        softdeps: b
            .softdeps()
            .map(|sd| SoftdepSpec {
                pattern: sd.pattern().to_string(),
                pre: sd.pre().map(str::to_string).collect(),
                post: sd.post().map(str::to_string).collect(),
            })
            .collect(),
        blacklist: b.blacklist().map(str::to_string).collect(),
    }
}

/// Find a valid stored blob inside `bytes` (an init binary with one embedded).
pub fn find_embedded(bytes: &[u8]) -> Option<&[u8]> {
    let mut from = 0;
    while let Some(pos) = bytes[from..].windows(MAGIC.len()).position(|w| w == MAGIC) {
        let at = from + pos;
        if Stored::new_checked(&bytes[at..]).is_ok() {
            return Some(&bytes[at..]);
        }
        from = at + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blob::{Blob, Error};

    pub(crate) fn sample() -> BlobSpec {
        let m = |name: &str, path: &str, deps: &[&str]| ModuleSpec {
            name: name.into(),
            path: path.into(),
            deps: deps.iter().map(|s| s.to_string()).collect(),
        };
        let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
        BlobSpec {
            release: "6.1.0-test".into(),
            modules: vec![
                m(
                    "virtio_blk",
                    "kernel/drivers/block/virtio_blk.ko",
                    &["virtio_ring", "virtio"],
                ),
                m("virtio", "kernel/drivers/virtio/virtio.ko", &[]),
                m("virtio_ring", "kernel/drivers/virtio/virtio_ring.ko", &[]),
                m(
                    "virtio-pci",
                    "kernel/drivers/virtio/virtio_pci.ko",
                    &["virtio_ring", "virtio", "virtio_pci_modern_dev"],
                ),
                m(
                    "virtio_pci_modern_dev",
                    "kernel/drivers/virtio/virtio_pci_modern_dev.ko",
                    &[],
                ),
            ],
            load: vec!["virtio_pci".into(), "virtio-blk".into()],
            config_aliases: vec![pair("my_disk", "virtio_blk")],
            aliases: vec![
                ("virtio:d00000002v*".into(), "virtio_blk".into(), 2),
                (
                    "pci:v00001AF4d*sv*sd*bc*sc*i*".into(),
                    "virtio_pci".into(),
                    1,
                ),
            ],
            builtin: vec!["ext4".into(), "crc32c_generic".into()],
            builtin_aliases: vec![pair("fs-ext4", "ext4")],
            options: vec![pair("virtio_blk", "queue_depth=32")],
            commands: vec![(1, "floppy".into(), "/bin/true".into())],
            softdeps: vec![SoftdepSpec {
                pattern: "virtio_blk".into(),
                pre: vec!["crc32c".into()],
                post: vec![],
            }],
            blacklist: vec!["pcspkr".into()],
        }
    }

    /// What `decode` gives back: names normalised, modules and built-ins
    /// sorted by name, aliases by rank.
    fn normalised(mut spec: BlobSpec) -> BlobSpec {
        for m in &mut spec.modules {
            m.name = normalise(&m.name);
            m.deps = m.deps.iter().map(|d| normalise(d)).collect();
        }
        spec.modules.sort_by(|a, b| a.name.cmp(&b.name));
        spec.builtin.sort();
        spec.aliases.sort_by_key(|a| a.2);
        spec
    }

    #[test]
    fn round_trip() {
        let spec = sample();
        let bytes = emit(&spec).unwrap();
        let payload = payload(&bytes).unwrap();
        let blob = Blob::new_checked(&payload).unwrap();
        assert_eq!(decode(&blob), normalised(spec));
        assert_eq!(blob.release(), "6.1.0-test");
        assert!(
            blob.is_builtin(b"ext4")
                && blob.is_builtin(b"crc32c_generic")
                && !blob.is_builtin(b"ext3")
        );
        assert!(blob.find(b"virtio-blk").is_some());
        assert!(blob.find(b"virtio_scsi").is_none());
        assert_eq!(emit(&decode(&blob)).unwrap(), bytes, "emit(parse(x)) == x");
    }

    #[test]
    fn a_blob_of_only_the_required_sections_reads() {
        // A payload with STRINGS, MODULES, DEPS and LOAD only (as the first
        // version wrote): the optional sections read as empty.
        let spec = BlobSpec {
            release: "r".into(),
            ..BlobSpec::default()
        };
        let bytes = emit_with(&spec, Deflate::Never).unwrap();
        let mut p = payload(&bytes).unwrap();
        p[field::SECTIONS].copy_from_slice(&4u16.to_le_bytes());
        let blob = Blob::new_checked(&p).unwrap();
        assert_eq!(
            blob.config_aliases().count() + blob.aliases().count() + blob.softdeps().count(),
            0
        );
    }
    #[test]
    fn deflated_and_stored_payloads_read_the_same() {
        let spec = sample();
        let plain = emit_with(&spec, Deflate::Never).unwrap();
        let packed = emit_with(&spec, Deflate::Always).unwrap();
        assert!(!Stored::new_checked(&plain).unwrap().is_deflated());
        assert!(Stored::new_checked(&packed).unwrap().is_deflated());
        assert_eq!(payload(&plain).unwrap(), payload(&packed).unwrap());
        // A small blob is not worth deflating.
        assert_eq!(emit(&spec).unwrap(), plain);
        // A buffer too small for the inflated payload is an error, not a panic.
        let stored = Stored::new_checked(&packed).unwrap();
        let mut small = vec![0u8; stored.payload_len() - 1];
        assert_eq!(stored.payload(&mut small).err(), Some(Error::NoRoom));
        let mut buf = vec![0u8; stored.payload_len()];
        assert!(Blob::open(&packed, &mut buf).is_ok());
    }

    #[test]
    fn deterministic() {
        let a = emit(&sample()).unwrap();
        let mut shuffled = sample();
        shuffled.modules.reverse();
        assert_eq!(emit(&shuffled).unwrap(), a);
    }

    #[test]
    fn writer_rejects_bad_specs() {
        let mut s = sample();
        s.modules[0].deps.push("missing".into());
        assert!(emit(&s).unwrap_err().contains("missing"));
        let mut s = sample();
        s.modules.push(s.modules[0].clone());
        assert!(emit(&s).unwrap_err().contains("twice"));
        let mut s = sample();
        s.options[0].1 = "a\0b".into();
        assert!(emit(&s).is_err());
    }

    /// Open a stored blob the way the init does.
    fn open(bytes: &[u8]) -> Result<(), Error> {
        let mut buf = vec![0u8; 1 << 16];
        Blob::open(bytes, &mut buf).map(|_| ())
    }

    #[test]
    fn every_truncation_is_an_error() {
        for deflate in [Deflate::Never, Deflate::Always] {
            let bytes = emit_with(&sample(), deflate).unwrap();
            for len in 0..bytes.len() {
                assert!(
                    open(&bytes[..len]).is_err(),
                    "{deflate:?} truncated to {len}"
                );
            }
            // Trailing bytes after the stated length are not part of the blob.
            let mut longer = bytes.clone();
            longer.extend_from_slice(b"junk");
            assert!(open(&longer).is_ok());
        }
    }

    #[test]
    fn every_single_byte_corruption_is_an_error() {
        for deflate in [Deflate::Never, Deflate::Always] {
            let bytes = emit_with(&sample(), deflate).unwrap();
            for i in 0..bytes.len() {
                for flip in [0x01u8, 0x80, 0xff] {
                    let mut bad = bytes.clone();
                    bad[i] ^= flip;
                    assert!(
                        open(&bad).is_err(),
                        "{deflate:?}: byte {i} ^ {flip:#x} accepted"
                    );
                }
            }
        }
    }

    /// Corruptions that keep a valid checksum must still be caught by the
    /// structural checks (a blob written by a buggy or hostile tool).
    #[test]
    fn structural_errors_with_valid_checksum() {
        let bytes = emit_with(&sample(), Deflate::Never).unwrap();
        let fix = |mut b: Vec<u8>| {
            let crc = blob::checksum(&b);
            b[field::CRC32].copy_from_slice(&crc.to_le_bytes());
            b
        };
        let set32 =
            |b: &mut Vec<u8>, at: usize, v: u32| b[at..at + 4].copy_from_slice(&v.to_le_bytes());
        // Offsets in the payload are relative to its start, right after the header.
        const P: usize = HEADER_SIZE;
        let sec = |i: usize| P + PAYLOAD_HEADER_SIZE + i * SECTION_SIZE;
        let off =
            |at: usize| P + u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        let (strings_off, modules_off) = (off(sec(0) + 4), off(sec(1) + 4));
        let strings_len = modules_off - strings_off;

        let mut b = bytes.clone();
        b[field::VERSION].copy_from_slice(&2u16.to_le_bytes());
        assert_eq!(open(&fix(b)).err(), Some(Error::Version(2)));

        let mut b = bytes.clone();
        b[field::FLAGS].copy_from_slice(&2u16.to_le_bytes());
        assert_eq!(open(&fix(b)).err(), Some(Error::Flags(2)));

        let mut b = bytes.clone();
        set32(&mut b, P + field::RELEASE.start, strings_len as u32);
        assert_eq!(open(&fix(b)).err(), Some(Error::BadString));

        let mut b = bytes.clone();
        set32(&mut b, modules_off, 1_000_000); // first module's name offset
        assert_eq!(open(&fix(b)).err(), Some(Error::BadString));

        let mut b = bytes.clone();
        set32(&mut b, modules_off + field::MOD_DEPS_START.start, 1000);
        assert_eq!(open(&fix(b)).err(), Some(Error::BadIndex));

        let mut b = bytes.clone();
        let deps_off = off(sec(2) + 4); // first DEPS entry: a module index
        b[deps_off..deps_off + 2].copy_from_slice(&999u16.to_le_bytes());
        assert_eq!(open(&fix(b)).err(), Some(Error::BadIndex));

        let mut b = bytes.clone();
        let softdeps_off = off(sec(10) + 4); // first SOFTDEPS entry's name range
        set32(&mut b, softdeps_off + field::SOFTDEP_FIRST.start, 1000);
        assert_eq!(open(&fix(b)).err(), Some(Error::BadIndex));

        let mut b = bytes.clone();
        set32(&mut b, off(sec(9) + 4) + 4, 1_000_000); // a COMMANDS command string
        assert_eq!(open(&fix(b)).err(), Some(Error::BadString));

        let mut b = bytes.clone();
        set32(&mut b, sec(1) + 8, 1_000_000); // module count
        assert!(matches!(open(&fix(b)).err(), Some(Error::BadSection(_))));

        let mut b = bytes.clone();
        b[sec(1)..sec(1) + 2].copy_from_slice(&section::STRINGS.to_le_bytes()); // duplicate kind
        assert!(matches!(open(&fix(b)).err(), Some(Error::BadSection(_))));

        let mut b = bytes.clone();
        b[strings_off + 1] = 0xff; // not UTF-8
        assert_eq!(open(&fix(b)).err(), Some(Error::BadString));

        // An unknown section kind is skipped: a newer writer's extra section.
        let mut b = bytes.clone();
        b[sec(3)..sec(3) + 2].copy_from_slice(&99u16.to_le_bytes());
        assert_eq!(
            open(&fix(b.clone())).err(),
            Some(Error::BadSection(section::LOAD))
        );
    }

    /// Orders the lookups rely on are checked, not trusted (found by fuzzing:
    /// fuzz/seeds/blob/crash-*).
    #[test]
    fn entries_out_of_order_are_refused() {
        let bytes = emit_with(&sample(), Deflate::Never).unwrap();
        let p = payload(&bytes).unwrap();
        let sec = |i: usize| PAYLOAD_HEADER_SIZE + i * SECTION_SIZE;
        let off = |p: &[u8], i: usize| {
            u32::from_le_bytes(p[sec(i) + 4..sec(i) + 8].try_into().unwrap()) as usize
        };
        let swap = |p: &mut Vec<u8>, i: usize, size: usize| {
            let o = off(p, i);
            let (a, b) = p[o..o + 2 * size].split_at_mut(size);
            a.swap_with_slice(b);
        };
        for (section_index, size, kind) in [
            (1, 16, section::MODULES),
            (5, 12, section::ALIASES),
            (6, 4, section::BUILTIN),
            (13, 4, section::ALIAS_INDEX),
        ] {
            let mut bad = p.clone();
            swap(&mut bad, section_index, size);
            assert_eq!(
                Blob::new_checked(&bad).err(),
                Some(Error::Order(kind)),
                "section {kind}"
            );
        }
        for seed in [
            "crash-aliases-unranked",
            "crash-builtin-unsorted",
            "crash-module-name-dash",
            "crash-modules-duplicate",
            "crash-modules-unsorted",
            "crash-alias-index-repeats",
            "crash-alias-index-unsorted",
        ] {
            let path = format!(
                "{}/fuzz/seeds/blob/{seed}.payload",
                env!("CARGO_MANIFEST_DIR")
            );
            if let Ok(bytes) = std::fs::read(&path) {
                assert!(
                    matches!(Blob::new_checked(&bytes), Err(Error::Order(_))),
                    "{seed}"
                );
            }
        }
    }

    #[test]
    fn embedded_blob_is_found_after_a_false_magic() {
        let bytes = emit(&sample()).unwrap();
        let mut bin = b"\x7fELF....MODBOOT\0garbage".to_vec();
        bin.extend_from_slice(&bytes);
        bin.extend_from_slice(b"trailer");
        let found = find_embedded(&bin).unwrap();
        let p = payload(found).unwrap();
        assert_eq!(Blob::new_checked(&p).unwrap().release(), "6.1.0-test");
        assert!(find_embedded(b"no blob here").is_none());
    }
}
