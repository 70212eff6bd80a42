//! How each module file is stored in the image: as it is in the tree, or
//! decompressed (and perhaps gzipped again) because the target cannot load
//! its form. Decided here, once, before the blob is written: [`plan`] rewrites
//! the blob spec's module paths to the stored paths, and the image writer
//! (`image.rs`) stores each module as its path says. No decoding happens
//! here, only a look at each file's first bytes, so `build.rs` uses this same
//! file for an embedded blob.
//!
//! What the target loads, per form (the init detects the form by magic):
//!
//! ```text
//! plain ELF    always (finit_module)
//! gzip         always (the kernel, when it decompresses gzip; else the init inflates it)
//! xz, zstd     only when the kernel decompresses that format itself
//!              (CONFIG_MODULE_DECOMPRESS with CONFIG_MODULE_COMPRESS_XZ or _ZSTD;
//!              its xz decoder knows only CRC-32 and no check)
//! ```
//!
//! A module in any other form is decompressed on the host and stored as
//! [`ModuleCompression`] says; its uncompressed bytes never change, so an
//! appended signature still verifies. The stored path is the tree's path
//! with its compression suffix replaced by the stored form's: `x.ko`,
//! `x.ko.gz`, `x.ko.xz`, `x.ko.zst`.

use super::emit::BlobSpec;
use crate::compression::Format;
use std::path::{Path, PathBuf};

/// Which compressed form the target kernel decompresses itself
/// (`/sys/module/compression` at run time). It is one format or none: the
/// kernel builds exactly one decompressor for modules.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum KernelDecompress {
    /// No in-kernel module decompression (or nothing known: the safe guess).
    #[default]
    None,
    Gzip,
    Xz,
    Zstd,
}

impl KernelDecompress {
    /// The words of `--kernel-decompress`: `none`, `gzip`, `xz`, `zstd`.
    pub fn parse(word: &str) -> Option<Self> {
        Some(match word {
            "none" => KernelDecompress::None,
            "gzip" => KernelDecompress::Gzip,
            "xz" => KernelDecompress::Xz,
            "zstd" => KernelDecompress::Zstd,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            KernelDecompress::None => "none",
            KernelDecompress::Gzip => "gzip",
            KernelDecompress::Xz => "xz",
            KernelDecompress::Zstd => "zstd",
        }
    }

    /// What a kernel configuration (`.config` text) builds:
    /// `CONFIG_MODULE_DECOMPRESS=y` and the one `CONFIG_MODULE_COMPRESS_<X>=y`
    /// it decompresses. Anything else is none.
    pub fn from_config(config: &str) -> Self {
        let set = |option: &str| config.lines().any(|l| l.trim() == format!("{option}=y"));
        if !set("CONFIG_MODULE_DECOMPRESS") {
            return KernelDecompress::None;
        }
        [
            ("CONFIG_MODULE_COMPRESS_GZIP", KernelDecompress::Gzip),
            ("CONFIG_MODULE_COMPRESS_XZ", KernelDecompress::Xz),
            ("CONFIG_MODULE_COMPRESS_ZSTD", KernelDecompress::Zstd),
        ]
        .into_iter()
        .find(|(option, _)| set(option))
        .map_or(KernelDecompress::None, |(_, k)| k)
    }

    /// Where a tree's kernel configuration may be, in the order looked at:
    /// `<root>/boot/config-<release>` for a tree at
    /// `<root>/lib/modules/<release>` (or `<root>/usr/lib/modules/...`),
    /// then `<tree>/build/.config`. Parents are taken from the path as
    /// written, not through symbolic links (`/lib` may be a link to
    /// `usr/lib`).
    pub fn config_candidates(tree_dir: &Path, release: &str) -> Vec<PathBuf> {
        let tree = std::path::absolute(tree_dir).unwrap_or_else(|_| tree_dir.to_path_buf());
        let mut out = Vec::new();
        if let Some(root) = tree.parent().and_then(Path::parent).and_then(Path::parent) {
            out.push(root.join("boot").join(format!("config-{release}")));
            if root.file_name().is_some_and(|n| n == "usr") {
                if let Some(above) = root.parent() {
                    out.push(above.join("boot").join(format!("config-{release}")));
                }
            }
        }
        out.push(tree.join("build/.config"));
        out
    }

    /// What the tree's kernel decompresses, from the first configuration
    /// file found ([`config_candidates`](Self::config_candidates)), and that
    /// file; none, and no file, if there is none.
    pub fn from_tree(tree_dir: &Path, release: &str) -> Result<(Self, Option<PathBuf>), String> {
        for path in Self::config_candidates(tree_dir, release) {
            match std::fs::read(&path) {
                Ok(bytes) => {
                    return Ok((
                        Self::from_config(&String::from_utf8_lossy(&bytes)),
                        Some(path),
                    ));
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(format!("{}: {e}", path.display())),
            }
        }
        Ok((KernelDecompress::None, None))
    }

    /// Whether the kernel loads a file of this form itself. `head` is the
    /// file's start, for the xz check type.
    fn loads(self, from: Format, head: &[u8]) -> bool {
        match (self, from) {
            (_, Format::Plain) => true,
            (KernelDecompress::Gzip, Format::Gzip) => true,
            (KernelDecompress::Xz, Format::Xz) => xz_check_known_to_kernel(head),
            (KernelDecompress::Zstd, Format::Zstd) => true,
            _ => false,
        }
    }
}

/// The kernel's xz decoder (lib/xz) verifies CRC-32 or no check; a stream
/// made with `--check=crc64` (xz's default) or `sha256` it refuses. The
/// check type is the low nibble of the stream flags (byte 7).
fn xz_check_known_to_kernel(head: &[u8]) -> bool {
    matches!(head.get(7).map(|f| f & 0x0f), Some(0x00 | 0x01))
}

/// How to store a module the target cannot load in its form (an xz or zstd
/// file the kernel does not decompress). Modules the target loads as they
/// are (plain, gzip, the kernel's own format) are always stored untouched.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ModuleCompression {
    /// gzip when the kernel decompresses gzip itself (the kernel inflates it
    /// for nothing in the init, and the unpacked initramfs is smaller), plain
    /// otherwise (no userspace inflating at boot; the image is compressed as
    /// a whole anyway, so its size hardly changes).
    #[default]
    Auto,
    /// Decompressed: `x.ko`.
    Plain,
    /// Decompressed and gzipped again (`gzip -9n`'s kind): `x.ko.gz`; the
    /// kernel inflates it if it can, the init otherwise.
    Gzip,
    /// Every module compressed, so that the image's archive needs no
    /// compression of its own and RAM holds compressed modules: in the
    /// kernel's own format when it decompresses modules (kept, or
    /// recompressed into it: xz with CRC-32 checks, zstd), gzip otherwise
    /// (the init inflates what it loads). Only the modules a boot loads
    /// are ever decompressed.
    Compressed,
    /// Every module decompressed, even one the kernel could load as it is:
    /// nothing is decompressed at boot, at the cost of a larger image (the
    /// trade-off is measured per architecture in README.md).
    None,
    /// The default of images that pack many modules (`--generic`, `--all`):
    /// as [`None`](Self::None) when the tree's modules are all plain and
    /// add up to at most [`FIT_PLAIN_MAX`] (the init then inflates nothing
    /// it loads, and the kernel's unpacking of the uncompressed archive is a
    /// copy, at twice their size in RAM while it lasts), else as
    /// [`Compressed`](Self::Compressed) (RAM holds compressed modules).
    /// README.md ("Boot benchmark") has the figures: Debian 12's cloud
    /// kernel (17.7 MB) gets the first, its standard kernel (66 MB) the
    /// second.
    Fit,
}

/// The most plain module bytes [`ModuleCompression::Fit`] keeps plain: a
/// generic image of them still boots in 128 MiB of RAM (Debian 12's cloud
/// kernel's, 17.7 MB, needs 104 MiB; stored compressed, 80).
pub const FIT_PLAIN_MAX: u64 = 24 << 20;

impl ModuleCompression {
    /// The words of `--module-compression`: `auto`, `plain`, `gzip`,
    /// `compressed`, `none`.
    pub fn parse(word: &str) -> Option<Self> {
        Some(match word {
            "auto" => ModuleCompression::Auto,
            "plain" => ModuleCompression::Plain,
            "gzip" => ModuleCompression::Gzip,
            "none" => ModuleCompression::None,
            "compressed" => ModuleCompression::Compressed,
            _ => return None,
        })
    }
}

/// What the image's target is and what to do about modules it cannot load.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Storage {
    pub kernel: KernelDecompress,
    pub compression: ModuleCompression,
}

impl Storage {
    /// The form to store a module in, given its form `from` and its first
    /// bytes `head` (16 are enough).
    pub fn stored_form(self, from: Format, head: &[u8]) -> Format {
        match self.compression {
            ModuleCompression::None => return Format::Plain,
            ModuleCompression::Compressed => {
                if from != Format::Plain && self.kernel.loads(from, head) {
                    return from;
                }
                return match self.kernel {
                    KernelDecompress::None => Format::Gzip,
                    KernelDecompress::Gzip => Format::Gzip,
                    KernelDecompress::Xz => Format::Xz,
                    KernelDecompress::Zstd => Format::Zstd,
                };
            }
            _ => {}
        }
        if self.kernel.loads(from, head) || from == Format::Gzip {
            return from;
        }
        match (self.compression, self.kernel) {
            (ModuleCompression::Gzip, _) => Format::Gzip,
            (ModuleCompression::Auto, KernelDecompress::Gzip) => Format::Gzip,
            _ => Format::Plain,
        }
    }
}

/// The format a stored path says its file is in: its suffix after `.ko`
/// (`.gz`, `.xz`, `.zst`), plain otherwise. Only for paths [`stored_path`]
/// made: the tree's files are told by their bytes ([`Format::detect`]).
pub fn stored_format(path: &str) -> Format {
    [Format::Gzip, Format::Xz, Format::Zstd]
        .into_iter()
        .find(|f| path.ends_with(f.suffix()))
        .unwrap_or(Format::Plain)
}

/// `path` without a compression suffix: `a/x.ko.xz` is `a/x.ko`.
pub fn uncompressed_path(path: &str) -> &str {
    let f = stored_format(path);
    &path[..path.len() - f.suffix().len()]
}

/// The path a module of the tree at `path` is stored at in form `form`.
pub fn stored_path(path: &str, form: Format) -> String {
    format!("{}{}", uncompressed_path(path), form.suffix())
}

/// How many modules went from which form to which, for a summary line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// `(from, to, count)`, sorted, for every pair that occurred.
    pub changes: Vec<(Format, Format, usize)>,
    /// [`ModuleCompression::Fit`] kept the modules plain: how many, and
    /// their bytes.
    pub kept_plain: Option<(usize, u64)>,
}

impl Plan {
    /// Whether any module is stored in another form than the tree's.
    pub fn converts(&self) -> bool {
        self.changes.iter().any(|(from, to, _)| from != to)
    }

    /// One line per conversion: `12 xz modules stored plain`; and what
    /// [`ModuleCompression::Fit`] kept plain.
    pub fn describe(&self) -> Vec<String> {
        let word = |f: Format| f.kernel_name().unwrap_or("plain");
        let kept = self.kept_plain.map(|(n, bytes)| {
            format!(
                "{n} plain modules kept plain ({:.1} MB, at most {} MiB: the init inflates none; --module-compression compressed keeps RAM lower)",
                bytes as f64 / 1e6,
                FIT_PLAIN_MAX >> 20
            )
        });
        self.changes
            .iter()
            .filter(|(from, to, _)| from != to)
            .map(|(from, to, n)| format!("{n} {} modules stored {}", word(*from), word(*to)))
            .chain(kept)
            .collect()
    }
}

/// The first bytes of a file: enough for [`Format::detect`] and the xz
/// stream flags.
pub fn head(path: &Path) -> Result<Vec<u8>, String> {
    let mut head = Vec::with_capacity(16);
    std::fs::File::open(path)
        .and_then(|f| std::io::Read::read_to_end(&mut std::io::Read::take(f, 16), &mut head))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(head)
}

/// Decide each module's stored form from its file in `tree_dir`, and set its
/// path in `spec` to the stored path. Run it once on a spec fresh from the
/// tree, before the blob is emitted.
pub fn plan(spec: &mut BlobSpec, tree_dir: &Path, mut storage: Storage) -> Result<Plan, String> {
    let heads = spec
        .modules
        .iter()
        .map(|m| head(&tree_dir.join(&m.path)))
        .collect::<Result<Vec<_>, _>>()?;
    let mut kept_plain = None;
    if storage.compression == ModuleCompression::Fit {
        let all_plain = heads.iter().all(|h| Format::detect(h) == Format::Plain);
        let mut bytes = 0u64;
        for m in &spec.modules {
            let path = tree_dir.join(&m.path);
            bytes += std::fs::metadata(&path)
                .map_err(|e| format!("{}: {e}", path.display()))?
                .len();
        }
        let keep = all_plain && bytes <= FIT_PLAIN_MAX;
        storage.compression = match keep {
            true => ModuleCompression::None,
            false => ModuleCompression::Compressed,
        };
        kept_plain = keep.then_some((spec.modules.len(), bytes));
    }
    let mut counts = std::collections::BTreeMap::new();
    for (m, head) in spec.modules.iter_mut().zip(&heads) {
        let from = Format::detect(head);
        let to = storage.stored_form(from, head);
        *counts.entry((rank(from), rank(to))).or_insert(0) += 1;
        m.path = stored_path(&m.path, to);
    }
    Ok(Plan {
        changes: counts
            .into_iter()
            .map(|((from, to), n)| (FORMATS[from], FORMATS[to], n))
            .collect(),
        kept_plain,
    })
}

const FORMATS: [Format; 4] = [Format::Plain, Format::Gzip, Format::Xz, Format::Zstd];

fn rank(f: Format) -> usize {
    FORMATS.iter().position(|&g| g == f).unwrap_or(0)
}

/// The tree file a module stored at `stored` comes from: the file of that
/// very path, or the one file among its other forms (`x.ko`, `x.ko.gz`,
/// `x.ko.xz`, `x.ko.zst`). Two candidates are an error: which one
/// `modules.dep` meant cannot be told.
pub fn source_of(tree_dir: &Path, stored: &str) -> Result<PathBuf, String> {
    let base = uncompressed_path(stored);
    let found: Vec<PathBuf> = FORMATS
        .iter()
        .map(|f| tree_dir.join(format!("{base}{}", f.suffix())))
        .filter(|p| p.is_file())
        .collect();
    match &found[..] {
        [one] => Ok(one.clone()),
        [] => Err(format!(
            "{}: not found (nor any of its compressed forms)",
            tree_dir.join(stored).display()
        )),
        more => Err(format!(
            "{}: {} forms of this module in the tree: {}",
            tree_dir.join(base).display(),
            more.len(),
            more.iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::emit::ModuleSpec;

    const XZ_CRC32: &[u8] = b"\xfd7zXZ\0\0\x01\x69\x22\xde\x36";
    const XZ_CRC64: &[u8] = b"\xfd7zXZ\0\0\x04\xe6\xd6\xb4\x46";
    const ZSTD: &[u8] = b"\x28\xb5\x2f\xfd\x24\x00";
    const GZIP: &[u8] = b"\x1f\x8b\x08\x00\0\0\0\0\x02\x03";
    const ELF: &[u8] = b"\x7fELF\x02\x01\x01\0";

    fn storage(kernel: &str, compression: &str) -> Storage {
        Storage {
            kernel: KernelDecompress::parse(kernel).unwrap(),
            compression: ModuleCompression::parse(compression).unwrap(),
        }
    }

    fn form(s: Storage, head: &[u8]) -> Format {
        s.stored_form(Format::detect(head), head)
    }

    #[test]
    fn forms_the_target_loads_are_kept() {
        for kernel in ["none", "gzip", "xz", "zstd"] {
            for c in ["auto", "plain", "gzip"] {
                let s = storage(kernel, c);
                assert_eq!(form(s, ELF), Format::Plain);
                assert_eq!(form(s, GZIP), Format::Gzip, "the init inflates gzip");
                assert_eq!(
                    form(s, b""),
                    Format::Plain,
                    "unknown bytes: the kernel judges"
                );
            }
        }
        assert_eq!(form(storage("xz", "plain"), XZ_CRC32), Format::Xz);
        assert_eq!(form(storage("zstd", "plain"), ZSTD), Format::Zstd);
    }

    #[test]
    fn compressed_stores_every_module_in_a_form_something_decompresses() {
        for head in [ELF, GZIP, XZ_CRC32, ZSTD] {
            assert_eq!(
                form(storage("none", "compressed"), head),
                Format::Gzip,
                "the init inflates"
            );
            assert_eq!(form(storage("gzip", "compressed"), head), Format::Gzip);
        }
        assert_eq!(form(storage("xz", "compressed"), XZ_CRC32), Format::Xz);
        assert_eq!(
            form(storage("xz", "compressed"), ELF),
            Format::Xz,
            "recompressed for the kernel"
        );
        assert_eq!(form(storage("xz", "compressed"), ZSTD), Format::Xz);
        assert_eq!(form(storage("zstd", "compressed"), ELF), Format::Zstd);
        assert_eq!(form(storage("zstd", "compressed"), GZIP), Format::Zstd);
    }

    #[test]
    fn none_stores_every_module_decompressed() {
        for kernel in ["none", "gzip", "xz", "zstd"] {
            let s = storage(kernel, "none");
            for head in [ELF, GZIP, XZ_CRC32, ZSTD] {
                assert_eq!(form(s, head), Format::Plain, "{kernel}");
            }
        }
    }

    #[test]
    fn other_forms_follow_module_compression() {
        assert_eq!(form(storage("none", "auto"), XZ_CRC32), Format::Plain);
        assert_eq!(form(storage("none", "plain"), ZSTD), Format::Plain);
        assert_eq!(form(storage("none", "gzip"), ZSTD), Format::Gzip);
        assert_eq!(form(storage("zstd", "auto"), XZ_CRC32), Format::Plain);
        assert_eq!(
            form(storage("gzip", "auto"), XZ_CRC32),
            Format::Gzip,
            "the kernel inflates"
        );
        assert_eq!(form(storage("gzip", "plain"), ZSTD), Format::Plain);
        assert_eq!(form(storage("xz", "gzip"), ZSTD), Format::Gzip);
        assert_eq!(
            form(storage("xz", "auto"), XZ_CRC64),
            Format::Plain,
            "the kernel's xz knows CRC-32 only"
        );
        assert_eq!(
            form(storage("xz", "auto"), &XZ_CRC32[..7]),
            Format::Plain,
            "no flags"
        );
    }

    #[test]
    fn stored_paths_say_the_stored_form() {
        assert_eq!(
            stored_path("kernel/a/x.ko.xz", Format::Plain),
            "kernel/a/x.ko"
        );
        assert_eq!(
            stored_path("kernel/a/x.ko.zst", Format::Gzip),
            "kernel/a/x.ko.gz"
        );
        assert_eq!(
            stored_path("kernel/a/x.ko.gz", Format::Gzip),
            "kernel/a/x.ko.gz"
        );
        assert_eq!(stored_path("kernel/a/x.ko", Format::Plain), "kernel/a/x.ko");
        assert_eq!(stored_path("kernel/a/x.ko", Format::Xz), "kernel/a/x.ko.xz");
        for f in FORMATS {
            assert_eq!(stored_format(&stored_path("d/x.ko.zst", f)), f);
        }
        assert_eq!(stored_format("d/x.ko"), Format::Plain);
        assert_eq!(stored_format("d/x.ko.bz2"), Format::Plain);
    }

    #[test]
    fn kernel_configs() {
        let debian_61 = "CONFIG_MODULE_COMPRESS_NONE=y\n# CONFIG_MODULE_COMPRESS_GZIP is not set\n\
                         # CONFIG_MODULE_COMPRESS_XZ is not set\n# CONFIG_MODULE_COMPRESS_ZSTD is not set\n";
        assert_eq!(
            KernelDecompress::from_config(debian_61),
            KernelDecompress::None
        );
        let zstd = "CONFIG_MODULE_COMPRESS_ZSTD=y\nCONFIG_MODULE_DECOMPRESS=y\n";
        assert_eq!(KernelDecompress::from_config(zstd), KernelDecompress::Zstd);
        let xz = "CONFIG_MODULE_COMPRESS_XZ=y\n# CONFIG_MODULE_DECOMPRESS is not set\n";
        assert_eq!(
            KernelDecompress::from_config(xz),
            KernelDecompress::None,
            "compressed by make modules_install, but not decompressed by the kernel"
        );
        let gz = "CONFIG_MODULE_DECOMPRESS=y\nCONFIG_MODULE_COMPRESS_GZIP=y\n";
        assert_eq!(KernelDecompress::from_config(gz), KernelDecompress::Gzip);
        assert_eq!(KernelDecompress::from_config(""), KernelDecompress::None);
        for w in ["none", "gzip", "xz", "zstd"] {
            assert_eq!(KernelDecompress::parse(w).unwrap().name(), w);
        }
        assert!(KernelDecompress::parse("zst").is_none());
        assert!(ModuleCompression::parse("xz").is_none());
    }

    #[test]
    fn config_is_found_beside_the_tree() {
        let c = KernelDecompress::config_candidates(Path::new("/x/lib/modules/6.1"), "6.1");
        assert_eq!(
            c,
            [
                PathBuf::from("/x/boot/config-6.1"),
                PathBuf::from("/x/lib/modules/6.1/build/.config")
            ]
        );
        let c = KernelDecompress::config_candidates(Path::new("/usr/lib/modules/6.1"), "6.1");
        assert_eq!(
            c[..2],
            [
                PathBuf::from("/usr/boot/config-6.1"),
                PathBuf::from("/boot/config-6.1")
            ]
        );

        let root = std::env::temp_dir().join(format!("modboot-modstore-{}", std::process::id()));
        let tree = root.join("lib/modules/r");
        std::fs::create_dir_all(tree.join("build")).unwrap();
        assert_eq!(
            KernelDecompress::from_tree(&tree, "r").unwrap(),
            (KernelDecompress::None, None)
        );
        std::fs::write(
            tree.join("build/.config"),
            "CONFIG_MODULE_DECOMPRESS=y\nCONFIG_MODULE_COMPRESS_XZ=y\n",
        )
        .unwrap();
        assert_eq!(
            KernelDecompress::from_tree(&tree, "r").unwrap(),
            (KernelDecompress::Xz, Some(tree.join("build/.config")))
        );
        std::fs::create_dir_all(root.join("boot")).unwrap();
        std::fs::write(
            root.join("boot/config-r"),
            "# CONFIG_MODULE_DECOMPRESS is not set\n",
        )
        .unwrap();
        assert_eq!(
            KernelDecompress::from_tree(&tree, "r").unwrap().0,
            KernelDecompress::None,
            "boot/config-<release> first"
        );
        std::fs::remove_dir_all(&root).unwrap();
    }

    /// A spec of modules at these tree paths (`k/a.ko`: module `a`).
    fn spec_of(paths: &[&str]) -> BlobSpec {
        BlobSpec {
            modules: paths
                .iter()
                .map(|p| ModuleSpec {
                    name: p[2..3].to_string(),
                    path: p.to_string(),
                    deps: vec![],
                })
                .collect(),
            ..BlobSpec::default()
        }
    }

    #[test]
    fn plan_rewrites_paths_and_sources_are_found() {
        let root = std::env::temp_dir().join(format!("modboot-plan-{}", std::process::id()));
        std::fs::create_dir_all(root.join("k")).unwrap();
        let files: [(&str, &[u8]); 4] = [
            ("k/a.ko", ELF),
            ("k/b.ko.gz", GZIP),
            ("k/c.ko.xz", XZ_CRC32),
            ("k/d.ko.zst", ZSTD),
        ];
        for (p, bytes) in files {
            std::fs::write(root.join(p), bytes).unwrap();
        }
        let fresh = || spec_of(&files.map(|(p, _)| p));
        let paths = |s: &BlobSpec| s.modules.iter().map(|m| m.path.clone()).collect::<Vec<_>>();

        let mut spec = fresh();
        let p = plan(&mut spec, &root, storage("none", "auto")).unwrap();
        assert_eq!(paths(&spec), ["k/a.ko", "k/b.ko.gz", "k/c.ko", "k/d.ko"]);
        assert!(p.converts());
        assert_eq!(
            p.describe(),
            ["1 xz modules stored plain", "1 zstd modules stored plain"]
        );
        for (m, (tree_path, _)) in spec.modules.iter().zip(files) {
            assert_eq!(source_of(&root, &m.path).unwrap(), root.join(tree_path));
        }

        let mut spec = fresh();
        let p = plan(&mut spec, &root, storage("xz", "gzip")).unwrap();
        assert_eq!(
            paths(&spec),
            ["k/a.ko", "k/b.ko.gz", "k/c.ko.xz", "k/d.ko.gz"]
        );
        assert_eq!(p.describe(), ["1 zstd modules stored gzip"]);

        let mut spec = fresh();
        spec.modules[0].path = "k/missing.ko".into();
        assert!(
            plan(&mut spec, &root, Storage::default())
                .unwrap_err()
                .contains("missing.ko")
        );

        std::fs::write(root.join("k/c.ko"), ELF).unwrap();
        assert!(source_of(&root, "k/c.ko").unwrap_err().contains("2 forms"));
        assert!(
            source_of(&root, "k/e.ko")
                .unwrap_err()
                .contains("not found")
        );
        std::fs::remove_dir_all(&root).unwrap();
    }

    /// The generic default keeps a plain tree plain up to FIT_PLAIN_MAX
    /// bytes, and stores it compressed beyond, or when any module of the
    /// tree is compressed.
    #[test]
    fn fit_keeps_few_plain_bytes_plain() {
        let root = std::env::temp_dir().join(format!("modboot-fit-{}", std::process::id()));
        std::fs::create_dir_all(root.join("k")).unwrap();
        std::fs::write(root.join("k/a.ko"), ELF).unwrap();
        std::fs::write(root.join("k/b.ko.gz"), GZIP).unwrap();
        let big = std::fs::File::create(root.join("k/big.ko")).unwrap();
        big.set_len(FIT_PLAIN_MAX).unwrap();
        drop(big);
        std::fs::OpenOptions::new()
            .write(true)
            .open(root.join("k/big.ko"))
            .and_then(|mut f| std::io::Write::write_all(&mut f, ELF))
            .unwrap();
        let fit = Storage {
            kernel: KernelDecompress::None,
            compression: ModuleCompression::Fit,
        };

        let mut s = spec_of(&["k/a.ko"]);
        let p = plan(&mut s, &root, fit).unwrap();
        assert_eq!(s.modules[0].path, "k/a.ko");
        assert_eq!(p.kept_plain, Some((1, ELF.len() as u64)));
        assert!(p.describe()[0].starts_with("1 plain modules kept plain (0.0 MB, at most 24 MiB"));

        // Over the limit: every module gzip, as `compressed` stores them.
        let mut s = spec_of(&["k/a.ko", "k/big.ko"]);
        let p = plan(&mut s, &root, fit).unwrap();
        assert_eq!(s.modules[0].path, "k/a.ko.gz");
        assert_eq!(s.modules[1].path, "k/big.ko.gz");
        assert_eq!(
            (p.kept_plain, p.describe()),
            (None, vec!["2 plain modules stored gzip".to_string()])
        );

        // A compressed tree: compressed.
        let mut s = spec_of(&["k/a.ko", "k/b.ko.gz"]);
        plan(&mut s, &root, fit).unwrap();
        assert_eq!(s.modules[0].path, "k/a.ko.gz");
        std::fs::remove_dir_all(&root).unwrap();
    }
}
