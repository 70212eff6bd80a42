//! The blob: modboot's compact, prebuilt index of a kernel's modules.
//!
//! This module owns the layout and the zero-copy reader; the one writer is
//! `host::emit`, which takes its constants from here. Everything is
//! little-endian, nothing needs alignment.
//!
//! ```text
//! header (32 bytes)
//!    0  magic        8   b"MODBOOT\0"
//!    8  version      u16 VERSION; a reader refuses any other
//!   10  sections     u16 number of section descriptors that follow the header
//!   12  total_len    u32 length of the whole blob, header included
//!   16  crc32        u32 CRC-32 of the whole blob with this field read as zero
//!   20  release      u32 string offset: the kernel release (`uname -r`) it was built for
//!   24  reserved     8   zero
//! section descriptors (12 bytes each)
//!    0  kind         u16 one of `section::*`; unknown kinds are skipped
//!    2  entry_size   u16 size of one entry; a reader checks it is at least what it reads
//!    4  offset       u32 from the start of the blob
//!    8  count        u32 number of entries
//! section STRINGS    bytes; NUL-terminated strings, referred to by offset.
//!                    Offset 0 is the empty string; the table ends with a NUL.
//! section MODULES    entries (MODULE_SIZE bytes each), sorted by normalised name:
//!    0  name         u32 string offset: module name, normalised (`_`, not `-`)
//!    4  path         u32 string offset: path relative to /lib/modules/<release>
//!    8  options      u32 string offset: options from configuration, space-separated
//!   12  deps_start   u32 index of the first entry in DEPS
//!   16  deps_count   u16 number of DEPS entries: every dependency, in load order
//!   18  flags        u16 zero for now
//! section DEPS       u16 module indices
//! section LOAD       u16 module indices: what to load at boot, in order
//! ```
//!
//! Future sections (aliases, softdeps, blacklist, builtin names) get new kinds:
//! an older reader skips them, a newer one finds them, and records can grow
//! because every section states its entry size.
//!
//! [`Blob::new_checked`] validates everything once: header, checksum, section
//! bounds, every string offset, every module index. After it succeeded no
//! accessor can panic or return out-of-range data.

use crate::crc32::Crc32;
use core::ffi::CStr;

pub const MAGIC: [u8; 8] = *b"MODBOOT\0";
pub const VERSION: u16 = 1;
pub const HEADER_SIZE: usize = 32;
pub const SECTION_SIZE: usize = 12;
pub const MODULE_SIZE: usize = 20;
/// Module indices are u16.
pub const MAX_MODULES: usize = u16::MAX as usize;

/// Byte ranges of the header and the records.
pub mod field {
    use core::ops::Range;
    pub const MAGIC: Range<usize> = 0..8;
    pub const VERSION: Range<usize> = 8..10;
    pub const SECTIONS: Range<usize> = 10..12;
    pub const TOTAL_LEN: Range<usize> = 12..16;
    pub const CRC32: Range<usize> = 16..20;
    pub const RELEASE: Range<usize> = 20..24;

    pub const SEC_KIND: Range<usize> = 0..2;
    pub const SEC_ENTRY_SIZE: Range<usize> = 2..4;
    pub const SEC_OFFSET: Range<usize> = 4..8;
    pub const SEC_COUNT: Range<usize> = 8..12;

    pub const MOD_NAME: Range<usize> = 0..4;
    pub const MOD_PATH: Range<usize> = 4..8;
    pub const MOD_OPTIONS: Range<usize> = 8..12;
    pub const MOD_DEPS_START: Range<usize> = 12..16;
    pub const MOD_DEPS_COUNT: Range<usize> = 16..18;
    pub const MOD_FLAGS: Range<usize> = 18..20;
}

/// Section kinds.
pub mod section {
    pub const STRINGS: u16 = 1;
    pub const MODULES: u16 = 2;
    pub const DEPS: u16 = 3;
    pub const LOAD: u16 = 4;
}

/// Why a blob was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Shorter than its header, or than the length its header states.
    Truncated,
    /// Does not start with [`MAGIC`].
    BadMagic,
    /// A format version this reader does not know.
    Version(u16),
    /// The stored CRC-32 does not match the contents.
    Checksum,
    /// A section lies outside the blob, has a too-small entry size, or is
    /// missing or repeated.
    BadSection(u16),
    /// A string offset outside the string table, or a table not NUL-terminated
    /// or not UTF-8.
    BadString,
    /// A module index out of range, or a dependency list outside DEPS.
    BadIndex,
}

impl Error {
    /// A short description, for log lines and error messages.
    pub fn describe(self) -> &'static str {
        match self {
            Error::Truncated => "truncated",
            Error::BadMagic => "bad magic (not a modboot blob)",
            Error::Version(_) => "unsupported format version",
            Error::Checksum => "checksum mismatch (corrupt)",
            Error::BadSection(_) => "bad section table",
            Error::BadString => "bad string reference",
            Error::BadIndex => "bad module index",
        }
    }
}

pub(crate) fn u16_at(b: &[u8], r: core::ops::Range<usize>) -> u16 {
    match b.get(r) {
        Some(&[x, y]) => u16::from_le_bytes([x, y]),
        _ => 0,
    }
}

pub(crate) fn u32_at(b: &[u8], r: core::ops::Range<usize>) -> u32 {
    match b.get(r) {
        Some(&[a, c, d, e]) => u32::from_le_bytes([a, c, d, e]),
        _ => 0,
    }
}

/// A validated, read-only view of a blob.
#[derive(Clone, Copy)]
pub struct Blob<'a> {
    strings: &'a [u8],
    modules: &'a [u8],
    deps: &'a [u8],
    load: &'a [u8],
    module_size: usize,
    release: u32,
}

impl<'a> Blob<'a> {
    /// Validate `bytes` completely and return a view of it.
    pub fn new_checked(bytes: &'a [u8]) -> Result<Self, Error> {
        let header = bytes.get(..HEADER_SIZE).ok_or(Error::Truncated)?;
        if header.get(field::MAGIC) != Some(&MAGIC[..]) {
            return Err(Error::BadMagic);
        }
        let version = u16_at(header, field::VERSION);
        if version != VERSION {
            return Err(Error::Version(version));
        }
        let total = u32_at(header, field::TOTAL_LEN) as usize;
        let bytes = bytes.get(..total).ok_or(Error::Truncated)?;
        if total < HEADER_SIZE {
            return Err(Error::Truncated);
        }
        if checksum(bytes) != u32_at(header, field::CRC32) {
            return Err(Error::Checksum);
        }

        let nsec = u16_at(header, field::SECTIONS) as usize;
        let table_end = HEADER_SIZE + nsec * SECTION_SIZE;
        let table = bytes.get(HEADER_SIZE..table_end).ok_or(Error::Truncated)?;
        let mut found: [Option<(&[u8], usize)>; 5] = [None; 5];
        for desc in table.chunks_exact(SECTION_SIZE) {
            let kind = u16_at(desc, field::SEC_KIND);
            let entry = u16_at(desc, field::SEC_ENTRY_SIZE) as usize;
            let offset = u32_at(desc, field::SEC_OFFSET) as usize;
            let count = u32_at(desc, field::SEC_COUNT) as usize;
            let len = count.checked_mul(entry).ok_or(Error::BadSection(kind))?;
            let end = offset.checked_add(len).ok_or(Error::BadSection(kind))?;
            if offset < table_end {
                return Err(Error::BadSection(kind));
            }
            let data = bytes.get(offset..end).ok_or(Error::BadSection(kind))?;
            let min_entry = match kind {
                section::STRINGS => 1,
                section::MODULES => MODULE_SIZE,
                section::DEPS | section::LOAD => 2,
                _ => continue, // a later format's section: not ours to read
            };
            // STRINGS, DEPS and LOAD are arrays of exactly that size.
            if entry < min_entry || (kind != section::MODULES && entry != min_entry) {
                return Err(Error::BadSection(kind));
            }
            let slot = &mut found[kind as usize];
            if slot.is_some() {
                return Err(Error::BadSection(kind));
            }
            *slot = Some((data, entry));
        }
        let need = |kind: u16| found[kind as usize].ok_or(Error::BadSection(kind));
        let (strings, _) = need(section::STRINGS)?;
        let (modules, module_size) = need(section::MODULES)?;
        let (deps, _) = need(section::DEPS)?;
        let (load, _) = need(section::LOAD)?;

        // Strings: NUL-terminated table, offset 0 is "", all valid UTF-8, so any
        // in-range offset yields a valid &CStr and &str.
        if strings.first() != Some(&0) || strings.last() != Some(&0) {
            return Err(Error::BadString);
        }
        if core::str::from_utf8(strings).is_err() {
            return Err(Error::BadString);
        }
        let nmod = modules
            .len()
            .checked_div(module_size)
            .ok_or(Error::BadSection(section::MODULES))?;
        if nmod > MAX_MODULES {
            return Err(Error::BadIndex);
        }
        let ndeps = deps.len() / 2;
        let string_ok = |off: u32| (off as usize) < strings.len();
        let index_ok = |chunk: &[u8]| (u16_at(chunk, 0..2) as usize) < nmod;

        if !string_ok(u32_at(header, field::RELEASE)) {
            return Err(Error::BadString);
        }
        for i in 0..nmod {
            let rec = modules.get(i * module_size..).unwrap_or(&[]);
            for r in [field::MOD_NAME, field::MOD_PATH, field::MOD_OPTIONS] {
                if !string_ok(u32_at(rec, r)) {
                    return Err(Error::BadString);
                }
            }
            let start = u32_at(rec, field::MOD_DEPS_START) as usize;
            let count = u16_at(rec, field::MOD_DEPS_COUNT) as usize;
            if start.checked_add(count).is_none_or(|end| end > ndeps) {
                return Err(Error::BadIndex);
            }
        }
        if !deps.chunks_exact(2).all(index_ok) || !load.chunks_exact(2).all(index_ok) {
            return Err(Error::BadIndex);
        }
        Ok(Blob {
            strings,
            modules,
            deps,
            load,
            module_size,
            release: u32_at(header, field::RELEASE),
        })
    }

    /// The kernel release the blob was built for.
    pub fn release(&self) -> &'a str {
        self.str_at(self.release)
    }

    /// Number of modules in the module table.
    pub fn module_count(&self) -> usize {
        self.modules
            .len()
            .checked_div(self.module_size)
            .unwrap_or(0)
    }

    /// The module at `index`, if there is one.
    pub fn module(&self, index: u16) -> Option<Module<'a>> {
        let start = index as usize * self.module_size;
        let rec = self.modules.get(start..start + MODULE_SIZE)?;
        Some(Module {
            blob: *self,
            index,
            rec,
        })
    }

    /// All modules, in table (name) order.
    pub fn modules(&self) -> impl Iterator<Item = Module<'a>> + 'a {
        let blob = *self;
        (0..self.module_count() as u16).filter_map(move |i| blob.module(i))
    }

    /// Find a module by name; `-` and `_` are the same, as in kmod.
    pub fn find(&self, name: &[u8]) -> Option<Module<'a>> {
        let (mut lo, mut hi) = (0usize, self.module_count());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let m = self.module(mid as u16)?;
            match crate::modname::cmp(m.name().as_bytes(), name) {
                core::cmp::Ordering::Less => lo = mid + 1,
                core::cmp::Ordering::Greater => hi = mid,
                core::cmp::Ordering::Equal => return Some(m),
            }
        }
        None
    }

    /// The modules to load at boot, in order (dependencies not included).
    pub fn load_list(&self) -> impl Iterator<Item = u16> + 'a {
        self.load.chunks_exact(2).map(|c| u16_at(c, 0..2))
    }

    fn cstr_at(&self, off: u32) -> &'a CStr {
        let tail = self.strings.get(off as usize..).unwrap_or(&[0]);
        CStr::from_bytes_until_nul(tail).unwrap_or(c"")
    }

    fn str_at(&self, off: u32) -> &'a str {
        self.cstr_at(off).to_str().unwrap_or("")
    }
}

/// One module record.
#[derive(Clone, Copy)]
pub struct Module<'a> {
    blob: Blob<'a>,
    index: u16,
    rec: &'a [u8],
}

impl<'a> Module<'a> {
    pub fn index(&self) -> u16 {
        self.index
    }

    /// The normalised module name (`virtio_blk`).
    pub fn name(&self) -> &'a str {
        self.blob.str_at(u32_at(self.rec, field::MOD_NAME))
    }

    /// Path relative to `/lib/modules/<release>`, NUL-terminated for syscalls.
    pub fn path(&self) -> &'a CStr {
        self.blob.cstr_at(u32_at(self.rec, field::MOD_PATH))
    }

    /// Options from configuration (`modprobe.d` `options` lines), space-separated.
    pub fn options(&self) -> &'a str {
        self.blob.str_at(u32_at(self.rec, field::MOD_OPTIONS))
    }

    /// Every module this one depends on, in load order (the first loads first).
    pub fn deps(&self) -> impl Iterator<Item = u16> + 'a {
        let start = u32_at(self.rec, field::MOD_DEPS_START) as usize * 2;
        let count = u16_at(self.rec, field::MOD_DEPS_COUNT) as usize * 2;
        let list = self.blob.deps.get(start..start + count).unwrap_or(&[]);
        list.chunks_exact(2).map(|c| u16_at(c, 0..2))
    }
}

/// The CRC-32 of a blob, with its checksum field counted as zero.
pub fn checksum(bytes: &[u8]) -> u32 {
    let mut crc = Crc32::new();
    crc.update(bytes.get(..field::CRC32.start).unwrap_or(&[]));
    crc.update(&[0; 4]);
    crc.update(bytes.get(field::CRC32.end..).unwrap_or(&[]));
    crc.finish()
}
