//! A deterministic `newc` cpio archive, gzip-compressed: the initramfs format
//! the kernel unpacks (Documentation/driver-api/early-userspace/buffer-format.rst).
//!
//! Entries are written sorted by path with every parent directory first;
//! owner, group and mtime are zero, inode numbers count up from 1. The same
//! entries always give the same bytes.

use super::codec::gzip;
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    Dir,
    File(Vec<u8>),
    CharDev {
        major: u32,
        minor: u32,
    },
    /// The link's target is its data, as in `newc`.
    Symlink(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    mode: u32,
    kind: Kind,
}

/// An archive being assembled.
#[derive(Clone, Debug, Default)]
pub struct Archive {
    entries: BTreeMap<String, Entry>,
}

const S_IFDIR: u32 = 0o040000;
const S_IFREG: u32 = 0o100000;
const S_IFCHR: u32 = 0o020000;
const S_IFLNK: u32 = 0o120000;

fn clean(path: &str) -> String {
    path.split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect::<Vec<_>>()
        .join("/")
}

impl Archive {
    pub fn new() -> Self {
        Self::default()
    }

    fn parents(&mut self, path: &str) {
        let mut at = 0;
        while let Some(i) = path[at..].find('/') {
            let dir = &path[..at + i];
            self.entries.entry(dir.to_string()).or_insert(Entry {
                mode: 0o755,
                kind: Kind::Dir,
            });
            at += i + 1;
        }
    }

    fn insert(&mut self, path: &str, entry: Entry) -> Result<(), String> {
        let path = clean(path);
        if path.is_empty() {
            return Err("empty path in archive".into());
        }
        self.parents(&path);
        match self.entries.get(&path) {
            Some(old) if old.kind == Kind::Dir && entry.kind == Kind::Dir => Ok(()),
            Some(_) => Err(format!("{path} added twice to the archive")),
            None => {
                self.entries.insert(path, entry);
                Ok(())
            }
        }
    }

    pub fn add_dir(&mut self, path: &str, mode: u32) -> Result<(), String> {
        self.insert(
            path,
            Entry {
                mode,
                kind: Kind::Dir,
            },
        )
    }

    pub fn add_file(&mut self, path: &str, mode: u32, data: Vec<u8>) -> Result<(), String> {
        self.insert(
            path,
            Entry {
                mode,
                kind: Kind::File(data),
            },
        )
    }

    pub fn add_char_dev(
        &mut self,
        path: &str,
        mode: u32,
        major: u32,
        minor: u32,
    ) -> Result<(), String> {
        self.insert(
            path,
            Entry {
                mode,
                kind: Kind::CharDev { major, minor },
            },
        )
    }

    pub fn add_symlink(&mut self, path: &str, target: &str) -> Result<(), String> {
        self.insert(
            path,
            Entry {
                mode: 0o777,
                kind: Kind::Symlink(target.to_string()),
            },
        )
    }

    /// The archive as uncompressed `newc` bytes.
    pub fn to_newc(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (ino, (path, e)) in self.entries.iter().enumerate() {
            let (mode, nlink, data, rdev): (u32, u32, &[u8], (u32, u32)) = match &e.kind {
                Kind::Dir => (S_IFDIR | e.mode, 2, &[], (0, 0)),
                Kind::File(d) => (S_IFREG | e.mode, 1, d, (0, 0)),
                Kind::CharDev { major, minor } => (S_IFCHR | e.mode, 1, &[], (*major, *minor)),
                Kind::Symlink(target) => (S_IFLNK | 0o777, 1, target.as_bytes(), (0, 0)),
            };
            header(
                &mut out,
                ino as u32 + 1,
                mode,
                nlink,
                data.len() as u32,
                rdev,
                path,
            );
            out.extend_from_slice(data);
            pad4(&mut out);
        }
        header(&mut out, 0, 0, 1, 0, (0, 0), "TRAILER!!!");
        out
    }

    /// The archive as a gzip-compressed `newc` image.
    pub fn to_gzip(&self) -> Vec<u8> {
        gzip(&self.to_newc())
    }

    /// Paths in the archive, in write order.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }
}

fn header(
    out: &mut Vec<u8>,
    ino: u32,
    mode: u32,
    nlink: u32,
    size: u32,
    rdev: (u32, u32),
    name: &str,
) {
    let namesize = name.len() as u32 + 1;
    // magic, then ino mode uid gid nlink mtime filesize devmajor devminor
    // rdevmajor rdevminor namesize check, eight hex digits each.
    let fields = [
        ino, mode, 0, 0, nlink, 0, size, 0, 0, rdev.0, rdev.1, namesize, 0,
    ];
    out.extend_from_slice(b"070701");
    for f in fields {
        out.extend_from_slice(format!("{f:08X}").as_bytes());
    }
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    pad4(out);
}

fn pad4(out: &mut Vec<u8>) {
    while out.len() % 4 != 0 {
        out.push(0);
    }
}

/// One entry of an archive being read: its path, `st_mode` (type and
/// permissions), data (a symbolic link's target for links) and device
/// numbers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub path: String,
    pub mode: u32,
    pub data: Vec<u8>,
    pub rdev: (u32, u32),
}

impl Member {
    /// `ls -l`'s type letter.
    pub fn type_char(&self) -> char {
        match self.mode & 0o170000 {
            S_IFDIR => 'd',
            S_IFREG => '-',
            S_IFCHR => 'c',
            S_IFLNK => 'l',
            0o060000 => 'b',
            0o010000 => 'p',
            _ => '?',
        }
    }
}

/// Every member of an initramfs image as the kernel unpacks it
/// (`init/initramfs.c`): `newc` archives one after another, each possibly
/// compressed (gzip, xz, zstd), with zero padding between them: an
/// uncompressed early archive (CPU microcode) followed by the compressed
/// main one, or one archive. `decompress` undoes one compressed segment
/// (it must consume it whole: the image ends with it). Also returns each
/// archive's form, in order (`Plain` for an uncompressed one).
pub fn read_image(
    mut b: &[u8],
    decompress: &dyn Fn(crate::compression::Format, &[u8]) -> Result<Vec<u8>, String>,
) -> Result<(Vec<Member>, Vec<crate::compression::Format>), String> {
    use crate::compression::Format;
    let mut out = Vec::new();
    let mut forms = Vec::new();
    let mut offset = 0usize;
    loop {
        let zeros = b.iter().take_while(|&&c| c == 0).count();
        b = &b[zeros..];
        offset += zeros;
        if b.is_empty() {
            return Ok((out, forms));
        }
        if b.starts_with(b"070701") || b.starts_with(b"070702") {
            forms.push(Format::Plain);
            let used = read_newc(b, &mut out)
                .map_err(|e| format!("cpio archive at byte {offset}: {e}"))?;
            b = &b[used..];
            offset += used;
            continue;
        }
        let format = Format::detect(b);
        if format == Format::Plain {
            return Err(format!(
                "byte {offset}: neither a cpio archive nor gzip, xz or zstd data"
            ));
        }
        forms.push(format);
        let plain = decompress(format, b).map_err(|e| format!("byte {offset}: {e}"))?;
        let mut rest = &plain[..];
        while !rest.is_empty() {
            let zeros = rest.iter().take_while(|&&c| c == 0).count();
            rest = &rest[zeros..];
            if rest.is_empty() {
                break;
            }
            let used = read_newc(rest, &mut out).map_err(|e| {
                format!("cpio archive in the compressed data at byte {offset}: {e}")
            })?;
            rest = &rest[used..];
        }
        return Ok((out, forms));
    }
}

/// One `newc` archive at the start of `b`, up to its trailer, into `out`;
/// how many bytes it took.
fn read_newc(b: &[u8], out: &mut Vec<Member>) -> Result<usize, String> {
    let pad = |n: usize| n.next_multiple_of(4);
    let mut at = 0usize;
    loop {
        let head = b
            .get(at..at + 110)
            .ok_or_else(|| format!("truncated header at byte {at}"))?;
        if &head[..5] != b"07070" {
            return Err(format!("no cpio header at byte {at}"));
        }
        let field = |i: usize| -> Result<u32, String> {
            std::str::from_utf8(&head[6 + 8 * i..14 + 8 * i])
                .ok()
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad header field at byte {at}"))
        };
        let (mode, size, namesize) = (field(1)?, field(6)? as usize, field(11)? as usize);
        let rdev = (field(9)?, field(10)?);
        let name = b
            .get(at + 110..at + 110 + namesize.saturating_sub(1))
            .and_then(|n| std::str::from_utf8(n).ok())
            .ok_or_else(|| format!("bad name at byte {at}"))?
            .to_string();
        let data_at = pad(at + 110 + namesize);
        let data = b
            .get(data_at..data_at + size)
            .ok_or_else(|| format!("{name}: truncated data"))?;
        at = pad(data_at + size);
        if name == "TRAILER!!!" {
            return Ok(at.min(b.len()));
        }
        out.push(Member {
            path: name,
            mode,
            data: data.to_vec(),
            rdev,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn sample() -> Archive {
        let mut a = Archive::new();
        a.add_file("/init", 0o755, b"#!/bin/sh\n".to_vec()).unwrap();
        a.add_file("lib/modules/6.1/kernel/a.ko", 0o644, vec![7u8; 1001])
            .unwrap();
        a.add_char_dev("/dev/console", 0o600, 5, 1).unwrap();
        a.add_dir("root", 0o700).unwrap();
        a
    }

    #[test]
    fn parents_first_and_sorted() {
        let paths: Vec<_> = sample().paths().map(str::to_string).collect();
        assert_eq!(
            paths,
            [
                "dev",
                "dev/console",
                "init",
                "lib",
                "lib/modules",
                "lib/modules/6.1",
                "lib/modules/6.1/kernel",
                "lib/modules/6.1/kernel/a.ko",
                "root"
            ]
        );
    }

    /// What the writer wrote, read back whole: one archive, gzipped, and an
    /// uncompressed archive followed by a compressed one (the microcode
    /// layout); damage is an error naming where.
    #[test]
    fn reader_reads_what_the_writer_wrote() {
        let gunzip = |f, d: &[u8]| super::super::codec::decompress(f, d);
        let a = sample();
        let (plain, forms) = read_image(&a.to_newc(), &gunzip).unwrap();
        assert_eq!(forms, [crate::compression::Format::Plain]);
        let paths: Vec<_> = plain.iter().map(|m| m.path.as_str()).collect();
        assert_eq!(paths, a.paths().collect::<Vec<_>>());
        assert_eq!(read_image(&a.to_gzip(), &gunzip).unwrap().0, plain);
        let mut early = Archive::new();
        early
            .add_file(
                "kernel/x86/microcode/GenuineIntel.bin",
                0o644,
                b"ucode".to_vec(),
            )
            .unwrap();
        let mut both = early.to_newc();
        both.extend_from_slice(&a.to_gzip());
        let (members, forms) = read_image(&both, &gunzip).unwrap();
        use crate::compression::Format;
        assert_eq!(forms, [Format::Plain, Format::Gzip]);
        assert_eq!(members.len(), plain.len() + 4);
        assert_eq!(members[3].data, b"ucode");
        assert_eq!(members[3].type_char(), '-');
        let newc = a.to_newc();
        let e = read_image(&newc[..newc.len() / 2], &gunzip).unwrap_err();
        assert!(e.starts_with("cpio archive at byte 0: "), "{e}");
        let e = read_image(b"garbage", &gunzip).unwrap_err();
        assert_eq!(
            e,
            "byte 0: neither a cpio archive nor gzip, xz or zstd data"
        );
    }

    #[test]
    fn duplicates_are_errors() {
        let mut a = sample();
        assert!(a.add_file("init", 0o755, vec![]).is_err());
        assert!(a.add_dir("lib/modules", 0o755).is_ok());
        assert!(a.add_dir("/", 0o755).is_err());
    }

    #[test]
    fn deterministic_and_aligned() {
        let a = sample().to_newc();
        assert_eq!(a, sample().to_newc());
        assert_eq!(a.len() % 4, 0);
        assert!(a.starts_with(b"070701"));
        assert_eq!(sample().to_gzip(), sample().to_gzip());
    }

    /// The real cpio(1) and gzip(1) read what we write, when they are installed.
    #[test]
    fn readable_by_gzip_and_cpio() {
        let dir = std::env::temp_dir().join(format!("modboot-cpio-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let img = dir.join("img.cpio.gz");
        std::fs::write(&img, sample().to_gzip()).unwrap();
        let Ok(out) = Command::new("sh")
            .arg("-c")
            .arg(format!("gzip -dc {} | cpio -it --quiet", img.display()))
            .output()
        else {
            return;
        };
        if !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("not found") {
            eprintln!("cpio not installed; skipped");
            return;
        }
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let listed = String::from_utf8(out.stdout).unwrap();
        assert!(
            listed.lines().any(|l| l == "lib/modules/6.1/kernel/a.ko"),
            "{listed}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
