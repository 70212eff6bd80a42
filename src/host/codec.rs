//! Compressed module files on the host: decoders for every format
//! `crate::compression` detects, the one gzip writer (modules and the
//! image itself), and the image's writers for every format ([`compress`]).
//!
//! Decoding checks everything the format carries, so a damaged file fails
//! here, at build time, and never reaches a boot:
//!
//! - gzip: the core's parser (the code the init inflates with), CRC-32 and
//!   ISIZE of the one member;
//! - xz: every block's check (CRC-32, CRC-64 or SHA-256), the index, the
//!   stream footer, and that nothing but stream padding or another stream
//!   follows (`lzma-rust2`);
//! - zstd: every frame's XXH64 content checksum when it has one (the `zstd`
//!   tool writes it by default), skippable frames skipped (`ruzstd`).
//!
//! The bytes that come out are the module as it was before compression: a
//! signature appended to the ELF object still verifies.

use crate::compression::{Format, Gzip};
use crate::crc32::crc32;
use std::io::Read;

/// More than any module is (the largest are tens of MiB): damaged or hostile
/// input that would inflate past it is refused, not allocated.
pub const MAX_MODULE: usize = 512 << 20;

/// The most memory an xz block's decoder may need (KiB): a 64 MiB
/// dictionary (`xz -9`) and its overhead fit; a damaged header that asks for
/// gigabytes is an error.
const XZ_MEM_LIMIT_KIB: u32 = 128 << 10;

fn too_large() -> String {
    format!(
        "decompresses to over {} MiB: not a module",
        MAX_MODULE >> 20
    )
}

/// The plain bytes of `data`, a file in format `from`; checked as the module
/// docs say. Plain data comes back as it is. The error says what is wrong,
/// not which file: callers add the path.
pub fn decompress(from: Format, data: &[u8]) -> Result<Vec<u8>, String> {
    match from {
        Format::Plain => Ok(data.to_vec()),
        Format::Gzip => gunzip(data),
        Format::Xz => unxz(data),
        Format::Zstd => unzstd(data),
    }
}

/// Deflate cannot expand more than 1032 to 1: a trailer that claims more is
/// damaged, and must not make us allocate gigabytes.
const DEFLATE_MAX_RATIO: usize = 1032;

fn gunzip(data: &[u8]) -> Result<Vec<u8>, String> {
    let gz = Gzip::new_checked(data).map_err(|e| e.describe().to_string())?;
    if gz.inflated_len() > MAX_MODULE {
        return Err(too_large());
    }
    if gz.inflated_len() > data.len().saturating_mul(DEFLATE_MAX_RATIO) {
        return Err(format!(
            "gzip trailer claims {} bytes from {} (corrupt)",
            gz.inflated_len(),
            data.len()
        ));
    }
    let mut out = vec![0; gz.inflated_len()];
    gz.inflate_into(&mut out)
        .map_err(|e| e.describe().to_string())?;
    Ok(out)
}

fn unxz(data: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(data.len() * 4);
    // Concatenated streams and stream padding are allowed, as xz(1) allows
    // them; anything else after the last stream is an error.
    lzma_rust2::XzReader::new_mem_limit(data, true, XZ_MEM_LIMIT_KIB)
        .take(MAX_MODULE as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("corrupt or unsupported xz data: {e}"))?;
    if out.len() > MAX_MODULE {
        return Err(too_large());
    }
    Ok(out)
}

fn unzstd(mut data: &[u8]) -> Result<Vec<u8>, String> {
    use ruzstd::decoding::errors::{FrameDecoderError, ReadFrameHeaderError};
    use ruzstd::decoding::{BlockDecodingStrategy, FrameDecoder};
    let corrupt = |e: FrameDecoderError| format!("corrupt zstd data: {e}");
    let mut out = Vec::with_capacity(data.len() * 4);
    let mut frames = 0;
    let mut decoder = FrameDecoder::new();
    while !data.is_empty() {
        match decoder.reset(&mut data) {
            Ok(()) => {}
            Err(FrameDecoderError::ReadFrameHeaderError(ReadFrameHeaderError::SkipFrame {
                length,
                ..
            })) => {
                data = data
                    .get(length as usize..)
                    .ok_or("zstd skippable frame runs past the end of the file")?;
                continue;
            }
            Err(e) => return Err(corrupt(e)),
        }
        // A MiB at a time, so that a frame that would inflate past
        // MAX_MODULE stops there.
        loop {
            decoder
                .decode_blocks(&mut data, BlockDecodingStrategy::UptoBytes(1 << 20))
                .map_err(corrupt)?;
            decoder
                .collect_to_writer(&mut out)
                .map_err(|e| format!("zstd: {e}"))?;
            if out.len() > MAX_MODULE {
                return Err(too_large());
            }
            if decoder.is_finished() {
                break;
            }
        }
        if let Some(stored) = decoder.get_checksum_from_data() {
            let computed = decoder.get_calculated_checksum();
            if computed != Some(stored) {
                return Err(format!(
                    "zstd frame {frames}: content checksum mismatch (corrupt)"
                ));
            }
        }
        frames += 1;
    }
    if frames == 0 {
        return Err("no zstd frame in the file".into());
    }
    Ok(out)
}

/// gzip (RFC 1952) at the best compression, with mtime 0 and no file name,
/// so the output depends on the input only (`gzip -9n` makes the same kind).
pub fn gzip(data: &[u8]) -> Vec<u8> {
    gzip_level(data, 9)
}

fn gzip_level(data: &[u8], level: u8) -> Vec<u8> {
    // The XFL byte says "best" (2) or "fastest" (4) as gzip(1) writes it.
    let xfl = match level {
        9.. => 2,
        1 => 4,
        _ => 0,
    };
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 3];
    out.extend_from_slice(&miniz_oxide::deflate::compress_to_vec(data, level));
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

/// The levels each image compression takes, and its default (zstd(1)'s and
/// xz(1)'s own defaults; gzip at its best, as mkmodboot always wrote it).
pub fn levels(format: Format) -> (std::ops::RangeInclusive<i32>, i32) {
    match format {
        Format::Plain => (0..=0, 0),
        Format::Gzip => (1..=9, 9),
        Format::Xz => (0..=9, 6),
        Format::Zstd => (1..=19, 3),
    }
}

/// `data` (an image's cpio archive) compressed as `format` at `level`
/// (`None`: the format's default), as the kernel's initramfs unpacker reads
/// it: xz with CRC-32 checks (lib/xz verifies no other, as
/// initramfs-tools' `xz --check=crc32`), zstd frames with their content
/// size. The same input always gives the same bytes.
pub fn compress(format: Format, level: Option<i32>, data: &[u8]) -> Result<Vec<u8>, String> {
    let (range, default) = levels(format);
    let level = level.unwrap_or(default);
    if !range.contains(&level) {
        return Err(format!(
            "{} takes levels {} to {}, not {level}",
            format.kernel_name().unwrap_or("none"),
            range.start(),
            range.end()
        ));
    }
    match format {
        Format::Plain => Ok(data.to_vec()),
        Format::Gzip => Ok(gzip_level(data, level as u8)),
        Format::Zstd => zstd::bulk::compress(data, level).map_err(|e| format!("zstd: {e}")),
        Format::Xz => {
            use lzma_rust2::{CheckType, XzOptions, XzWriter};
            use std::io::Write;
            let mut options = XzOptions::with_preset(level as u32);
            options.set_check_sum_type(CheckType::Crc32);
            let xz = |data: &[u8]| -> std::io::Result<Vec<u8>> {
                let mut w = XzWriter::new(Vec::new(), options)?;
                w.write_all(data)?;
                w.finish()
            };
            xz(data).map_err(|e| format!("xz: {e}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::process::{Command, Stdio};

    /// Bytes that compress well but not trivially, like an object file.
    fn sample() -> Vec<u8> {
        let mut v = b"\x7fELF\x02\x01\x01".to_vec();
        let mut x = 0x1234_5678u32;
        for i in 0..200_000u32 {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            v.push(if i % 7 == 0 {
                (x >> 24) as u8
            } else {
                b"modboot"[(i % 7) as usize]
            });
        }
        v
    }

    /// `data` through a compressor command; `None` if it is not installed.
    fn tool(cmd: &str, args: &[&str], data: &[u8]) -> Option<Vec<u8>> {
        let mut child = Command::new(cmd)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .ok()?;
        let mut stdin = child.stdin.take().unwrap();
        let data = data.to_vec();
        let writer = std::thread::spawn(move || stdin.write_all(&data));
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap().unwrap();
        assert!(out.status.success(), "{cmd} {args:?} failed");
        Some(out.stdout)
    }

    /// Compressed by the real tools, as distributions and `tests/compress-tree`
    /// do it; `None` where the tool is missing.
    fn compressed(format: Format, data: &[u8]) -> Option<Vec<u8>> {
        match format {
            Format::Plain => Some(data.to_vec()),
            Format::Gzip => tool("gzip", &["-9nc"], data),
            Format::Xz => tool("xz", &["-c", "--check=crc32"], data),
            Format::Zstd => tool("zstd", &["-qc"], data),
        }
    }

    const COMPRESSED: [Format; 3] = [Format::Gzip, Format::Xz, Format::Zstd];

    #[test]
    fn decodes_what_the_real_tools_write() {
        let data = sample();
        let mut ran = 0;
        for f in COMPRESSED {
            let Some(c) = compressed(f, &data) else {
                eprintln!("{f:?}: tool not installed; skipped");
                continue;
            };
            assert_eq!(Format::detect(&c), f);
            assert!(c.len() < data.len() / 2, "{f:?} compressed");
            assert!(decompress(f, &c).unwrap() == data, "{f:?} round trip");
            ran += 1;
        }
        assert!(ran > 0, "no compressor installed at all");
        assert_eq!(decompress(Format::Plain, &data).unwrap(), data);
    }

    /// What `compress` writes, read back by the real tools (`-t` checks
    /// every checksum) and by our decoders, at the lowest, default and
    /// highest levels; the same bytes every time; levels out of range are
    /// refused.
    #[test]
    fn image_writers_are_read_by_the_real_tools() {
        let data = sample();
        for f in COMPRESSED {
            let (range, default) = levels(f);
            for level in [Some(*range.start()), None, Some(*range.end())] {
                let c = compress(f, level, &data).unwrap();
                assert_eq!(c, compress(f, level, &data).unwrap(), "{f:?} deterministic");
                assert_eq!(Format::detect(&c), f);
                assert!(decompress(f, &c).unwrap() == data, "{f:?} {level:?}");
                let cmd = match f {
                    Format::Gzip => "gzip",
                    Format::Xz => "xz",
                    _ => "zstd",
                };
                let back = tool(cmd, &["-dc"], &c).expect("the compressor is installed");
                assert!(back == data, "{cmd} -d of level {level:?}");
            }
            assert!(compress(f, Some(range.end() + 1), &data).is_err());
            assert!(range.contains(&default));
        }
        // The kernel's xz decoder checks CRC-32 only.
        let xz = compress(Format::Xz, None, &data).unwrap();
        assert_eq!(xz[7] & 0x0f, 0x01, "xz check type is CRC-32");
        assert_eq!(compress(Format::Plain, None, &data).unwrap(), data);
    }

    #[test]
    fn our_gzip_reads_back_and_is_deterministic() {
        let data = sample();
        let gz = gzip(&data);
        assert_eq!(gz, gzip(&data));
        assert_eq!(Format::detect(&gz), Format::Gzip);
        assert!(decompress(Format::Gzip, &gz).unwrap() == data);
        if let Some(back) = tool("gzip", &["-dc"], &gz) {
            assert!(back == data, "gzip(1) reads it");
        }
        assert!(decompress(Format::Gzip, &gzip(b"")).unwrap().is_empty());
    }

    /// Concatenated xz streams and zstd frames (with a skippable frame) read
    /// as xz(1) and zstd(1) read them.
    #[test]
    fn multiple_streams_and_frames() {
        let (a, b) = (b"first part ".repeat(100), b"second part".repeat(100));
        let whole = [a.clone(), b.clone()].concat();
        if let (Some(x), Some(y)) = (compressed(Format::Xz, &a), compressed(Format::Xz, &b)) {
            let two = [x.clone(), vec![0; 4], y].concat();
            assert_eq!(decompress(Format::Xz, &two).unwrap(), whole);
            let bad_pad = [x.clone(), vec![0; 3]].concat();
            assert!(
                decompress(Format::Xz, &bad_pad).is_err(),
                "padding not 4-aligned"
            );
            let junk = [x, b"junk".to_vec()].concat();
            assert!(decompress(Format::Xz, &junk).is_err(), "trailing junk");
        }
        if let (Some(x), Some(y)) = (compressed(Format::Zstd, &a), compressed(Format::Zstd, &b)) {
            let skippable = [0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3];
            let two = [x, skippable.to_vec(), y].concat();
            assert_eq!(decompress(Format::Zstd, &two).unwrap(), whole);
            let short = &skippable[..10];
            assert!(
                decompress(Format::Zstd, short).is_err(),
                "skippable frame cut short"
            );
        }
    }

    /// Every byte flipped in the data part of each format gives an error (or,
    /// where a format cannot see the flip, at worst the same bytes), never
    /// different module bytes; every truncation gives an error.
    #[test]
    fn damage_is_an_error() {
        let data = sample()[..6_000].to_vec();
        for f in COMPRESSED {
            let Some(c) = compressed(f, &data) else {
                continue;
            };
            let mut errors = 0;
            for i in 0..c.len() {
                let mut bad = c.clone();
                bad[i] ^= 0x55;
                match decompress(f, &bad) {
                    Err(e) => {
                        assert!(!e.is_empty());
                        errors += 1;
                    }
                    Ok(out) => assert!(out == data, "{f:?}: flip at {i} gave other bytes"),
                }
            }
            assert!(
                errors * 10 > c.len() * 9,
                "{f:?}: {errors} of {} flips caught",
                c.len()
            );
            for n in [0, 1, c.len() / 2, c.len() - 1] {
                assert!(decompress(f, &c[..n]).is_err(), "{f:?} cut to {n}");
            }
        }
    }

    #[test]
    fn damaged_sizes_cannot_ask_for_gigabytes() {
        let mut gz = gzip(b"small");
        let n = gz.len();
        gz[n - 4..].copy_from_slice(&u32::MAX.to_le_bytes());
        let err = decompress(Format::Gzip, &gz).unwrap_err();
        assert!(err.contains("over 512 MiB"), "{err}");
        gz[n - 4..].copy_from_slice(&100_000u32.to_le_bytes());
        let err = decompress(Format::Gzip, &gz).unwrap_err();
        assert!(err.contains("corrupt"), "{err}");
        // A header that asks for a 256 MiB dictionary, for six bytes.
        if let Some(xz) = tool("xz", &["-c", "--lzma2=dict=256MiB"], b"hello\n") {
            // Valid data: only the memory limit refuses it.
            let err = decompress(Format::Xz, &xz).unwrap_err();
            assert!(err.contains("xz"), "{err}");
        }
    }
}
