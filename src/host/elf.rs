//! What mkmodboot reads of ELF files: the header of the init and of a
//! module (class, type, machine), a module's `.modinfo` section (the
//! `key=value` strings `modinfo(8)` prints: `vermagic=`, `firmware=`, ...),
//! and what the dynamic loader reads of a program or shared library packed
//! with its libraries ([`dynamic`]: `PT_INTERP`, `DT_NEEDED`, `DT_RPATH`,
//! `DT_RUNPATH`, `DT_SONAME`; [`undefined_symbols`]: `.dynsym`).
//!
//! ```text
//! e_ident[0..4]   "\x7fELF"
//! e_ident[4]      class: 1 = 32-bit, 2 = 64-bit
//! e_ident[5]      data: 1 = little-endian, 2 = big-endian
//! e_type          u16 at 16: 1 = ET_REL (a module), 2 = ET_EXEC (the static init)
//! e_machine       u16 at 18
//! e_shoff         at 32 (32-bit) / 40 (64-bit); e_shentsize, e_shnum, e_shstrndx
//!                 at 46/48/50 (32-bit) or 58/60/62 (64-bit)
//! section header  name u32 at 0; offset at 16 (32-bit) / 24 (64-bit);
//!                 size at 20 (32-bit) / 32 (64-bit)
//!
//! e_phoff         at 28 (32-bit) / 32 (64-bit); e_phentsize, e_phnum at
//!                 42/44 (32-bit) or 54/56 (64-bit)
//! program header  p_type u32 at 0; 32-bit: p_offset 4, p_vaddr 8,
//!                 p_filesz 16; 64-bit: p_offset 8, p_vaddr 16, p_filesz 32
//! PT_INTERP (3)   the interpreter's path, NUL-terminated, at p_offset
//! PT_DYNAMIC (2)  (d_tag, d_val) pairs of two words up to DT_NULL; string
//!                 values are offsets into DT_STRTAB, an address that a
//!                 PT_LOAD (1) maps to a file offset; DT_STRSZ its size
//! section header  sh_type u32 at 4; sh_link at 24 (32-bit) / 40 (64-bit),
//!   (symbols)     sh_entsize at 36 / 56. SHT_DYNSYM (11) is `.dynsym`; its
//!                 sh_link is the section of its names
//! symbol          32-bit (16 bytes): st_name u32 at 0, st_shndx u16 at 14;
//!                 64-bit (24 bytes): st_name at 0, st_shndx at 6;
//!                 st_shndx 0 (SHN_UNDEF): defined elsewhere
//! ```
//!
//! Every read is checked: a damaged file is an error naming what is wrong,
//! never a panic.

/// `e_type` values mkmodboot cares about.
pub const ET_REL: u16 = 1;
pub const ET_EXEC: u16 = 2;

/// The parts of an ELF header that say what a file is and runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub class64: bool,
    pub little: bool,
    pub kind: u16,
    pub machine: u16,
}

/// The machines modboot's init is built for, by `e_machine`, with the
/// name `uname -m` gives them (the init's file name under the library
/// directory: `init-<name>`).
pub const MACHINES: &[(u16, &str)] = &[(62, "x86_64"), (183, "aarch64"), (243, "riscv64")];

/// `uname -m`'s name of a machine, or its number.
pub fn machine_name(machine: u16) -> String {
    MACHINES
        .iter()
        .find(|(m, _)| *m == machine)
        .map_or_else(|| format!("ELF machine {machine}"), |(_, n)| n.to_string())
}

/// The `e_machine` of a `uname -m` name.
pub fn machine_of(name: &str) -> Option<u16> {
    MACHINES.iter().find(|(_, n)| *n == name).map(|(m, _)| *m)
}

fn uint(b: &[u8], at: usize, len: usize, little: bool) -> Option<u64> {
    let bytes = b.get(at..at.checked_add(len)?)?;
    let mut v = 0u64;
    for i in 0..len {
        let byte = if little { bytes[len - 1 - i] } else { bytes[i] };
        v = v << 8 | u64::from(byte);
    }
    Some(v)
}

impl Header {
    /// The header of `b`, or why it is not an ELF file.
    pub fn parse(b: &[u8]) -> Result<Header, &'static str> {
        if !b.starts_with(b"\x7fELF") {
            return Err("not an ELF file");
        }
        let (class64, little) = match (b.get(4), b.get(5)) {
            (Some(1), Some(d @ (1 | 2))) => (false, *d == 1),
            (Some(2), Some(d @ (1 | 2))) => (true, *d == 1),
            _ => return Err("an ELF file of unknown class or byte order"),
        };
        let half = |at| uint(b, at, 2, little).map(|v| v as u16);
        match (half(16), half(18)) {
            (Some(kind), Some(machine)) => Ok(Header {
                class64,
                little,
                kind,
                machine,
            }),
            _ => Err("a truncated ELF header"),
        }
    }

    /// "64-bit executable for x86_64" and the like.
    pub fn describe(&self) -> String {
        let kind = match self.kind {
            ET_REL => "relocatable object",
            ET_EXEC => "static executable",
            3 => "shared object or PIE",
            _ => "ELF file",
        };
        format!(
            "{}-bit {kind} for {}",
            if self.class64 { 64 } else { 32 },
            machine_name(self.machine)
        )
    }
}

/// The contents of the section named `name` in the ELF file `b`, if it has one.
pub fn section<'a>(b: &'a [u8], name: &str) -> Result<Option<&'a [u8]>, &'static str> {
    const BAD: &str = "a damaged ELF section table";
    let h = Header::parse(b)?;
    let word = |at: usize, len: usize| uint(b, at, len, h.little).ok_or(BAD);
    let (w, shoff, sizes) = if h.class64 {
        (8, word(40, 8)?, 58)
    } else {
        (4, word(32, 4)?, 46)
    };
    let entsize = word(sizes, 2)? as usize;
    let count = word(sizes + 2, 2)? as usize;
    let strndx = word(sizes + 4, 2)? as usize;
    let shdr = |i: usize| -> Result<(u64, usize, usize), &'static str> {
        let at = usize::try_from(shoff)
            .ok()
            .and_then(|o| o.checked_add(i.checked_mul(entsize)?))
            .ok_or(BAD)?;
        let name = word(at, 4)?;
        let (offset, size) = (word(at + 8 + 2 * w, w)?, word(at + 8 + 3 * w, w)?);
        Ok((name, offset as usize, size as usize))
    };
    let slice = |offset: usize, size: usize| {
        b.get(offset..offset.checked_add(size).ok_or(BAD)?)
            .ok_or(BAD)
    };
    if count == 0 {
        return Ok(None);
    }
    let (_, str_off, str_size) = shdr(strndx)?;
    let names = slice(str_off, str_size)?;
    for i in 0..count {
        let (n, offset, size) = shdr(i)?;
        let rest = names.get(n as usize..).ok_or(BAD)?;
        let end = rest.iter().position(|&c| c == 0).ok_or(BAD)?;
        if &rest[..end] == name.as_bytes() {
            return slice(offset, size).map(Some);
        }
    }
    Ok(None)
}

/// The values of `key` in a module's `.modinfo` section, in order (as
/// `modinfo -F key` prints them).
pub fn modinfo<'a>(module: &'a [u8], key: &str) -> Result<Vec<&'a str>, &'static str> {
    let Some(info) = section(module, ".modinfo")? else {
        return Ok(Vec::new());
    };
    Ok(info
        .split(|&c| c == 0)
        .filter_map(|kv| std::str::from_utf8(kv).ok())
        .filter_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
        .collect())
}

/// The kernel release a module was built for: the first word of its
/// `vermagic` (`6.1.0-57-cloud-amd64 SMP mod_unload modversions`).
pub fn vermagic_release(module: &[u8]) -> Result<Option<String>, &'static str> {
    Ok(modinfo(module, "vermagic")?
        .first()
        .and_then(|v| v.split_whitespace().next())
        .map(str::to_string))
}

const DAMAGED_PHDRS: &str = "a damaged ELF program header table";
const DAMAGED_DYNAMIC: &str = "a damaged ELF dynamic section";
const DAMAGED_DYNSYM: &str = "a damaged ELF dynamic symbol table";

/// `p_type` of the program header that holds the dynamic section.
pub const PT_DYNAMIC: u32 = 2;
/// `p_type` of the program header that names the program interpreter.
pub const PT_INTERP: u32 = 3;
const PT_LOAD: u32 = 1;
const DT_NULL: u64 = 0;
const DT_NEEDED: u64 = 1;
const DT_STRTAB: u64 = 5;
const DT_STRSZ: u64 = 10;
const DT_SONAME: u64 = 14;
const DT_RPATH: u64 = 15;
const DT_RUNPATH: u64 = 29;
const SHT_DYNSYM: u64 = 11;

/// What the dynamic loader reads of a program or shared object: its
/// interpreter and its dynamic section's names. Search paths are split at
/// `:` as the loader splits them, not yet expanded (`$ORIGIN` stays);
/// empty elements (the current directory, to ld.so) are dropped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Dynamic {
    /// `PT_INTERP`: the program interpreter's path (`/lib64/ld-linux-x86-64.so.2`).
    pub interp: Option<String>,
    /// Whether the file has a `PT_DYNAMIC` (a static executable has none).
    pub is_dynamic: bool,
    /// `DT_NEEDED`, in order.
    pub needed: Vec<String>,
    /// `DT_RPATH`, every such entry's elements in order.
    pub rpath: Vec<String>,
    /// `DT_RUNPATH`, likewise.
    pub runpath: Vec<String>,
    /// `DT_SONAME`.
    pub soname: Option<String>,
}

/// One program header: type, file offset, virtual address, size in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Phdr {
    kind: u32,
    offset: u64,
    vaddr: u64,
    filesz: u64,
}

/// One section header: type, file offset, size, link, entry size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Shdr {
    kind: u64,
    offset: u64,
    size: u64,
    link: u64,
    entsize: u64,
}

/// `b[offset..offset + size]`, checked.
fn bytes_at(b: &[u8], offset: u64, size: u64) -> Option<&[u8]> {
    let start = usize::try_from(offset).ok()?;
    let end = start.checked_add(usize::try_from(size).ok()?)?;
    b.get(start..end)
}

/// The NUL-terminated string at the start of `b`, as UTF-8.
fn c_str(b: &[u8]) -> Option<&str> {
    let end = b.iter().position(|&c| c == 0)?;
    std::str::from_utf8(&b[..end]).ok()
}

/// Every program header of `b` (an empty list when there is no table).
fn program_headers(b: &[u8], h: &Header) -> Result<Vec<Phdr>, &'static str> {
    let word = |at: u64, len: usize| {
        usize::try_from(at)
            .ok()
            .and_then(|at| uint(b, at, len, h.little))
            .ok_or(DAMAGED_PHDRS)
    };
    let (w, phoff, sizes) = if h.class64 {
        (8, word(32, 8)?, 54)
    } else {
        (4, word(28, 4)?, 42)
    };
    let entsize = word(sizes, 2)?;
    let count = word(sizes + 2, 2)?;
    if count == 0 {
        return Ok(Vec::new());
    }
    // p_offset, p_vaddr and p_filesz as the layout at the top says.
    let (at_offset, at_vaddr, at_filesz) = if h.class64 { (8, 16, 32) } else { (4, 8, 16) };
    if entsize < at_filesz + w {
        return Err(DAMAGED_PHDRS);
    }
    let mut out = Vec::new();
    for i in 0..count {
        let at = phoff.checked_add(i * entsize).ok_or(DAMAGED_PHDRS)?;
        out.push(Phdr {
            kind: word(at, 4)? as u32,
            offset: word(at.saturating_add(at_offset), w as usize)?,
            vaddr: word(at.saturating_add(at_vaddr), w as usize)?,
            filesz: word(at.saturating_add(at_filesz), w as usize)?,
        });
    }
    Ok(out)
}

/// The file bytes from the address `vaddr` to the end of the `PT_LOAD`
/// segment that maps it, as the loader would see them.
fn mapped<'a>(b: &'a [u8], loads: &[Phdr], vaddr: u64) -> Option<&'a [u8]> {
    let p = loads
        .iter()
        .find(|p| p.kind == PT_LOAD && vaddr >= p.vaddr && vaddr - p.vaddr < p.filesz)?;
    let skip = vaddr - p.vaddr;
    bytes_at(b, p.offset.checked_add(skip)?, p.filesz - skip)
}

/// What the dynamic loader reads of the ELF file `b`: see [`Dynamic`]. A
/// file without program headers (a module) gives an empty [`Dynamic`].
pub fn dynamic(b: &[u8]) -> Result<Dynamic, &'static str> {
    let h = Header::parse(b)?;
    let phdrs = program_headers(b, &h)?;
    let mut out = Dynamic::default();
    if let Some(p) = phdrs.iter().find(|p| p.kind == PT_INTERP) {
        let path = bytes_at(b, p.offset, p.filesz)
            .and_then(c_str)
            .filter(|s| !s.is_empty())
            .ok_or("a damaged ELF program interpreter (PT_INTERP)")?;
        out.interp = Some(path.to_string());
    }
    let Some(p) = phdrs.iter().find(|p| p.kind == PT_DYNAMIC) else {
        return Ok(out);
    };
    out.is_dynamic = true;
    let table = bytes_at(b, p.offset, p.filesz).ok_or(DAMAGED_DYNAMIC)?;
    let w = if h.class64 { 8 } else { 4 };
    let mut entries = Vec::new();
    let (mut strtab, mut strsz) = (None, None);
    for e in table.chunks_exact(2 * w) {
        let tag = uint(e, 0, w, h.little).ok_or(DAMAGED_DYNAMIC)?;
        let val = uint(e, w, w, h.little).ok_or(DAMAGED_DYNAMIC)?;
        match tag {
            DT_NULL => break,
            DT_STRTAB => strtab = Some(val),
            DT_STRSZ => strsz = Some(val),
            DT_NEEDED | DT_SONAME | DT_RPATH | DT_RUNPATH => entries.push((tag, val)),
            _ => {}
        }
    }
    if entries.is_empty() {
        return Ok(out);
    }
    let strings = strtab
        .and_then(|a| mapped(b, &phdrs, a))
        .ok_or("an ELF dynamic section whose string table (DT_STRTAB) is not in the file")?;
    let strings = match strsz {
        Some(n) => strings
            .get(..usize::try_from(n).unwrap_or(usize::MAX))
            .ok_or("an ELF dynamic string table longer than its segment (DT_STRSZ)")?,
        None => strings,
    };
    for (tag, val) in entries {
        let s = usize::try_from(val)
            .ok()
            .and_then(|at| strings.get(at..))
            .and_then(c_str)
            .ok_or("a name outside the ELF dynamic string table, or not UTF-8")?;
        let words = || s.split(':').filter(|p| !p.is_empty()).map(str::to_string);
        match tag {
            DT_NEEDED if s.is_empty() => return Err("an empty DT_NEEDED name"),
            DT_NEEDED => out.needed.push(s.to_string()),
            // An empty name names nothing.
            DT_SONAME => out.soname = (!s.is_empty()).then(|| s.to_string()),
            DT_RPATH => out.rpath.extend(words()),
            _ => out.runpath.extend(words()),
        }
    }
    Ok(out)
}

/// Every section header of `b` (an empty list when there is no table).
fn section_headers(b: &[u8], h: &Header) -> Result<Vec<Shdr>, &'static str> {
    const BAD: &str = "a damaged ELF section table";
    let word = |at: u64, len: usize| {
        usize::try_from(at)
            .ok()
            .and_then(|at| uint(b, at, len, h.little))
            .ok_or(BAD)
    };
    let (w, shoff, sizes) = if h.class64 {
        (8, word(40, 8)?, 58)
    } else {
        (4, word(32, 4)?, 46)
    };
    let entsize = word(sizes, 2)?;
    let count = word(sizes + 2, 2)?;
    // sh_offset, sh_size, sh_link, sh_entsize: 16/20/24/36 or 24/32/40/56.
    let (at_offset, at_size, at_link, at_entsize) = if h.class64 {
        (24, 32, 40, 56)
    } else {
        (16, 20, 24, 36)
    };
    if count > 0 && entsize < at_entsize + w {
        return Err(BAD);
    }
    let mut out = Vec::new();
    for i in 0..count {
        let at = shoff.checked_add(i * entsize).ok_or(BAD)?;
        out.push(Shdr {
            kind: word(at.saturating_add(4), 4)?,
            offset: word(at.saturating_add(at_offset), w as usize)?,
            size: word(at.saturating_add(at_size), w as usize)?,
            link: word(at.saturating_add(at_link), 4)?,
            entsize: word(at.saturating_add(at_entsize), w as usize)?,
        });
    }
    Ok(out)
}

/// The names of the undefined symbols in `b`'s dynamic symbol table
/// (`.dynsym`, the section of type `SHT_DYNSYM`): the functions and data it
/// takes from other objects, without their versions (`pthread_exit`, as
/// `nm -D --undefined-only` prints `pthread_exit@GLIBC_2.2.5`). A file
/// without section headers or without `.dynsym` gives an empty list.
pub fn undefined_symbols(b: &[u8]) -> Result<Vec<String>, &'static str> {
    let h = Header::parse(b)?;
    let shdrs = section_headers(b, &h)?;
    let Some(dynsym) = shdrs.iter().find(|s| s.kind == SHT_DYNSYM) else {
        return Ok(Vec::new());
    };
    let symbols = bytes_at(b, dynsym.offset, dynsym.size).ok_or(DAMAGED_DYNSYM)?;
    let names = usize::try_from(dynsym.link)
        .ok()
        .and_then(|i| shdrs.get(i))
        .and_then(|s| bytes_at(b, s.offset, s.size))
        .ok_or(DAMAGED_DYNSYM)?;
    let (size, at_shndx) = if h.class64 { (24, 6) } else { (16, 14) };
    if dynsym.entsize != size as u64 {
        return Err(DAMAGED_DYNSYM);
    }
    let mut out = Vec::new();
    // Symbol 0 is the null symbol.
    for sym in symbols.chunks_exact(size).skip(1) {
        let name = uint(sym, 0, 4, h.little).ok_or(DAMAGED_DYNSYM)?;
        let shndx = uint(sym, at_shndx, 2, h.little).ok_or(DAMAGED_DYNSYM)?;
        if shndx != 0 || name == 0 {
            continue;
        }
        let name = usize::try_from(name)
            .ok()
            .and_then(|at| names.get(at..))
            .and_then(c_str)
            .ok_or(DAMAGED_DYNSYM)?;
        // A name at a NUL names nothing.
        if !name.is_empty() {
            out.push(name.to_string());
        }
    }
    Ok(out)
}

/// A small dynamic ELF object laid out by hand as the layout at the top
/// says, for tests here and in `programs`: one `PT_LOAD` over the whole
/// file, `PT_INTERP` when `interp` is given, `PT_DYNAMIC` with the
/// `(tag, string)` entries (DT_NEEDED 1, DT_SONAME 14, DT_RPATH 15,
/// DT_RUNPATH 29), and a `.dynsym` whose symbols are all undefined.
#[cfg(test)]
pub(crate) fn build_dynamic(
    class64: bool,
    little: bool,
    machine: u16,
    interp: Option<&str>,
    dynamic: &[(u64, &str)],
    undefined: &[&str],
) -> Vec<u8> {
    let w = if class64 { 8 } else { 4 };
    let put = |b: &mut Vec<u8>, v: u64, len: usize| {
        let bytes = v.to_be_bytes();
        let mut word = bytes[8 - len..].to_vec();
        if little {
            word.reverse();
        }
        b.extend_from_slice(&word);
    };
    let (ehsize, phentsize, shentsize, symsize) = if class64 {
        (64, 56, 64, 24)
    } else {
        (52, 32, 40, 16)
    };
    let base = 0x10000u64;
    let phnum = 3u64;
    let interp_off = ehsize + phnum * phentsize;
    let interp_bytes: Vec<u8> = interp.map_or(Vec::new(), |i| [i.as_bytes(), b"\0"].concat());
    let mut dynstr = vec![0u8];
    let mut string = |s: &str| {
        let at = dynstr.len() as u64;
        dynstr.extend_from_slice(s.as_bytes());
        dynstr.push(0);
        at
    };
    let entries: Vec<(u64, u64)> = dynamic.iter().map(|(t, s)| (*t, string(s))).collect();
    let names: Vec<u64> = undefined.iter().map(|s| string(s)).collect();
    let dynstr_off = interp_off + interp_bytes.len() as u64;
    let dyn_off = (dynstr_off + dynstr.len() as u64).next_multiple_of(8);
    let dyn_size = (entries.len() as u64 + 3) * 2 * w;
    let sym_off = dyn_off + dyn_size;
    let sym_size = (names.len() as u64 + 1) * symsize;
    let sh_off = sym_off + sym_size;
    let total = sh_off + 3 * shentsize;

    let mut b = Vec::new();
    b.extend_from_slice(b"\x7fELF");
    b.push(if class64 { 2 } else { 1 });
    b.push(if little { 1 } else { 2 });
    b.push(1);
    b.resize(16, 0);
    put(&mut b, 3, 2); // ET_DYN
    put(&mut b, u64::from(machine), 2);
    put(&mut b, 1, 4);
    put(&mut b, 0, w as usize); // e_entry
    put(&mut b, ehsize, w as usize); // e_phoff
    put(&mut b, sh_off, w as usize); // e_shoff
    put(&mut b, 0, 4); // e_flags
    put(&mut b, ehsize, 2);
    put(&mut b, phentsize, 2);
    put(&mut b, phnum, 2);
    put(&mut b, shentsize, 2);
    put(&mut b, 3, 2); // e_shnum
    put(&mut b, 0, 2); // e_shstrndx
    assert_eq!(b.len() as u64, ehsize);
    let interp_type = if interp.is_some() {
        u64::from(PT_INTERP)
    } else {
        6
    };
    for (kind, off, size) in [
        (u64::from(PT_LOAD), 0, total),
        (interp_type, interp_off, interp_bytes.len() as u64),
        (u64::from(PT_DYNAMIC), dyn_off, dyn_size),
    ] {
        put(&mut b, kind, 4);
        if class64 {
            put(&mut b, 4, 4); // p_flags
        }
        put(&mut b, off, w as usize);
        put(&mut b, base + off, w as usize);
        put(&mut b, base + off, w as usize);
        put(&mut b, size, w as usize);
        put(&mut b, size, w as usize);
        if !class64 {
            put(&mut b, 4, 4);
        }
        put(&mut b, 8, w as usize);
    }
    b.extend_from_slice(&interp_bytes);
    b.extend_from_slice(&dynstr);
    b.resize(dyn_off as usize, 0);
    let strsz = dynstr.len() as u64;
    for (tag, val) in entries.into_iter().chain([
        (DT_STRTAB, base + dynstr_off),
        (DT_STRSZ, strsz),
        (DT_NULL, 0),
    ]) {
        put(&mut b, tag, w as usize);
        put(&mut b, val, w as usize);
    }
    b.resize((sym_off + symsize) as usize, 0);
    for name in names {
        put(&mut b, name, 4);
        if class64 {
            put(&mut b, 0x12, 1); // STB_GLOBAL, STT_FUNC
            put(&mut b, 0, 1);
            put(&mut b, 0, 2); // SHN_UNDEF
            put(&mut b, 0, 8); // st_value
            put(&mut b, 0, 8); // st_size
        } else {
            put(&mut b, 0, 8);
            put(&mut b, 0x12, 1);
            put(&mut b, 0, 1);
            put(&mut b, 0, 2);
        }
    }
    assert_eq!(b.len() as u64, sh_off);
    b.resize((sh_off + shentsize) as usize, 0);
    for (kind, off, size, link, entsize) in [
        (SHT_DYNSYM, sym_off, sym_size, 2, symsize),
        (3, dynstr_off, strsz, 0, 0),
    ] {
        put(&mut b, 0, 4); // sh_name
        put(&mut b, kind, 4);
        put(&mut b, 2, w as usize); // sh_flags
        put(&mut b, base + off, w as usize);
        put(&mut b, off, w as usize);
        put(&mut b, size, w as usize);
        put(&mut b, link, 4);
        put(&mut b, 0, 4);
        put(&mut b, 8, w as usize);
        put(&mut b, entsize, w as usize);
    }
    assert_eq!(b.len() as u64, total);
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A little 64-bit ELF relocatable object with a `.modinfo` section,
    /// laid out by hand as the layout at the top says.
    fn module(machine: u16, modinfo: &[u8]) -> Vec<u8> {
        let shstr = b"\0.modinfo\0.shstrtab\0";
        let mut b = vec![0u8; 64];
        b[..6].copy_from_slice(b"\x7fELF\x02\x01");
        b[16..18].copy_from_slice(&ET_REL.to_le_bytes());
        b[18..20].copy_from_slice(&machine.to_le_bytes());
        let info_off = b.len();
        b.extend_from_slice(modinfo);
        let str_off = b.len();
        b.extend_from_slice(shstr);
        let shoff = b.len();
        b[40..48].copy_from_slice(&(shoff as u64).to_le_bytes());
        b[58..60].copy_from_slice(&64u16.to_le_bytes());
        b[60..62].copy_from_slice(&3u16.to_le_bytes());
        b[62..64].copy_from_slice(&2u16.to_le_bytes());
        for (name, off, size) in [
            (0u32, 0usize, 0usize),
            (1, info_off, modinfo.len()),
            (10, str_off, shstr.len()),
        ] {
            let mut sh = [0u8; 64];
            sh[..4].copy_from_slice(&name.to_le_bytes());
            sh[24..32].copy_from_slice(&(off as u64).to_le_bytes());
            sh[32..40].copy_from_slice(&(size as u64).to_le_bytes());
            b.extend_from_slice(&sh);
        }
        b
    }

    #[test]
    fn reads_header_and_modinfo() {
        let m = module(
            62,
            b"license=GPL\0firmware=a.bin\0vermagic=6.1.0-57-amd64 SMP mod_unload \0firmware=b/c.fw\0",
        );
        let h = Header::parse(&m).unwrap();
        assert_eq!(
            (h.class64, h.little, h.kind, h.machine),
            (true, true, ET_REL, 62)
        );
        assert_eq!(h.describe(), "64-bit relocatable object for x86_64");
        assert_eq!(modinfo(&m, "firmware").unwrap(), ["a.bin", "b/c.fw"]);
        assert_eq!(
            vermagic_release(&m).unwrap().as_deref(),
            Some("6.1.0-57-amd64")
        );
        assert_eq!(modinfo(&m, "author").unwrap(), Vec::<&str>::new());
    }

    #[test]
    fn damage_is_an_error_not_a_panic() {
        let m = module(183, b"vermagic=6.12.1 SMP\0");
        assert_eq!(Header::parse(b"#!/bin/sh\n"), Err("not an ELF file"));
        assert_eq!(
            Header::parse(b"\x7fELF\x02\x01"),
            Err("a truncated ELF header")
        );
        for cut in 0..m.len() {
            // Every prefix either fails cleanly or, once the section table is
            // whole, finds the section.
            let _ = vermagic_release(&m[..cut]);
        }
        let mut bad = m.clone();
        bad[40..48].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(vermagic_release(&bad).is_err());
        assert_eq!(vermagic_release(&m).unwrap().as_deref(), Some("6.12.1"));
    }

    #[test]
    fn machine_names() {
        assert_eq!(machine_name(243), "riscv64");
        assert_eq!(machine_of("aarch64"), Some(183));
        assert_eq!(machine_name(40), "ELF machine 40");
    }
    /// The test program itself, a real dynamic executable, read as
    /// `readelf -d` and `nm -D --undefined-only` read it.
    #[test]
    fn reads_a_real_dynamic_section() {
        let me = std::env::current_exe().unwrap();
        let b = std::fs::read(&me).unwrap();
        let d = dynamic(&b).unwrap();
        assert!(d.is_dynamic);
        assert!(d.needed.iter().any(|n| n.starts_with("libc.so")), "{d:?}");
        assert!(
            d.interp.as_deref().is_some_and(|i| i.contains("ld")),
            "{d:?}"
        );
        let undefined = undefined_symbols(&b).unwrap();
        assert!(undefined.iter().any(|s| s == "malloc"), "{undefined:?}");
        let Ok(out) = std::process::Command::new("readelf")
            .arg("-dW")
            .arg(&me)
            .output()
        else {
            eprintln!("readelf not installed; compared with nothing");
            return;
        };
        let text = String::from_utf8_lossy(&out.stdout);
        let theirs: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("(NEEDED)"))
            .filter_map(|l| l.split('[').nth(1)?.split(']').next())
            .collect();
        assert_eq!(d.needed, theirs);
    }

    /// Both classes and byte orders, the dynamic names and the undefined
    /// symbols as written; every cut and every damaged byte is an error or
    /// a result, never a panic.
    #[test]
    fn dynamic_in_every_class_and_byte_order() {
        for (class64, little) in [(true, true), (true, false), (false, true), (false, false)] {
            let b = build_dynamic(
                class64,
                little,
                62,
                Some("/lib64/ld-linux-x86-64.so.2"),
                &[
                    (DT_NEEDED, "libfoo.so.1"),
                    (DT_RUNPATH, "$ORIGIN/../lib::/opt/x"),
                    (DT_NEEDED, "libc.so.6"),
                    (DT_SONAME, "libbar.so.2"),
                    (DT_RPATH, "/r"),
                ],
                &["pthread_exit", "malloc"],
            );
            let h = Header::parse(&b).unwrap();
            assert_eq!(
                (h.class64, h.little, h.kind, h.machine),
                (class64, little, 3, 62)
            );
            let d = dynamic(&b).unwrap();
            assert_eq!(
                d,
                Dynamic {
                    interp: Some("/lib64/ld-linux-x86-64.so.2".into()),
                    is_dynamic: true,
                    needed: vec!["libfoo.so.1".into(), "libc.so.6".into()],
                    rpath: vec!["/r".into()],
                    runpath: vec!["$ORIGIN/../lib".into(), "/opt/x".into()],
                    soname: Some("libbar.so.2".into()),
                }
            );
            assert_eq!(undefined_symbols(&b).unwrap(), ["pthread_exit", "malloc"]);
            for cut in 0..b.len() {
                let _ = dynamic(&b[..cut]);
                let _ = undefined_symbols(&b[..cut]);
            }
            for at in 0..b.len() {
                let mut bad = b.clone();
                bad[at] ^= 0xff;
                let _ = dynamic(&bad);
                let _ = undefined_symbols(&bad);
            }
        }
        assert_eq!(
            dynamic(&build_dynamic(true, true, 62, None, &[], &[]))
                .unwrap()
                .interp,
            None
        );
    }

    #[test]
    fn damaged_dynamic_sections_say_what_is_wrong() {
        let b = build_dynamic(
            true,
            true,
            62,
            Some("/ld.so"),
            &[(DT_NEEDED, "libx.so")],
            &[],
        );
        // The program header table past the end of the file.
        let mut bad = b.clone();
        bad[32..40].copy_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!(dynamic(&bad), Err(DAMAGED_PHDRS));
        // A truncated file: the dynamic section is cut off.
        assert_eq!(dynamic(&b[..b.len() - 3 * 64 - 30]), Err(DAMAGED_DYNAMIC));
        assert_eq!(dynamic(&b[..100]), Err(DAMAGED_PHDRS));
        assert_eq!(dynamic(b"\x7fELF\x02\x01"), Err("a truncated ELF header"));
    }
}
