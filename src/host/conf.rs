//! modboot's configuration: `modboot.conf` and `modboot.conf.d/*.conf` in
//! the configuration directory (`/etc` for an installed modboot), read in
//! that order, the drop-ins sorted by file name, later settings winning (as
//! dracut reads `dracut.conf.d` and kmod `modprobe.d`).
//!
//! ```text
//! # a comment; blank lines are ignored
//! modules = virtio_pci virtio_blk     # `=` sets the key
//! modules += nvme                     # `+=` appends (list keys only)
//! generic = yes
//! ```
//!
//! Values are whitespace-separated words; `#` starts a comment anywhere.
//! Each key is one setting of `mkmodboot`'s command line, and a flag given
//! there replaces the configured value of its key. A line that cannot be
//! read stops the build with the file and line.

use super::modstore::{KernelDecompress, ModuleCompression};
use crate::blkid::Layer;
use crate::compression::Format;
use std::path::{Path, PathBuf};

/// A name to load or pack, with where it was given, for messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Named {
    pub name: String,
    /// `FILE:LINE`, or `the command line`.
    pub origin: String,
}

/// What the configuration files set; `None` for a key none of them sets.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Conf {
    /// Names to load at boot (`modules`).
    pub modules: Option<Vec<Named>>,
    /// Names packed but not loaded (`pack`).
    pub pack: Option<Vec<Named>>,
    /// `modprobe.d` directories and files (`modprobe_d`).
    pub modprobe_d: Option<Vec<PathBuf>>,
    /// Every storage and filesystem driver (`generic`).
    pub generic: Option<bool>,
    /// Root filesystem types to pack (`rootfs`).
    pub rootfs: Option<Vec<String>>,
    /// The layers between the disks and the root whose modules, tools and
    /// configuration are packed (`layers`: luks, lvm, md).
    pub layers: Option<Vec<Layer>>,
    /// The image's compression (`compress`).
    pub compress: Option<Format>,
    /// Its level (`compress_level`).
    pub compress_level: Option<i32>,
    /// Extra files, `(path in the image, source)` (`add`).
    pub add: Option<Vec<(String, PathBuf)>>,
    pub kernel_decompress: Option<KernelDecompress>,
    pub module_compression: Option<ModuleCompression>,
    /// Pick what this machine's root needs (`hostonly`).
    pub hostonly: Option<bool>,
    /// Where firmware and CPU microcode come from (`firmware_dir`).
    pub firmware_dir: Option<PathBuf>,
    /// Early CPU microcode (`microcode`).
    pub microcode: Option<bool>,
    /// The rescue shell (`rescue`): `Some(None)` for `no`, else the file
    /// (`yes`: the build machine's busybox).
    pub rescue: Option<Option<PathBuf>>,
    /// The files read, in order.
    pub files: Vec<PathBuf>,
}

/// The keys, with what each takes (for the message about an unknown key).
pub const KEYS: &[(&str, &str)] = &[
    ("modules", "names to load at boot"),
    ("pack", "names packed but not loaded"),
    (
        "modprobe_d",
        "modprobe.d directories or files (absolute paths)",
    ),
    ("generic", "yes or no"),
    ("rootfs", "root filesystem types to pack"),
    ("layers", "luks, lvm, md: the layers under the root to pack"),
    ("compress", "zstd, gzip, xz or none"),
    ("compress_level", "a number"),
    (
        "add",
        "PATH=SOURCE: SOURCE (an absolute path) packed at PATH",
    ),
    ("kernel_decompress", "none, gzip, xz or zstd"),
    (
        "module_compression",
        "auto, plain, gzip, compressed or none",
    ),
    ("hostonly", "yes or no"),
    ("firmware_dir", "an absolute path"),
    ("microcode", "yes or no"),
    (
        "rescue",
        "yes (the build machine's busybox), no, or a static shell's absolute path",
    ),
];

/// The image compressions `compress` and `--compress` take: zstd, gzip, xz,
/// none.
pub fn parse_compress(word: &str) -> Option<Format> {
    match word {
        "zstd" => Some(Format::Zstd),
        "gzip" => Some(Format::Gzip),
        "xz" => Some(Format::Xz),
        "none" => Some(Format::Plain),
        _ => None,
    }
}

/// `PATH=SOURCE` of `add` and `--add`: the path in the image (relative,
/// without `..`) and the file it comes from.
pub fn parse_add(word: &str) -> Result<(String, PathBuf), String> {
    let (path, source) = word
        .split_once('=')
        .ok_or_else(|| format!("{word}: not PATH=SOURCE"))?;
    let path = path.trim_start_matches('/');
    if path.is_empty()
        || path
            .split('/')
            .any(|c| c == ".." || c == "." || c.is_empty())
    {
        return Err(format!(
            "{word}: the path in the image must be a plain path"
        ));
    }
    if source.is_empty() {
        return Err(format!("{word}: no SOURCE file"));
    }
    Ok((path.to_string(), PathBuf::from(source)))
}

impl Conf {
    /// Read `dir/modboot.conf` and `dir/modboot.conf.d/*.conf`; either may
    /// be missing.
    pub fn load(dir: &Path) -> Result<Conf, String> {
        let mut files = vec![dir.join("modboot.conf")];
        let dropins = dir.join("modboot.conf.d");
        match std::fs::read_dir(&dropins) {
            Ok(entries) => {
                let mut more = Vec::new();
                for e in entries {
                    let path = e.map_err(|e| format!("{}: {e}", dropins.display()))?.path();
                    let name = path.file_name().unwrap_or_default().to_string_lossy();
                    if name.ends_with(".conf") && !name.starts_with('.') {
                        more.push(path);
                    }
                }
                more.sort();
                files.extend(more);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("{}: {e}", dropins.display())),
        }
        let mut conf = Conf::default();
        for f in files {
            match std::fs::read_to_string(&f) {
                Ok(text) => {
                    conf.parse(&f.display().to_string(), &text)?;
                    conf.files.push(f);
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(format!("{}: {e}", f.display())),
            }
        }
        Ok(conf)
    }

    /// Read one file's text on top of what is set already; `file` names it
    /// in messages.
    pub fn parse(&mut self, file: &str, text: &str) -> Result<(), String> {
        for (n, line) in text.lines().enumerate() {
            let at = format!("{file}:{}", n + 1);
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let (key, append, value) = match line.split_once('=') {
                Some((k, v)) if k.ends_with('+') => (k[..k.len() - 1].trim(), true, v),
                Some((k, v)) => (k.trim(), false, v),
                None => return Err(format!("{at}: not `key = value`: {line}")),
            };
            let words: Vec<&str> = value.split_whitespace().collect();
            self.set(key, append, &words, &at)
                .map_err(|e| format!("{at}: {e}"))?;
        }
        Ok(())
    }

    fn set(&mut self, key: &str, append: bool, words: &[&str], at: &str) -> Result<(), String> {
        fn list<T>(slot: &mut Option<Vec<T>>, append: bool, items: Vec<T>) {
            match slot {
                Some(v) if append => v.extend(items),
                _ => *slot = Some(items),
            }
        }
        fn one<'a>(key: &str, append: bool, words: &[&'a str]) -> Result<&'a str, String> {
            if append {
                return Err(format!("{key} takes one value: `+=` is for lists"));
            }
            match words {
                [w] => Ok(w),
                _ => Err(format!("{key} takes one value, not {}", words.len())),
            }
        }
        let bad = |what: &str, w: &str| format!("{key} = {w}: {what}");
        match key {
            "modules" | "pack" => {
                let items = words
                    .iter()
                    .map(|w| Named {
                        name: w.to_string(),
                        origin: at.to_string(),
                    })
                    .collect();
                list(
                    if key == "modules" {
                        &mut self.modules
                    } else {
                        &mut self.pack
                    },
                    append,
                    items,
                );
            }
            "modprobe_d" => {
                if let Some(w) = words.iter().find(|w| !w.starts_with('/')) {
                    return Err(bad("not an absolute path", w));
                }
                list(
                    &mut self.modprobe_d,
                    append,
                    words.iter().map(PathBuf::from).collect(),
                );
            }
            "rootfs" => list(
                &mut self.rootfs,
                append,
                words.iter().map(|w| w.to_string()).collect(),
            ),
            "layers" => {
                let mut items = Vec::new();
                for w in words {
                    items.push(super::layers::parse(w).ok_or_else(|| bad("luks, lvm or md", w))?);
                }
                list(&mut self.layers, append, items);
            }
            "add" => {
                let mut items = Vec::new();
                for w in words {
                    let (path, source) = parse_add(w)?;
                    if !source.is_absolute() {
                        return Err(bad("SOURCE is not an absolute path", w));
                    }
                    items.push((path, source));
                }
                list(&mut self.add, append, items);
            }
            "generic" | "hostonly" | "microcode" => {
                let w = one(key, append, words)?;
                let yes = match w {
                    "yes" | "true" | "1" => true,
                    "no" | "false" | "0" => false,
                    _ => return Err(bad("yes or no", w)),
                };
                *match key {
                    "generic" => &mut self.generic,
                    "hostonly" => &mut self.hostonly,
                    _ => &mut self.microcode,
                } = Some(yes);
            }
            "rescue" => {
                let w = one(key, append, words)?;
                if !matches!(w, "yes" | "true" | "1" | "no" | "false" | "0") && !w.starts_with('/')
                {
                    return Err(bad("yes, no or a static shell's absolute path", w));
                }
                self.rescue = Some(super::rescue::parse(w)?);
            }
            "firmware_dir" => {
                let w = one(key, append, words)?;
                if !w.starts_with('/') {
                    return Err(bad("not an absolute path", w));
                }
                self.firmware_dir = Some(PathBuf::from(w));
            }
            "compress" => {
                let w = one(key, append, words)?;
                self.compress =
                    Some(parse_compress(w).ok_or_else(|| bad("zstd, gzip, xz or none", w))?);
            }
            "compress_level" => {
                let w = one(key, append, words)?;
                self.compress_level = Some(w.parse().map_err(|_| bad("a number", w))?);
            }
            "kernel_decompress" => {
                let w = one(key, append, words)?;
                self.kernel_decompress = Some(
                    KernelDecompress::parse(w).ok_or_else(|| bad("none, gzip, xz or zstd", w))?,
                );
            }
            "module_compression" => {
                let w = one(key, append, words)?;
                self.module_compression = Some(
                    ModuleCompression::parse(w)
                        .ok_or_else(|| bad("auto, plain, gzip, compressed or none", w))?,
                );
            }
            _ => {
                let known: Vec<&str> = KEYS.iter().map(|(k, _)| *k).collect();
                return Err(format!(
                    "unknown key {key:?} (the keys: {})",
                    known.join(", ")
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_wins_and_appends() {
        let mut c = Conf::default();
        c.parse(
            "a.conf",
            "# x\nmodules = virtio_pci virtio_blk # bus\n\ngeneric = yes\ncompress = zstd\n",
        )
        .unwrap();
        c.parse(
            "b.conf",
            "modules += nvme\ngeneric = no\ncompress_level = 19\nrootfs = ext4 btrfs\n",
        )
        .unwrap();
        let names: Vec<_> = c
            .modules
            .clone()
            .unwrap()
            .into_iter()
            .map(|n| (n.name, n.origin))
            .collect();
        assert_eq!(
            names,
            [
                ("virtio_pci".to_string(), "a.conf:2".to_string()),
                ("virtio_blk".into(), "a.conf:2".into()),
                ("nvme".into(), "b.conf:1".into())
            ]
        );
        assert_eq!(
            (c.generic, c.compress, c.compress_level),
            (Some(false), Some(Format::Zstd), Some(19))
        );
        assert_eq!(
            c.rootfs.as_deref(),
            Some(&["ext4".to_string(), "btrfs".into()][..])
        );
        c.parse("c.conf", "layers = luks lvm\nlayers += md\n")
            .unwrap();
        assert_eq!(c.layers, Some(vec![Layer::Luks, Layer::Lvm, Layer::Md]));
        c.parse("c.conf", "modules = \n").unwrap();
        assert_eq!(c.modules, Some(vec![]));
        let mut r = Conf::default();
        r.parse("r.conf", "rescue = yes\n").unwrap();
        assert_eq!(r.rescue, Some(Some(PathBuf::from("/bin/busybox"))));
        r.parse("s.conf", "rescue = /opt/sh\n").unwrap();
        assert_eq!(r.rescue, Some(Some(PathBuf::from("/opt/sh"))));
        r.parse("t.conf", "rescue = no\n").unwrap();
        assert_eq!(r.rescue, Some(None));
    }

    #[test]
    fn a_bad_line_names_file_and_line() {
        let cases = [
            ("modules virtio", "f:1: not `key = value`: modules virtio"),
            ("generic = maybe", "f:1: generic = maybe: yes or no"),
            (
                "compress += zstd",
                "f:1: compress takes one value: `+=` is for lists",
            ),
            (
                "compress = lz4",
                "f:1: compress = lz4: zstd, gzip, xz or none",
            ),
            (
                "rescue = busybox",
                "f:1: rescue = busybox: yes, no or a static shell's absolute path",
            ),
            (
                "modprobe_d = etc/modprobe.d",
                "f:1: modprobe_d = etc/modprobe.d: not an absolute path",
            ),
            ("add = /etc/x", "f:1: /etc/x: not PATH=SOURCE"),
            ("layers = luks zfs", "f:1: layers = zfs: luks, lvm or md"),
            (
                "add = ../x=/etc/x",
                "f:1: ../x=/etc/x: the path in the image must be a plain path",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(Conf::default().parse("f", text).unwrap_err(), want);
        }
        let e = Conf::default()
            .parse("f", "\nearly_cpio = yes")
            .unwrap_err();
        assert!(
            e.starts_with("f:2: unknown key \"early_cpio\" (the keys: modules, pack"),
            "{e}"
        );
    }

    #[test]
    fn reads_the_main_file_then_drop_ins_by_name() {
        let dir = std::env::temp_dir().join(format!("modboot-conf-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("modboot.conf.d")).unwrap();
        assert_eq!(Conf::load(&dir).unwrap(), Conf::default());
        std::fs::write(dir.join("modboot.conf"), "compress = xz\nmodules = a\n").unwrap();
        std::fs::write(dir.join("modboot.conf.d/20-b.conf"), "compress = none\n").unwrap();
        std::fs::write(
            dir.join("modboot.conf.d/10-a.conf"),
            "compress = zstd\nmodules += b\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("modboot.conf.d/30-c.conf.bak"),
            "compress = gzip\n",
        )
        .unwrap();
        let c = Conf::load(&dir).unwrap();
        assert_eq!(c.compress, Some(Format::Plain));
        assert_eq!(c.modules.unwrap().len(), 2);
        assert_eq!(c.files.len(), 3);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
