//! The blob: modboot's compact, prebuilt index of a kernel's modules and
//! their configuration, everything `modprobe` consults.
//!
//! This module owns the layout and the zero-copy reader; the one writer is
//! `host::emit`, which takes its constants from here. Everything is
//! little-endian, nothing needs alignment.
//!
//! ```text
//! header (32 bytes)
//!    0  magic        8   b"MODBOOT\0"
//!    8  version      u16 VERSION; a reader refuses any other
//!   10  flags        u16 FLAG_DEFLATE: the payload is stored raw-deflated (RFC 1951)
//!   12  total_len    u32 length of the stored blob, header included
//!   16  crc32        u32 CRC-32 of the stored blob with this field read as zero
//!   20  payload_len  u32 length of the payload (once inflated)
//!   24  reserved     8   zero
//! payload (offsets below are from its start)
//!    0  sections     u16 number of section descriptors that follow
//!    2  reserved     u16 zero
//!    4  release      u32 string offset: the kernel release (`uname -r`) it was built for
//!    8  descriptors  12 bytes each:
//!         0  kind        u16 one of `section::*`; unknown kinds are skipped
//!         2  entry_size  u16 size of one entry; at least what the reader reads
//!         4  offset      u32 from the start of the payload
//!         8  count       u32 number of entries
//! ```
//!
//! Sections (`str` is a u32 offset into STRINGS; lists keep the order of
//! their source unless said otherwise):
//!
//! ```text
//! STRINGS          bytes: NUL-terminated strings; offset 0 is ""; ends with NUL
//! MODULES          name str, path str, deps_start u32, deps_count u16, flags u16
//!                  sorted by name (normalised, `_`); path relative to the tree
//! DEPS             u16 module index: each module's dependencies, in load order
//! LOAD             name str: what to load at boot (names or aliases, as modprobe takes)
//! CONFIG_ALIASES   pattern str, target str            modprobe.d `alias`
//! ALIASES          pattern str, target str, rank u32  modules.alias, sorted by rank
//!                                                     (the target's modules.order position)
//! BUILTIN          name str                           modules.builtin, sorted by name
//! BUILTIN_ALIASES  pattern str, target str            aliases of built-in modules
//! OPTIONS          name str, text str                 modprobe.d `options`
//! COMMANDS         name str, command str, kind u32    modprobe.d `install` (1) / `remove` (2)
//! SOFTDEPS         pattern str, first u32, pre u16, post u16
//!                  modprobe.d and modules.softdep `softdep`, in kmod's file order;
//!                  `pre` then `post` names from SOFTDEP_NAMES[first..]
//! SOFTDEP_NAMES    name str
//! BLACKLIST        name str                           modprobe.d `blacklist`
//! ALIAS_INDEX      u32 ALIASES index, sorted by the pattern's literal prefix
//!                  (the bytes before its first `*?[\\`): lookups search it
//! ```
//!
//! Only STRINGS, MODULES, DEPS and LOAD must be present; a missing optional
//! section reads as empty. Unknown section kinds are skipped, and entries
//! can grow, because every section states its entry size.
//!
//! The payload is what readers index; the header around it is the container.
//! [`Stored::new_checked`] checks the container (magic, version, length,
//! checksum) and yields the payload, inflating it into a caller's buffer when
//! it is deflated (no allocation). [`Blob::new_checked`] validates a payload
//! once: section bounds, every string offset, every index and range. After it
//! succeeded no accessor can panic or return out-of-range data.

use crate::crc32::Crc32;
use core::cmp::Ordering;
use core::ffi::CStr;

pub const MAGIC: [u8; 8] = *b"MODBOOT\0";
pub const VERSION: u16 = 1;
pub const HEADER_SIZE: usize = 32;
/// The payload starts with its own small header, then the descriptors.
pub const PAYLOAD_HEADER_SIZE: usize = 8;
pub const SECTION_SIZE: usize = 12;
/// Header flag: the payload is raw deflate.
pub const FLAG_DEFLATE: u16 = 1;
/// Module indices are u16.
pub const MAX_MODULES: usize = u16::MAX as usize;
/// `COMMANDS` kinds.
pub const COMMAND_INSTALL: u32 = 1;
pub const COMMAND_REMOVE: u32 = 2;

/// Byte ranges of the header and the records.
pub mod field {
    use core::ops::Range;
    pub const MAGIC: Range<usize> = 0..8;
    pub const VERSION: Range<usize> = 8..10;
    pub const FLAGS: Range<usize> = 10..12;
    pub const TOTAL_LEN: Range<usize> = 12..16;
    pub const CRC32: Range<usize> = 16..20;
    pub const PAYLOAD_LEN: Range<usize> = 20..24;

    pub const SECTIONS: Range<usize> = 0..2;
    pub const RELEASE: Range<usize> = 4..8;

    pub const SEC_KIND: Range<usize> = 0..2;
    pub const SEC_ENTRY_SIZE: Range<usize> = 2..4;
    pub const SEC_OFFSET: Range<usize> = 4..8;
    pub const SEC_COUNT: Range<usize> = 8..12;

    /// Most entries are string offsets in these slots.
    pub const STR0: Range<usize> = 0..4;
    pub const STR1: Range<usize> = 4..8;
    pub const WORD2: Range<usize> = 8..12;

    pub const MOD_DEPS_START: Range<usize> = 8..12;
    pub const MOD_DEPS_COUNT: Range<usize> = 12..14;
    pub const MOD_FLAGS: Range<usize> = 14..16;

    pub const SOFTDEP_FIRST: Range<usize> = 4..8;
    pub const SOFTDEP_PRE: Range<usize> = 8..10;
    pub const SOFTDEP_POST: Range<usize> = 10..12;
}

/// Section kinds, their entry sizes and which of their fields are strings.
pub mod section {
    pub const STRINGS: u16 = 1;
    pub const MODULES: u16 = 2;
    pub const DEPS: u16 = 3;
    pub const LOAD: u16 = 4;
    pub const CONFIG_ALIASES: u16 = 5;
    pub const ALIASES: u16 = 6;
    pub const BUILTIN: u16 = 7;
    pub const BUILTIN_ALIASES: u16 = 8;
    pub const OPTIONS: u16 = 9;
    pub const COMMANDS: u16 = 10;
    pub const SOFTDEPS: u16 = 11;
    pub const SOFTDEP_NAMES: u16 = 12;
    pub const BLACKLIST: u16 = 13;
    pub const ALIAS_INDEX: u16 = 14;
    /// One past the largest kind this reader knows.
    pub const END: usize = 15;

    /// `(entry size, string fields)` for each kind; index 0 unused. The
    /// string fields are the first ones: at offsets 0, then 4. Bytes, not
    /// `usize`s and slices: the init carries this table.
    pub const SHAPE: [(u8, u8); END] = [
        (0, 0),
        (1, 0),
        (16, 2),
        (2, 0),
        (4, 1),
        (8, 2),
        (12, 2),
        (4, 1),
        (8, 2),
        (8, 2),
        (12, 2),
        (12, 1),
        (4, 1),
        (4, 1),
        (4, 0),
    ];

    /// Sections every blob has.
    pub const REQUIRED: [u16; 4] = [STRINGS, MODULES, DEPS, LOAD];
}

/// Why a blob was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Shorter than its header, or than the length its header states.
    Truncated,
    /// Does not start with [`MAGIC`].
    BadMagic,
    /// Header flags this reader does not know.
    Flags(u16),
    /// The deflated payload does not inflate to its stated length.
    Inflate,
    /// The buffer for the inflated payload is too small.
    NoRoom,
    /// A format version this reader does not know.
    Version(u16),
    /// The stored CRC-32 does not match the contents.
    Checksum,
    /// A section lies outside the payload, has a too-small entry size, or is
    /// missing or repeated.
    BadSection(u16),
    /// A string offset outside the string table, or a table not NUL-terminated
    /// or not UTF-8.
    BadString,
    /// A module index or a list range out of bounds.
    BadIndex,
    /// Entries out of the order lookups rely on (module and built-in names
    /// sorted, unique and normalised; aliases by rank; the alias index by
    /// prefix and complete).
    Order(u16),
}

impl Error {
    /// A short description, for log lines and error messages.
    pub fn describe(self) -> &'static str {
        match self {
            Error::Truncated => "truncated",
            Error::BadMagic => "bad magic (not a modboot blob)",
            Error::Flags(_) => "unknown header flags",
            Error::Inflate => "compressed payload is corrupt",
            Error::NoRoom => "no room to inflate the payload",
            Error::Version(_) => "unsupported format version",
            Error::Checksum => "checksum mismatch (corrupt)",
            Error::BadSection(_) => "bad section table",
            Error::BadString => "bad string reference",
            Error::BadIndex => "bad module index",
            Error::Order(_) => "entries out of order",
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

/// A checked container: header and checksum verified, payload located.
#[derive(Clone, Copy)]
pub struct Stored<'a> {
    stored: &'a [u8],
    deflated: bool,
    payload_len: usize,
}

impl<'a> Stored<'a> {
    /// Check the container of a stored blob (trailing bytes are ignored).
    pub fn new_checked(bytes: &'a [u8]) -> Result<Self, Error> {
        let header = bytes.get(..HEADER_SIZE).ok_or(Error::Truncated)?;
        if header.get(field::MAGIC) != Some(&MAGIC[..]) {
            return Err(Error::BadMagic);
        }
        let version = u16_at(header, field::VERSION);
        if version != VERSION {
            return Err(Error::Version(version));
        }
        let flags = u16_at(header, field::FLAGS);
        if flags & !FLAG_DEFLATE != 0 {
            return Err(Error::Flags(flags));
        }
        let total = u32_at(header, field::TOTAL_LEN) as usize;
        if total < HEADER_SIZE {
            return Err(Error::Truncated);
        }
        let bytes = bytes.get(..total).ok_or(Error::Truncated)?;
        if checksum(bytes) != u32_at(header, field::CRC32) {
            return Err(Error::Checksum);
        }
        let stored = bytes.get(HEADER_SIZE..).unwrap_or(&[]);
        let deflated = flags & FLAG_DEFLATE != 0;
        let payload_len = u32_at(header, field::PAYLOAD_LEN) as usize;
        if !deflated && payload_len != stored.len() {
            return Err(Error::Truncated);
        }
        // Deflate expands at most about 1032:1: a larger claim is corrupt,
        // and must not make a reader reserve gigabytes for it.
        if deflated && payload_len > stored.len().saturating_mul(1032).saturating_add(64) {
            return Err(Error::Inflate);
        }
        Ok(Stored {
            stored,
            deflated,
            payload_len,
        })
    }

    /// Length of the stored blob, header included.
    pub fn stored_len(&self) -> usize {
        HEADER_SIZE + self.stored.len()
    }

    /// Length of the payload, once inflated.
    pub fn payload_len(&self) -> usize {
        self.payload_len
    }

    /// Whether the payload must be inflated (into a buffer of
    /// [`payload_len`](Self::payload_len) bytes) before it can be read.
    pub fn is_deflated(&self) -> bool {
        self.deflated
    }

    /// The payload: the stored bytes themselves, or inflated into `buf`.
    pub fn payload<'o>(&self, buf: &'o mut [u8]) -> Result<&'o [u8], Error>
    where
        'a: 'o,
    {
        if !self.deflated {
            return Ok(self.stored);
        }
        let out = buf.get_mut(..self.payload_len).ok_or(Error::NoRoom)?;
        let n = crate::inflate::inflate(self.stored, out).map_err(|_| Error::Inflate)?;
        if n != self.payload_len {
            return Err(Error::Inflate);
        }
        Ok(buf.get(..n).unwrap_or(&[]))
    }
}

/// The entries of one section.
#[derive(Clone, Copy, Default)]
struct Table<'a> {
    data: &'a [u8],
    entry: usize,
}

impl<'a> Table<'a> {
    /// Not inlined: its division, inline at every table access, cost the
    /// init 456 bytes.
    #[inline(never)]
    fn len(&self) -> usize {
        self.data.len().checked_div(self.entry).unwrap_or(0)
    }

    /// Entry `i` (at least as long as the section's shape, once checked).
    fn rec(&self, i: usize) -> &'a [u8] {
        let start = i.saturating_mul(self.entry);
        self.data
            .get(start..start.saturating_add(self.entry))
            .unwrap_or(&[])
    }

    fn iter(self) -> impl Iterator<Item = &'a [u8]> + 'a {
        (0..self.len()).map(move |i| self.rec(i))
    }
}

/// The checked string table: every offset in range, NUL-terminated, UTF-8.
#[derive(Clone, Copy)]
struct Strings<'a>(&'a str);

impl<'a> Strings<'a> {
    fn cstr_at(self, off: u32) -> &'a CStr {
        let tail = self.0.as_bytes().get(off as usize..).unwrap_or(&[0]);
        CStr::from_bytes_until_nul(tail).unwrap_or(c"")
    }

    fn bytes_at(self, off: u32) -> &'a [u8] {
        self.str_at(off).as_bytes()
    }

    /// The string at `off`, without its NUL. The table was checked as UTF-8
    /// once; slicing it at a character boundary up to a NUL (one too) needs
    /// no other check. An offset inside a character gives "".
    fn str_at(self, off: u32) -> &'a str {
        let (bytes, start) = (self.0.as_bytes(), off as usize);
        let end = bytes
            .get(start..)
            .and_then(|tail| tail.iter().position(|&c| c == 0))
            .map_or(bytes.len(), |n| start + n);
        self.0.get(start..end).unwrap_or("")
    }

    /// The string in slot `r` of an entry.
    fn field(self, rec: &[u8], r: core::ops::Range<usize>) -> &'a str {
        self.str_at(u32_at(rec, r))
    }
}

/// A validated, read-only view of a blob's payload.
#[derive(Clone, Copy)]
pub struct Blob<'a> {
    strings: &'a str,
    tables: [Table<'a>; section::END],
    release: u32,
}

impl<'a> Blob<'a> {
    /// Check a stored blob and read its payload, inflating it into `buf` if
    /// needed (`buf` must then hold [`Stored::payload_len`] bytes).
    pub fn open(bytes: &'a [u8], buf: &'a mut [u8]) -> Result<Self, Error> {
        Blob::new_checked(Stored::new_checked(bytes)?.payload(buf)?)
    }

    /// Validate a payload completely and return a view of it.
    pub fn new_checked(bytes: &'a [u8]) -> Result<Self, Error> {
        let header = bytes.get(..PAYLOAD_HEADER_SIZE).ok_or(Error::Truncated)?;
        let nsec = u16_at(header, field::SECTIONS) as usize;
        let table_end = PAYLOAD_HEADER_SIZE + nsec * SECTION_SIZE;
        let descriptors = bytes
            .get(PAYLOAD_HEADER_SIZE..table_end)
            .ok_or(Error::Truncated)?;
        // A section read has an entry size of at least 1: 0 marks one absent.
        let mut tables = [Table::default(); section::END];
        for desc in descriptors.chunks_exact(SECTION_SIZE) {
            let kind = u16_at(desc, field::SEC_KIND);
            let entry = u16_at(desc, field::SEC_ENTRY_SIZE) as usize;
            let offset = u32_at(desc, field::SEC_OFFSET) as usize;
            let count = u32_at(desc, field::SEC_COUNT) as usize;
            let bad = Error::BadSection(kind);
            let len = count.checked_mul(entry).ok_or(bad)?;
            let end = offset.checked_add(len).ok_or(bad)?;
            if offset < table_end {
                return Err(bad);
            }
            let data = bytes.get(offset..end).ok_or(bad)?;
            let Some(&(min_entry, _)) = section::SHAPE.get(kind as usize).filter(|_| kind != 0)
            else {
                continue; // a later format's section: not ours to read
            };
            let min_entry = min_entry as usize;
            // Plain arrays (strings, u16 indices) have exactly their size.
            let exact = matches!(kind, section::STRINGS | section::DEPS);
            if entry < min_entry
                || (exact && entry != min_entry)
                || tables[kind as usize].entry != 0
            {
                return Err(bad);
            }
            tables[kind as usize] = Table { data, entry };
        }
        if let Some(&kind) = section::REQUIRED
            .iter()
            .find(|&&k| tables[k as usize].entry == 0)
        {
            return Err(Error::BadSection(kind));
        }

        // Strings: NUL-terminated table, offset 0 is "", all valid UTF-8, so any
        // in-range offset yields a valid &CStr and &str.
        let bytes = tables[section::STRINGS as usize].data;
        let strings = match core::str::from_utf8(bytes) {
            Ok(s) if bytes.first() == Some(&0) && bytes.last() == Some(&0) => s,
            _ => return Err(Error::BadString),
        };
        let string_ok = |off: u32| (off as usize) < strings.len();
        let release = u32_at(header, field::RELEASE);
        if !string_ok(release) {
            return Err(Error::BadString);
        }
        for (kind, &(_, fields)) in section::SHAPE.iter().enumerate() {
            for rec in tables[kind].iter() {
                if !(0..fields as usize).all(|f| string_ok(u32_at(rec, f * 4..f * 4 + 4))) {
                    return Err(Error::BadString);
                }
            }
        }

        let nmod = tables[section::MODULES as usize].len();
        if nmod > MAX_MODULES {
            return Err(Error::BadIndex);
        }
        let in_range = |start: usize, count: usize, len: usize| {
            start.checked_add(count).is_some_and(|end| end <= len)
        };
        let ndeps = tables[section::DEPS as usize].len();
        for rec in tables[section::MODULES as usize].iter() {
            let start = u32_at(rec, field::MOD_DEPS_START) as usize;
            if !in_range(start, u16_at(rec, field::MOD_DEPS_COUNT) as usize, ndeps) {
                return Err(Error::BadIndex);
            }
        }
        if !tables[section::DEPS as usize]
            .iter()
            .all(|c| (u16_at(c, 0..2) as usize) < nmod)
        {
            return Err(Error::BadIndex);
        }
        let naliases = tables[section::ALIASES as usize].len();
        if !tables[section::ALIAS_INDEX as usize]
            .iter()
            .all(|c| (u32_at(c, 0..4) as usize) < naliases)
        {
            return Err(Error::BadIndex);
        }
        let nnames = tables[section::SOFTDEP_NAMES as usize].len();
        for rec in tables[section::SOFTDEPS as usize].iter() {
            let count = u16_at(rec, field::SOFTDEP_PRE) as usize
                + u16_at(rec, field::SOFTDEP_POST) as usize;
            if !in_range(u32_at(rec, field::SOFTDEP_FIRST) as usize, count, nnames) {
                return Err(Error::BadIndex);
            }
        }
        let blob = Blob {
            strings,
            tables,
            release,
        };
        blob.check_order()?;
        Ok(blob)
    }

    /// The orders binary searches and rank-ordered results rely on.
    fn check_order(&self) -> Result<(), Error> {
        let increasing = |kind: u16| {
            let t = self.table(kind);
            let name = |i| self.bytes_at(u32_at(t.rec(i), field::STR0));
            (1..t.len()).all(|i| name(i - 1) < name(i))
        };
        let modules = self.table(section::MODULES);
        let normalised = modules
            .iter()
            .all(|r| !self.bytes_at(u32_at(r, field::STR0)).contains(&b'-'));
        if !increasing(section::MODULES) || !normalised {
            return Err(Error::Order(section::MODULES));
        }
        if !increasing(section::BUILTIN) {
            return Err(Error::Order(section::BUILTIN));
        }
        let aliases = self.table(section::ALIASES);
        let rank = |i| u32_at(aliases.rec(i), field::WORD2);
        if !(1..aliases.len()).all(|i| rank(i - 1) <= rank(i)) {
            return Err(Error::Order(section::ALIASES));
        }
        // The index: strictly increasing by (literal prefix, alias number),
        // and as long as the table. n distinct numbers below n: every alias
        // exactly once.
        let index = self.table(section::ALIAS_INDEX);
        let key = |i| {
            let a = u32_at(index.rec(i), 0..4) as usize;
            (
                crate::glob::literal_prefix(self.bytes_at(u32_at(aliases.rec(a), field::STR0))),
                a,
            )
        };
        let complete = index.len() == 0 || index.len() == aliases.len();
        if !complete || !(1..index.len()).all(|i| key(i - 1) < key(i)) {
            return Err(Error::Order(section::ALIAS_INDEX));
        }
        Ok(())
    }

    /// Not inlined: copying a table out of the array inline at every
    /// access cost the init 512 bytes.
    #[inline(never)]
    fn table(&self, kind: u16) -> Table<'a> {
        self.tables.get(kind as usize).copied().unwrap_or_default()
    }

    fn bytes_at(&self, off: u32) -> &'a [u8] {
        Strings(self.strings).bytes_at(off)
    }

    fn str_at(&self, off: u32) -> &'a str {
        Strings(self.strings).str_at(off)
    }

    fn str_field(&self, rec: &[u8], r: core::ops::Range<usize>) -> &'a str {
        Strings(self.strings).field(rec, r)
    }

    /// The first string field of every entry of a section.
    fn names(&self, kind: u16) -> impl Iterator<Item = &'a str> + 'a {
        let blob = *self;
        self.table(kind)
            .iter()
            .map(move |rec| blob.str_field(rec, field::STR0))
    }

    /// The first two string fields of every entry of a section.
    fn pairs(&self, kind: u16) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        let blob = *self;
        self.table(kind).iter().map(move |rec| {
            (
                blob.str_field(rec, field::STR0),
                blob.str_field(rec, field::STR1),
            )
        })
    }

    /// The kernel release the blob was built for.
    pub fn release(&self) -> &'a str {
        self.str_at(self.release)
    }

    /// Number of modules in the module table.
    pub fn module_count(&self) -> usize {
        self.table(section::MODULES).len()
    }

    /// The module at `index`, if there is one.
    pub fn module(&self, index: u16) -> Option<Module<'a>> {
        let table = self.table(section::MODULES);
        ((index as usize) < table.len()).then(|| Module {
            strings: Strings(self.strings),
            deps: self.table(section::DEPS),
            index,
            rec: table.rec(index as usize),
        })
    }

    /// All modules, in table (name) order.
    pub fn modules(&self) -> impl Iterator<Item = Module<'a>> + 'a {
        let blob = *self;
        (0..self.module_count() as u16).filter_map(move |i| blob.module(i))
    }

    /// Find a module by name; `-` and `_` are the same, as in kmod.
    pub fn find(&self, name: &[u8]) -> Option<Module<'a>> {
        let i = self.search(section::MODULES, name, crate::modname::cmp)?;
        self.module(i as u16)
    }

    /// Binary search of a table sorted by its first string field: the index
    /// of the entry `cmp` finds equal to `name`. One function for every
    /// sorted name table (modules, built-ins), not one per caller.
    #[inline(never)]
    fn search(&self, kind: u16, name: &[u8], cmp: fn(&[u8], &[u8]) -> Ordering) -> Option<usize> {
        let table = self.table(kind);
        let (mut lo, mut hi) = (0usize, table.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match cmp(self.bytes_at(u32_at(table.rec(mid), field::STR0)), name) {
                Ordering::Less => lo = mid + 1,
                Ordering::Greater => hi = mid,
                Ordering::Equal => return Some(mid),
            }
        }
        None
    }

    /// What to load at boot, in order: names or aliases, as given to modprobe.
    pub fn load_list(&self) -> impl Iterator<Item = &'a str> + 'a {
        self.names(section::LOAD)
    }

    /// modprobe.d `alias` lines: (pattern, target), in configuration order.
    pub fn config_aliases(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.pairs(section::CONFIG_ALIASES)
    }

    /// modules.alias: (pattern, target module, rank), by rank.
    pub fn aliases(&self) -> impl Iterator<Item = (&'a str, &'a str, u32)> + 'a {
        let blob = *self;
        (0..self.table(section::ALIASES).len()).filter_map(move |i| blob.alias(i))
    }

    /// modules.alias entry `i`: (pattern, target module, rank).
    pub fn alias(&self, i: usize) -> Option<(&'a str, &'a str, u32)> {
        let t = self.table(section::ALIASES);
        (i < t.len()).then(|| {
            let rec = t.rec(i);
            (
                self.str_field(rec, field::STR0),
                self.str_field(rec, field::STR1),
                u32_at(rec, field::WORD2),
            )
        })
    }

    /// Indices of the modules.alias entries whose pattern's literal prefix is
    /// exactly `prefix` (by binary search of ALIAS_INDEX), and whether any
    /// literal prefix at all starts with `prefix` (when none does, no longer
    /// prefix can match either). `None` when the blob has no index.
    pub fn aliases_with_prefix(
        &self,
        prefix: &[u8],
    ) -> Option<(impl Iterator<Item = usize> + 'a, bool)> {
        let index = self.table(section::ALIAS_INDEX);
        if index.len() == 0 && self.table(section::ALIASES).len() > 0 {
            return None;
        }
        let blob = *self;
        let aliases = self.table(section::ALIASES);
        let literal = move |i: usize| -> &'a [u8] {
            let a = u32_at(index.rec(i), 0..4) as usize;
            crate::glob::literal_prefix(blob.bytes_at(u32_at(aliases.rec(a), field::STR0)))
        };
        let (mut lo, mut hi) = (0usize, index.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if literal(mid) < prefix {
                lo = mid + 1
            } else {
                hi = mid
            }
        }
        let extends = lo < index.len() && literal(lo).starts_with(prefix);
        let end = (lo..index.len())
            .find(|&i| literal(i) != prefix)
            .unwrap_or(index.len());
        Some((
            (lo..end).map(move |i| u32_at(index.rec(i), 0..4) as usize),
            extends,
        ))
    }

    /// Built-in module names, sorted.
    pub fn builtin(&self) -> impl Iterator<Item = &'a str> + 'a {
        self.names(section::BUILTIN)
    }

    /// Whether `name` (normalised) is built into the kernel.
    pub fn is_builtin(&self, name: &[u8]) -> bool {
        self.search(section::BUILTIN, name, <[u8]>::cmp).is_some()
    }

    /// Aliases of built-in modules: (pattern, module).
    pub fn builtin_aliases(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.pairs(section::BUILTIN_ALIASES)
    }

    /// The built-in aliases that may match `key`: those whose literal start
    /// does not already rule it out ([`crate::glob::excludes`], which reads a
    /// pattern only up to its first difference: most names match no
    /// built-in alias, and most patterns differ from them in the first byte).
    pub fn builtin_aliases_for<'k>(
        &self,
        key: &'k [u8],
    ) -> impl Iterator<Item = (&'a str, &'a str)> + 'k
    where
        'a: 'k,
    {
        let blob = *self;
        self.table(section::BUILTIN_ALIASES)
            .iter()
            .filter(move |rec| {
                let off = u32_at(rec, field::STR0) as usize;
                let head = blob.strings.as_bytes().get(off..).unwrap_or(&[]);
                !crate::glob::excludes(head, key)
            })
            .map(move |rec| {
                (
                    blob.str_field(rec, field::STR0),
                    blob.str_field(rec, field::STR1),
                )
            })
    }

    /// modprobe.d `options` lines: (module or alias name, text), in order.
    pub fn options(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.pairs(section::OPTIONS)
    }

    /// modprobe.d `install`/`remove` lines: (kind, name pattern, command), in order.
    pub fn commands(&self) -> impl Iterator<Item = (u32, &'a str, &'a str)> + 'a {
        let blob = *self;
        self.table(section::COMMANDS).iter().map(move |rec| {
            (
                u32_at(rec, field::WORD2),
                blob.str_field(rec, field::STR0),
                blob.str_field(rec, field::STR1),
            )
        })
    }

    /// `softdep` lines, in kmod's file order.
    pub fn softdeps(&self) -> impl Iterator<Item = Softdep<'a>> + 'a {
        let blob = *self;
        self.table(section::SOFTDEPS)
            .iter()
            .map(move |rec| Softdep {
                strings: Strings(blob.strings),
                names: blob.table(section::SOFTDEP_NAMES),
                rec,
            })
    }

    /// modprobe.d `blacklist` names, in order.
    pub fn blacklist(&self) -> impl Iterator<Item = &'a str> + 'a {
        self.names(section::BLACKLIST)
    }
}

/// One module record (with what reading it needs: strings and DEPS).
#[derive(Clone, Copy)]
pub struct Module<'a> {
    strings: Strings<'a>,
    deps: Table<'a>,
    index: u16,
    rec: &'a [u8],
}

impl<'a> Module<'a> {
    pub fn index(&self) -> u16 {
        self.index
    }

    /// The normalised module name (`virtio_blk`).
    pub fn name(&self) -> &'a str {
        self.strings.field(self.rec, field::STR0)
    }

    /// Path relative to `/lib/modules/<release>`, NUL-terminated for syscalls.
    pub fn path(&self) -> &'a CStr {
        self.strings.cstr_at(u32_at(self.rec, field::STR1))
    }

    /// Every module this one depends on, in load order (the first loads first).
    pub fn deps(&self) -> impl Iterator<Item = u16> + 'a {
        let start = u32_at(self.rec, field::MOD_DEPS_START) as usize;
        let count = u16_at(self.rec, field::MOD_DEPS_COUNT) as usize;
        let deps = self.deps;
        (start..start + count).map(move |i| u16_at(deps.rec(i), 0..2))
    }
}

/// One `softdep` line (with the strings and SOFTDEP_NAMES it refers to).
#[derive(Clone, Copy)]
pub struct Softdep<'a> {
    strings: Strings<'a>,
    names: Table<'a>,
    rec: &'a [u8],
}

impl<'a> Softdep<'a> {
    /// The module-name pattern it applies to.
    pub fn pattern(&self) -> &'a str {
        self.strings.field(self.rec, field::STR0)
    }

    fn list(&self, skip: usize, count: usize) -> impl Iterator<Item = &'a str> + 'a {
        let (names, strings) = (self.names, self.strings);
        let first = u32_at(self.rec, field::SOFTDEP_FIRST) as usize + skip;
        (first..first + count).map(move |i| strings.field(names.rec(i), field::STR0))
    }

    /// Whether it names no module at all (neither `pre:` nor `post:`).
    pub fn is_empty(&self) -> bool {
        u16_at(self.rec, field::SOFTDEP_PRE) == 0 && u16_at(self.rec, field::SOFTDEP_POST) == 0
    }

    /// Names to load before the module.
    pub fn pre(&self) -> impl Iterator<Item = &'a str> + 'a {
        self.list(0, u16_at(self.rec, field::SOFTDEP_PRE) as usize)
    }

    /// Names to load after the module.
    pub fn post(&self) -> impl Iterator<Item = &'a str> + 'a {
        let pre = u16_at(self.rec, field::SOFTDEP_PRE) as usize;
        self.list(pre, u16_at(self.rec, field::SOFTDEP_POST) as usize)
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
