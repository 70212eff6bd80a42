//! Compressed module files: which format, told by magic bytes (never by the
//! file's name), and the gzip container (RFC 1952) around a deflate stream.
//!
//! ```text
//! gzip    1f 8b 08 FLG MTIME(4) XFL OS [FEXTRA] [FNAME\0] [FCOMMENT\0] [FHCRC(2)]
//!         deflate stream, then CRC32(4, LE) and ISIZE(4, LE) of the inflated bytes
//! xz      fd 37 7a 58 5a 00
//! zstd    28 b5 2f fd
//! ```
//!
//! The init inflates gzip itself ([`Gzip::inflate_into`]) when the kernel
//! cannot; xz and zstd only the kernel reads (`/sys/module/compression`
//! names the one format it decompresses, if any).

use crate::crc32::Crc32;

/// How a module file is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A plain ELF object (or anything without a known magic: the kernel
    /// judges it).
    Plain,
    Gzip,
    Xz,
    Zstd,
}

impl Format {
    /// The format of a file that starts with `head`.
    pub fn detect(head: &[u8]) -> Format {
        if head.starts_with(&[0x1f, 0x8b]) {
            Format::Gzip
        } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
            Format::Xz
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Format::Zstd
        } else {
            Format::Plain
        }
    }

    /// The name in `/sys/module/compression` (the kernel's
    /// `CONFIG_MODULE_COMPRESS_*` choice); `None` for plain files.
    pub fn kernel_name(self) -> Option<&'static str> {
        match self {
            Format::Plain => None,
            Format::Gzip => Some("gzip"),
            Format::Xz => Some("xz"),
            Format::Zstd => Some("zstd"),
        }
    }

    /// The usual file suffix after `.ko`.
    pub fn suffix(self) -> &'static str {
        match self {
            Format::Plain => "",
            Format::Gzip => ".gz",
            Format::Xz => ".xz",
            Format::Zstd => ".zst",
        }
    }
}

/// Why a gzip file cannot be inflated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The file ends inside the header or the trailer.
    Truncated,
    /// Not gzip, or a compression method other than deflate.
    BadHeader,
    /// The deflate stream is corrupt.
    Corrupt,
    /// The inflated bytes are not as long as the trailer says.
    Length,
    /// The inflated bytes do not match the trailer's CRC-32.
    Checksum,
}

impl Error {
    pub fn describe(self) -> &'static str {
        match self {
            Error::Truncated => "gzip file truncated",
            Error::BadHeader => "not a gzip (deflate) file",
            Error::Corrupt => "corrupt gzip data",
            Error::Length => "gzip length does not match its trailer",
            Error::Checksum => "gzip CRC-32 mismatch (corrupt)",
        }
    }
}

/// A checked gzip member: header parsed, trailer read.
#[derive(Clone, Copy, Debug)]
pub struct Gzip<'a> {
    deflate: &'a [u8],
    crc32: u32,
    len: u32,
}

const FHCRC: u8 = 2;
const FEXTRA: u8 = 4;
const FNAME: u8 = 8;
const FCOMMENT: u8 = 16;
const RESERVED: u8 = 0xe0;

impl<'a> Gzip<'a> {
    /// Parse the header and trailer of the gzip member `bytes` (one member;
    /// what follows its deflate stream must be exactly the trailer).
    pub fn new_checked(bytes: &'a [u8]) -> Result<Self, Error> {
        let fixed = bytes.get(..10).ok_or(Error::Truncated)?;
        if fixed[..3] != [0x1f, 0x8b, 8] || fixed[3] & RESERVED != 0 {
            return Err(Error::BadHeader);
        }
        let flags = fixed[3];
        let mut at = 10usize;
        if flags & FEXTRA != 0 {
            let xlen = bytes.get(at..at + 2).ok_or(Error::Truncated)?;
            at += 2 + u16::from_le_bytes([xlen[0], xlen[1]]) as usize;
        }
        for flag in [FNAME, FCOMMENT] {
            if flags & flag != 0 {
                let rest = bytes.get(at..).ok_or(Error::Truncated)?;
                at += 1 + rest.iter().position(|&b| b == 0).ok_or(Error::Truncated)?;
            }
        }
        if flags & FHCRC != 0 {
            at += 2;
        }
        let body = bytes.get(at..).ok_or(Error::Truncated)?;
        let split = body.len().checked_sub(8).ok_or(Error::Truncated)?;
        let (deflate, trailer) = body.split_at(split);
        let word = |i: usize| {
            let b = trailer.get(i..i + 4).unwrap_or(&[0; 4]);
            u32::from_le_bytes([b[0], b[1], b[2], b[3]])
        };
        Ok(Gzip {
            deflate,
            crc32: word(0),
            len: word(4),
        })
    }

    /// The inflated length the trailer states (modulo 4 GiB, which no
    /// module reaches).
    pub fn inflated_len(&self) -> usize {
        self.len as usize
    }

    /// Inflate into `out`, which must be [`inflated_len`](Self::inflated_len)
    /// bytes long; checks the length and the CRC-32.
    pub fn inflate_into(&self, out: &mut [u8]) -> Result<(), Error> {
        let n = crate::inflate::inflate(self.deflate, out).map_err(|_| Error::Corrupt)?;
        if n != self.len as usize || n != out.len() {
            return Err(Error::Length);
        }
        let mut crc = Crc32::new();
        crc.update(out);
        if crc.finish() != self.crc32 {
            return Err(Error::Checksum);
        }
        Ok(())
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;

    /// A gzip file as `gzip -c` writes it, for "hello, module\n" with the
    /// name "m.ko" (FNAME set).
    fn sample() -> Vec<u8> {
        let data = b"hello, module\n";
        let mut v = vec![0x1f, 0x8b, 8, FNAME, 0, 0, 0, 0, 0, 3];
        v.extend_from_slice(b"m.ko\0");
        v.extend(miniz_oxide::deflate::compress_to_vec(data, 9));
        let mut crc = Crc32::new();
        crc.update(data);
        v.extend(crc.finish().to_le_bytes());
        v.extend((data.len() as u32).to_le_bytes());
        v
    }

    #[test]
    fn detects_formats_by_magic() {
        assert_eq!(Format::detect(&sample()), Format::Gzip);
        assert_eq!(Format::detect(b"\xfd7zXZ\0\0"), Format::Xz);
        assert_eq!(Format::detect(b"\x28\xb5\x2f\xfd\x00"), Format::Zstd);
        assert_eq!(Format::detect(b"\x7fELF\x02"), Format::Plain);
        assert_eq!(Format::detect(b""), Format::Plain);
        assert_eq!(Format::Zstd.kernel_name(), Some("zstd"));
    }

    #[test]
    fn inflates_and_checks() {
        let gz = sample();
        let g = Gzip::new_checked(&gz).unwrap();
        let mut out = vec![0; g.inflated_len()];
        g.inflate_into(&mut out).unwrap();
        assert_eq!(out, b"hello, module\n");

        // The real tool's output reads the same.
        let tool = std::process::Command::new("gzip")
            .args(["-9nc"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn();
        if let Ok(mut child) = tool {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(b"hello, module\n")
                .unwrap();
            let gz = child.wait_with_output().unwrap().stdout;
            let g = Gzip::new_checked(&gz).unwrap();
            let mut out = vec![0; g.inflated_len()];
            g.inflate_into(&mut out).unwrap();
            assert_eq!(out, b"hello, module\n");
        }
    }

    #[test]
    fn rejects_damage() {
        let gz = sample();
        for n in [0, 5, 12, 16] {
            assert_eq!(
                Gzip::new_checked(&gz[..n]).err(),
                Some(Error::Truncated),
                "{n}"
            );
        }
        let mut bad = gz.clone();
        bad[2] = 9;
        assert_eq!(Gzip::new_checked(&bad).err(), Some(Error::BadHeader));

        let g = |b: &[u8]| {
            let g = Gzip::new_checked(b)?;
            let mut out = vec![0; g.inflated_len()];
            g.inflate_into(&mut out)
        };
        let mut crc = gz.clone();
        let n = crc.len();
        crc[n - 8] ^= 1;
        assert_eq!(g(&crc), Err(Error::Checksum));
        let mut len = gz.clone();
        len[n - 4] += 1;
        assert_eq!(g(&len), Err(Error::Length));
        let mut body = gz.clone();
        body[15] ^= 0xff;
        assert!(g(&body).is_err());
    }
}
