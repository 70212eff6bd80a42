//! The blob writer: [`BlobSpec`] in, bytes out, deterministically.
//!
//! The layout is defined once, in `crate::blob`; this file only follows its
//! constants. The module table is sorted by name (the reader binary-searches
//! it), strings are interned in first-use order, and nothing depends on time
//! or hash order, so the same spec always gives the same bytes.

use crate::blob::{self, HEADER_SIZE, MAGIC, MODULE_SIZE, SECTION_SIZE, VERSION, field, section};
use std::collections::HashMap;

/// One module as the blob describes it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModuleSpec {
    /// Module name; normalised (`-` to `_`) when written.
    pub name: String,
    /// Path relative to `/lib/modules/<release>`.
    pub path: String,
    /// Options from configuration, space-separated.
    pub options: String,
    /// Names of every dependency, in load order.
    pub deps: Vec<String>,
}

/// Everything a blob holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlobSpec {
    /// The kernel release (`uname -r`) the modules were built for.
    pub release: String,
    pub modules: Vec<ModuleSpec>,
    /// Names of the modules to load at boot, in order.
    pub load: Vec<String>,
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

/// Write `spec` as a blob.
pub fn emit(spec: &BlobSpec) -> Result<Vec<u8>, String> {
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
    let lookup = |name: &str, what: &str| {
        index
            .get(normalise(name).as_str())
            .copied()
            .ok_or_else(|| format!("{what} {name} is not in the module table"))
    };

    let mut strings = Strings::new();
    let release = strings.add(&spec.release)?;
    let mut records = Vec::with_capacity(modules.len() * MODULE_SIZE);
    let mut deps = Vec::new();
    for m in &modules {
        let mut rec = [0u8; MODULE_SIZE];
        let deps_start = (deps.len() / 2) as u32;
        let count = u16::try_from(m.deps.len())
            .map_err(|_| format!("{}: too many dependencies", m.name))?;
        for d in &m.deps {
            let i = lookup(d, &format!("dependency of {}:", m.name))?;
            deps.extend_from_slice(&i.to_le_bytes());
        }
        rec[field::MOD_NAME].copy_from_slice(&strings.add(&m.name)?.to_le_bytes());
        rec[field::MOD_PATH].copy_from_slice(&strings.add(&m.path)?.to_le_bytes());
        rec[field::MOD_OPTIONS].copy_from_slice(&strings.add(&m.options)?.to_le_bytes());
        rec[field::MOD_DEPS_START].copy_from_slice(&deps_start.to_le_bytes());
        rec[field::MOD_DEPS_COUNT].copy_from_slice(&count.to_le_bytes());
        rec[field::MOD_FLAGS].copy_from_slice(&0u16.to_le_bytes());
        records.extend_from_slice(&rec);
    }
    let mut load = Vec::new();
    for name in &spec.load {
        load.extend_from_slice(&lookup(name, "boot module")?.to_le_bytes());
    }

    // (kind, entry size, bytes), in layout order.
    let sections: [(u16, usize, &[u8]); 4] = [
        (section::STRINGS, 1, &strings.bytes),
        (section::MODULES, MODULE_SIZE, &records),
        (section::DEPS, 2, &deps),
        (section::LOAD, 2, &load),
    ];
    let mut out = vec![0u8; HEADER_SIZE + sections.len() * SECTION_SIZE];
    for (i, (kind, entry, data)) in sections.iter().enumerate() {
        let offset = u32::try_from(out.len()).map_err(|_| "blob over 4 GiB".to_string())?;
        let desc = &mut out[HEADER_SIZE + i * SECTION_SIZE..][..SECTION_SIZE];
        desc[field::SEC_KIND].copy_from_slice(&kind.to_le_bytes());
        desc[field::SEC_ENTRY_SIZE].copy_from_slice(&(*entry as u16).to_le_bytes());
        desc[field::SEC_OFFSET].copy_from_slice(&offset.to_le_bytes());
        desc[field::SEC_COUNT].copy_from_slice(&((data.len() / entry) as u32).to_le_bytes());
        out.extend_from_slice(data);
    }
    let total = u32::try_from(out.len()).map_err(|_| "blob over 4 GiB".to_string())?;
    out[field::MAGIC].copy_from_slice(&MAGIC);
    out[field::VERSION].copy_from_slice(&VERSION.to_le_bytes());
    out[field::SECTIONS].copy_from_slice(&(sections.len() as u16).to_le_bytes());
    out[field::TOTAL_LEN].copy_from_slice(&total.to_le_bytes());
    out[field::RELEASE].copy_from_slice(&release.to_le_bytes());
    let crc = blob::checksum(&out);
    out[field::CRC32].copy_from_slice(&crc.to_le_bytes());
    Ok(out)
}

/// Read a validated blob back into a spec (modules in table order).
pub fn decode(b: &blob::Blob<'_>) -> BlobSpec {
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
                options: m.options().to_string(),
                deps: m.deps().map(name).collect(),
            })
            .collect(),
        load: b.load_list().map(name).collect(),
    }
}

/// Find a valid blob inside `bytes` (an init binary with one embedded).
pub fn find_embedded(bytes: &[u8]) -> Option<blob::Blob<'_>> {
    let mut from = 0;
    while let Some(pos) = bytes[from..].windows(MAGIC.len()).position(|w| w == MAGIC) {
        let at = from + pos;
        if let Ok(b) = blob::Blob::new_checked(&bytes[at..]) {
            return Some(b);
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
        let m = |name: &str, path: &str, options: &str, deps: &[&str]| ModuleSpec {
            name: name.into(),
            path: path.into(),
            options: options.into(),
            deps: deps.iter().map(|s| s.to_string()).collect(),
        };
        BlobSpec {
            release: "6.1.0-test".into(),
            modules: vec![
                m(
                    "virtio_blk",
                    "kernel/drivers/block/virtio_blk.ko",
                    "queue_depth=32",
                    &["virtio_ring", "virtio"],
                ),
                m("virtio", "kernel/drivers/virtio/virtio.ko", "", &[]),
                m(
                    "virtio_ring",
                    "kernel/drivers/virtio/virtio_ring.ko",
                    "",
                    &[],
                ),
                m(
                    "virtio-pci",
                    "kernel/drivers/virtio/virtio_pci.ko",
                    "",
                    &["virtio_ring", "virtio", "virtio_pci_modern_dev"],
                ),
                m(
                    "virtio_pci_modern_dev",
                    "kernel/drivers/virtio/virtio_pci_modern_dev.ko",
                    "",
                    &[],
                ),
            ],
            load: vec!["virtio_pci".into(), "virtio-blk".into()],
        }
    }

    fn normalised(mut spec: BlobSpec) -> BlobSpec {
        for m in &mut spec.modules {
            m.name = normalise(&m.name);
            m.deps = m.deps.iter().map(|d| normalise(d)).collect();
        }
        spec.modules.sort_by(|a, b| a.name.cmp(&b.name));
        spec.load = spec.load.iter().map(|d| normalise(d)).collect();
        spec
    }

    #[test]
    fn round_trip() {
        let spec = sample();
        let bytes = emit(&spec).unwrap();
        let blob = Blob::new_checked(&bytes).unwrap();
        assert_eq!(decode(&blob), normalised(spec));
        assert_eq!(blob.release(), "6.1.0-test");
        assert_eq!(
            blob.find(b"virtio-blk").unwrap().options(),
            "queue_depth=32"
        );
        assert!(blob.find(b"virtio_scsi").is_none());
        assert_eq!(emit(&decode(&blob)).unwrap(), bytes, "emit(parse(x)) == x");
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
        s.load.push("nope".into());
        assert!(emit(&s).is_err());
        let mut s = sample();
        s.modules[1].options = "a\0b".into();
        assert!(emit(&s).is_err());
    }

    #[test]
    fn every_truncation_is_an_error() {
        let bytes = emit(&sample()).unwrap();
        for len in 0..bytes.len() {
            assert!(
                Blob::new_checked(&bytes[..len]).is_err(),
                "truncated to {len}"
            );
        }
        // Trailing bytes after the stated length are not part of the blob.
        let mut longer = bytes.clone();
        longer.extend_from_slice(b"junk");
        assert!(Blob::new_checked(&longer).is_ok());
    }

    #[test]
    fn every_single_byte_corruption_is_an_error() {
        let bytes = emit(&sample()).unwrap();
        for i in 0..bytes.len() {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut bad = bytes.clone();
                bad[i] ^= flip;
                assert!(
                    Blob::new_checked(&bad).is_err(),
                    "byte {i} ^ {flip:#x} accepted"
                );
            }
        }
    }

    /// Corruptions that keep a valid checksum must still be caught by the
    /// structural checks (a blob written by a buggy or hostile tool).
    #[test]
    fn structural_errors_with_valid_checksum() {
        let bytes = emit(&sample()).unwrap();
        let fix = |mut b: Vec<u8>| {
            let crc = blob::checksum(&b);
            b[field::CRC32].copy_from_slice(&crc.to_le_bytes());
            b
        };
        let set32 =
            |b: &mut Vec<u8>, at: usize, v: u32| b[at..at + 4].copy_from_slice(&v.to_le_bytes());
        let sec = |i: usize| HEADER_SIZE + i * SECTION_SIZE;
        let strings_off =
            u32::from_le_bytes(bytes[sec(0) + 4..sec(0) + 8].try_into().unwrap()) as usize;
        let modules_off =
            u32::from_le_bytes(bytes[sec(1) + 4..sec(1) + 8].try_into().unwrap()) as usize;
        let strings_len = modules_off - strings_off;

        let mut b = bytes.clone();
        b[field::VERSION].copy_from_slice(&2u16.to_le_bytes());
        assert_eq!(Blob::new_checked(&fix(b)).err(), Some(Error::Version(2)));

        let mut b = bytes.clone();
        set32(&mut b, field::RELEASE.start, strings_len as u32);
        assert_eq!(Blob::new_checked(&fix(b)).err(), Some(Error::BadString));

        let mut b = bytes.clone();
        set32(&mut b, modules_off, 1_000_000); // first module's name offset
        assert_eq!(Blob::new_checked(&fix(b)).err(), Some(Error::BadString));

        let mut b = bytes.clone();
        set32(&mut b, modules_off + field::MOD_DEPS_START.start, 1000);
        assert_eq!(Blob::new_checked(&fix(b)).err(), Some(Error::BadIndex));

        let mut b = bytes.clone();
        let last = b.len() - 2; // last LOAD entry
        b[last..].copy_from_slice(&999u16.to_le_bytes());
        assert_eq!(Blob::new_checked(&fix(b)).err(), Some(Error::BadIndex));

        let mut b = bytes.clone();
        set32(&mut b, sec(1) + 8, 1_000_000); // module count
        assert!(matches!(
            Blob::new_checked(&fix(b)).err(),
            Some(Error::BadSection(_))
        ));

        let mut b = bytes.clone();
        b[sec(1)..sec(1) + 2].copy_from_slice(&section::STRINGS.to_le_bytes()); // duplicate kind
        assert!(matches!(
            Blob::new_checked(&fix(b)).err(),
            Some(Error::BadSection(_))
        ));

        let mut b = bytes.clone();
        b[strings_off + 1] = 0xff; // not UTF-8
        assert_eq!(Blob::new_checked(&fix(b)).err(), Some(Error::BadString));

        // An unknown section kind is skipped: a newer writer's extra section.
        let mut b = bytes.clone();
        b[sec(3)..sec(3) + 2].copy_from_slice(&99u16.to_le_bytes());
        assert_eq!(
            Blob::new_checked(&fix(b.clone())).err(),
            Some(Error::BadSection(section::LOAD))
        );
    }

    #[test]
    fn embedded_blob_is_found_after_a_false_magic() {
        let bytes = emit(&sample()).unwrap();
        let mut bin = b"\x7fELF....MODBOOT\0garbage".to_vec();
        bin.extend_from_slice(&bytes);
        bin.extend_from_slice(b"trailer");
        let b = find_embedded(&bin).unwrap();
        assert_eq!(b.release(), "6.1.0-test");
        assert!(find_embedded(b"no blob here").is_none());
    }

    #[test]
    fn walk_loads_dependencies_first_once() {
        use crate::depends::{ModSet, walk};
        let bytes = emit(&sample()).unwrap();
        let blob = Blob::new_checked(&bytes).unwrap();
        let mut seen = ModSet::new();
        let mut order = Vec::new();
        for i in blob.load_list() {
            walk(&blob, i, &mut seen, |m| order.push(m.name().to_string()));
        }
        assert_eq!(
            order,
            [
                "virtio_ring",
                "virtio",
                "virtio_pci_modern_dev",
                "virtio_pci",
                "virtio_blk"
            ]
        );
        // Walking again loads nothing.
        let mut again = 0;
        walk(
            &blob,
            blob.find(b"virtio_blk").unwrap().index(),
            &mut seen,
            |_| again += 1,
        );
        assert_eq!(again, 0);
    }
}
