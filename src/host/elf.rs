//! What mkmodboot reads of ELF files: the header of the init and of a
//! module (class, type, machine), and a module's `.modinfo` section (the
//! `key=value` strings `modinfo(8)` prints: `vermagic=`, `firmware=`, ...).
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
}
