//! A build's settings: what the command line gave ([`Given`], [`GivenImage`],
//! filled by `mkmodboot` from its arguments, without clap) merged with the
//! configuration file ([`conf`](super::conf)) into [`Settings`], the one
//! input of the steps that make a blob or an image.
//!
//! A key given on the command line replaces the configured one; a yes/no
//! key is set by `--X` or cleared by `--no-X` ([`switch`]); a key set by
//! neither takes its default, which for the image's compression and the
//! modules' storage depends on whether the image packs many modules of
//! which a boot loads few (`--generic`, `--all`).

use super::conf::{Conf, Named};
use super::emit::Deflate;
use super::modstore::{KernelDecompress, ModuleCompression};
use super::{layers, paths, rescue, select};
use crate::blkid::Layer;
use crate::compression::Format;
use std::path::PathBuf;

/// Which modules an image or blob holds and loads, as the command line gave
/// them (each field an option of `mkmodboot`'s of the same name).
#[derive(Clone, Debug, Default)]
pub struct Given {
    /// `NAME...`: names to load at boot.
    pub names: Vec<String>,
    /// `--list FILE`: more names, one a line, before the NAMEs.
    pub list: Vec<PathBuf>,
    pub pack: Vec<String>,
    pub all: bool,
    pub generic: bool,
    pub no_generic: bool,
    pub hostonly: bool,
    pub no_hostonly: bool,
    /// `--rootfs`: empty when not given; `--rootfs ''` gives one empty type.
    pub rootfs: Vec<String>,
    /// `--layers`: empty when not given.
    pub layers: Vec<String>,
    /// `--no-layers`.
    pub no_layers: bool,
    /// `--config`.
    pub modprobe_d: Vec<PathBuf>,
    pub release: Option<String>,
    pub deflate: Option<Deflate>,
    pub kernel_decompress: Option<KernelDecompress>,
    pub module_compression: Option<ModuleCompression>,
    /// `--conf FILE`: this configuration file instead of the installed ones.
    pub conf: Option<PathBuf>,
    pub no_conf: bool,
}

/// How an image is put together beyond its modules, as the command line
/// gave it (`mkmodboot image` and `update`).
#[derive(Clone, Debug, Default)]
pub struct GivenImage {
    pub init: Option<PathBuf>,
    pub compress: Option<Format>,
    pub compress_level: Option<i32>,
    /// `--add PATH=SOURCE`.
    pub add: Vec<(String, PathBuf)>,
    pub firmware_dir: Option<PathBuf>,
    pub no_microcode: bool,
    /// `--rescue[=FILE]`: `yes` without a file.
    pub rescue: Option<String>,
    pub no_rescue: bool,
}

/// Everything a build uses, from the configuration file and the command line.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub names: Vec<Named>,
    pub pack: Vec<Named>,
    pub modprobe_d: Vec<PathBuf>,
    pub generic: bool,
    pub all: bool,
    /// `None`: the default rule ([`super::bootable::default_rootfs`]).
    pub rootfs: Option<Vec<String>>,
    /// The layers asked for (`--layers`, `layers`); `None`: the default
    /// rule ([`super::layers::wanted`]: those the build machine's own root
    /// needs, for a generic image of one of its kernels).
    pub layers: Option<Vec<Layer>>,
    pub release: Option<String>,
    pub deflate: Deflate,
    pub kernel_decompress: Option<KernelDecompress>,
    pub module_compression: ModuleCompression,
    pub hostonly: bool,
    pub init: Option<PathBuf>,
    pub compress: Format,
    pub compress_level: Option<i32>,
    pub add: Vec<(String, PathBuf)>,
    pub firmware_dir: PathBuf,
    pub microcode: bool,
    /// The rescue shell to pack at `/bin/sh`.
    pub rescue: Option<PathBuf>,
}

/// The settings of a build: the configuration file(s) [`load_conf`] finds,
/// merged with the command line; `image` for an image (`None`: a blob).
pub fn settings(s: &Given, image: Option<&GivenImage>) -> Result<Settings, String> {
    merge(s, image, load_conf(s)?)
}

/// The configuration file(s) a build reads: `--conf FILE`, none with
/// `--no-conf`, else the installed ones.
pub fn load_conf(s: &Given) -> Result<Conf, String> {
    if s.no_conf {
        return Ok(Conf::default());
    }
    if let Some(file) = &s.conf {
        let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        let mut c = Conf::default();
        c.parse(&file.display().to_string(), &text)?;
        c.files.push(file.clone());
        return Ok(c);
    }
    match paths::sysconfdir() {
        Some(dir) => Conf::load(dir),
        None => Ok(Conf::default()),
    }
}

/// The command line over the configuration `c`. Reads the `--list` files
/// and checks that every `modprobe.d` path exists.
pub fn merge(s: &Given, image: Option<&GivenImage>, c: Conf) -> Result<Settings, String> {
    let cli = |name: &String| Named {
        name: name.clone(),
        origin: "the command line".into(),
    };
    let mut names = Vec::new();
    for file in &s.list {
        let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        names.extend(
            select::parse_list(&text)
                .into_iter()
                .map(|(line, name)| Named {
                    name,
                    origin: format!("{}:{line}", file.display()),
                }),
        );
    }
    names.extend(s.names.iter().map(cli));
    let given = !s.list.is_empty() || !s.names.is_empty();
    let names = if given {
        names
    } else {
        c.modules.unwrap_or_default()
    };
    let pack = if s.pack.is_empty() {
        c.pack.unwrap_or_default()
    } else {
        s.pack.iter().map(cli).collect()
    };
    let modprobe_d = if s.modprobe_d.is_empty() {
        c.modprobe_d.unwrap_or_default()
    } else {
        s.modprobe_d.clone()
    };
    for p in &modprobe_d {
        if !p.exists() {
            return Err(format!(
                "{}: no such modprobe.d directory or file (--config or modprobe_d): \
                 its options would be lost",
                p.display()
            ));
        }
    }
    let generic = switch(s.generic, s.no_generic, c.generic);
    // An image of many modules of which a boot loads few (--generic, --all)
    // has an uncompressed archive (the kernel's unpacking is a copy) of
    // modules kept plain while they are few bytes (the init inflates none),
    // else each compressed (RAM holds compressed modules, and only what is
    // loaded is decompressed): ModuleCompression::Fit; README.md ("Boot
    // benchmark", "Generic images") has the figures.
    let many = generic || s.all;
    // `--rootfs ''` packs none.
    let rootfs = if s.rootfs.is_empty() {
        c.rootfs
    } else {
        Some(s.rootfs.iter().filter(|t| !t.is_empty()).cloned().collect())
    };
    let layers = if s.no_layers {
        Some(Vec::new())
    } else if s.layers.is_empty() {
        c.layers
    } else {
        let mut out = Vec::new();
        for w in s.layers.iter().filter(|w| !w.is_empty()) {
            out.push(layers::parse(w).ok_or_else(|| format!("--layers {w}: luks, lvm or md"))?);
        }
        Some(out)
    };
    let hostonly = switch(s.hostonly, s.no_hostonly, c.hostonly);
    let firmware_dir = image
        .and_then(|i| i.firmware_dir.clone())
        .or(c.firmware_dir.clone())
        .unwrap_or_else(|| PathBuf::from("/lib/firmware"));
    let microcode = !image.is_some_and(|i| i.no_microcode) && c.microcode.unwrap_or(true);
    let rescue = match image {
        Some(i) if i.no_rescue => None,
        Some(i) => match &i.rescue {
            Some(w) => rescue::parse(w).map_err(|e| format!("--rescue={w}: {e}"))?,
            None => c.rescue.clone().flatten(),
        },
        None => None,
    };
    let (init, compress, compress_level, add) = match image {
        Some(i) => (
            i.init.clone(),
            i.compress
                .or(c.compress)
                .unwrap_or(if many { Format::Plain } else { Format::Gzip }),
            i.compress_level.or(c.compress_level),
            if i.add.is_empty() {
                c.add.unwrap_or_default()
            } else {
                i.add.clone()
            },
        ),
        None => (None, Format::Gzip, None, Vec::new()),
    };
    Ok(Settings {
        names,
        pack,
        modprobe_d,
        generic,
        all: s.all,
        rootfs,
        layers,
        release: s.release.clone(),
        deflate: s.deflate.unwrap_or(Deflate::Auto),
        kernel_decompress: s.kernel_decompress.or(c.kernel_decompress),
        module_compression: s
            .module_compression
            .or(c.module_compression)
            .unwrap_or(if many {
                ModuleCompression::Fit
            } else {
                ModuleCompression::Auto
            }),
        hostonly,
        init,
        compress,
        compress_level,
        add,
        firmware_dir,
        microcode,
        rescue,
    })
}

/// A yes/no setting: `--X` or `--no-X` on the command line (the later of
/// the two wins, as clap leaves only it set), else the configuration, else
/// no.
pub fn switch(on: bool, off: bool, configured: Option<bool>) -> bool {
    on || (!off && configured.unwrap_or(false))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(text: &str) -> Conf {
        let mut c = Conf::default();
        c.parse("test.conf", text).unwrap();
        c
    }

    #[test]
    fn switch_flag_over_configuration() {
        assert!(switch(true, false, Some(false)));
        assert!(!switch(false, true, Some(true)));
        assert!(switch(false, false, Some(true)));
        assert!(!switch(false, false, None));
    }

    #[test]
    fn command_line_replaces_configured_names() {
        let c = "modules = virtio_blk\npack = nvme\n";
        let s = merge(&Given::default(), None, conf(c)).unwrap();
        assert_eq!(s.names[0].name, "virtio_blk");
        assert_eq!(s.names[0].origin, "test.conf:1");
        assert_eq!(s.pack[0].name, "nvme");
        let given = Given {
            names: vec!["ext4".into()],
            ..Given::default()
        };
        let s = merge(&given, None, conf(c)).unwrap();
        let names: Vec<_> = s
            .names
            .iter()
            .map(|n| (&n.name[..], &n.origin[..]))
            .collect();
        assert_eq!(names, [("ext4", "the command line")]);
        assert_eq!(s.pack[0].name, "nvme");
    }

    #[test]
    fn defaults_for_one_machine_and_for_many() {
        let image = GivenImage::default();
        let s = merge(&Given::default(), Some(&image), Conf::default()).unwrap();
        assert_eq!(s.compress, Format::Gzip);
        assert_eq!(s.module_compression, ModuleCompression::Auto);
        assert_eq!(s.deflate, Deflate::Auto);
        assert_eq!(s.firmware_dir, PathBuf::from("/lib/firmware"));
        assert!(s.microcode && s.rescue.is_none() && s.rootfs.is_none());
        let generic = Given {
            generic: true,
            ..Given::default()
        };
        let s = merge(&generic, Some(&image), Conf::default()).unwrap();
        assert_eq!(s.compress, Format::Plain);
        assert_eq!(s.module_compression, ModuleCompression::Fit);
        // A blob has no image settings.
        let s = merge(&generic, None, conf("compress = zstd\n")).unwrap();
        assert_eq!(s.compress, Format::Gzip);
    }

    #[test]
    fn empty_rootfs_packs_none_and_no_flags_win() {
        let given = Given {
            rootfs: vec![String::new()],
            no_generic: true,
            ..Given::default()
        };
        let image = GivenImage {
            no_microcode: true,
            no_rescue: true,
            ..GivenImage::default()
        };
        let c = conf("rootfs = xfs\ngeneric = yes\nrescue = yes\n");
        let s = merge(&given, Some(&image), c).unwrap();
        assert_eq!(s.rootfs, Some(Vec::new()));
        assert!(!s.generic && !s.microcode && s.rescue.is_none());
    }

    #[test]
    fn layers_from_the_command_line_or_the_configuration() {
        let c = "layers = luks md\n";
        let s = merge(&Given::default(), None, conf(c)).unwrap();
        assert_eq!(s.layers, Some(vec![Layer::Luks, Layer::Md]));
        let given = Given {
            layers: vec!["lvm".into()],
            ..Given::default()
        };
        assert_eq!(
            merge(&given, None, conf(c)).unwrap().layers,
            Some(vec![Layer::Lvm])
        );
        let none = Given {
            no_layers: true,
            ..Given::default()
        };
        assert_eq!(merge(&none, None, conf(c)).unwrap().layers, Some(vec![]));
        assert_eq!(
            merge(&Given::default(), None, Conf::default())
                .unwrap()
                .layers,
            None
        );
        let bad = Given {
            layers: vec!["zfs".into()],
            ..Given::default()
        };
        assert_eq!(
            merge(&bad, None, Conf::default()).unwrap_err(),
            "--layers zfs: luks, lvm or md"
        );
    }

    #[test]
    fn missing_modprobe_d_is_an_error() {
        let given = Given {
            modprobe_d: vec![PathBuf::from("/nonexistent/modprobe.d")],
            ..Given::default()
        };
        let e = merge(&given, None, Conf::default()).unwrap_err();
        assert!(
            e.starts_with("/nonexistent/modprobe.d: no such modprobe.d"),
            "{e}"
        );
    }

    #[test]
    fn no_conf_reads_nothing() {
        let given = Given {
            no_conf: true,
            conf: Some(PathBuf::from("/nonexistent.conf")),
            ..Given::default()
        };
        assert_eq!(load_conf(&given).unwrap(), Conf::default());
    }
}
