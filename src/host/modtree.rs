//! A kernel's module tree, as depmod left it in `/lib/modules/<release>`.
//!
//! Reads `modules.dep` (every module and its dependencies), `modules.builtin`
//! (modules compiled into the kernel), `modules.order` (the kernel's link
//! order), `modules.alias` (the aliases modules declare) and the aliases of
//! built-in modules in `modules.builtin.modinfo`. Module names are derived
//! from file names the way kmod does: the base name up to its first `.`, with
//! `-` read as `_`.

use super::emit::normalise;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// One loadable module of the tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeModule {
    /// Normalised name.
    pub name: String,
    /// Path relative to the tree, as `modules.dep` gives it.
    pub path: String,
    /// Dependencies (indices into [`ModTree::modules`]) as `modules.dep` lists
    /// them. depmod lists them so that the last is loaded first.
    pub deps: Vec<usize>,
}

/// A parsed module tree.
#[derive(Clone, Debug)]
pub struct ModTree {
    /// The tree's directory.
    pub dir: PathBuf,
    /// The kernel release it belongs to.
    pub release: String,
    pub modules: Vec<TreeModule>,
    by_name: HashMap<String, usize>,
    builtin: BTreeSet<String>,
    order: HashMap<String, usize>,
    /// `(pattern, module)` from `modules.alias`, in file order.
    pub aliases: Vec<(String, String)>,
    /// `(pattern, module)` of built-in modules, from `modules.builtin.modinfo`.
    pub builtin_aliases: Vec<(String, String)>,
}

/// The module name of a path: `kernel/drivers/block/virtio-blk.ko.xz` is `virtio_blk`.
pub fn name_from_path(path: &str) -> String {
    let base = path.rsplit('/').next().unwrap_or(path);
    normalise(base.split('.').next().unwrap_or(base))
}

impl ModTree {
    /// Read the tree in `dir`. Its release is the directory's name unless given.
    pub fn open(dir: &Path, release: Option<&str>) -> Result<ModTree, String> {
        let read = |name: &str, required: bool| -> Result<String, String> {
            let path = dir.join(name);
            match std::fs::read_to_string(&path) {
                Ok(s) => Ok(s),
                Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {
                    Ok(String::new())
                }
                Err(e) => Err(format!(
                    "{}: {e} (run depmod for this tree first)",
                    path.display()
                )),
            }
        };
        let release = match release {
            Some(r) => r.to_string(),
            None => dir
                .canonicalize()
                .ok()
                .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
                .ok_or_else(|| {
                    format!(
                        "{}: cannot tell the kernel release; pass --release",
                        dir.display()
                    )
                })?,
        };
        let mut tree = Self::parse(
            &release,
            &read("modules.dep", true)?,
            &read("modules.builtin", false)?,
        )
        .map_err(|e| format!("{}/modules.dep: {e}", dir.display()))?;
        tree.set_order(&read("modules.order", false)?);
        tree.aliases = parse_aliases(&read("modules.alias", false)?)
            .map_err(|e| format!("{}/modules.alias: {e}", dir.display()))?;
        let modinfo = match std::fs::read(dir.join("modules.builtin.modinfo")) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(format!("{}/modules.builtin.modinfo: {e}", dir.display())),
        };
        tree.builtin_aliases = parse_builtin_aliases(&modinfo);
        tree.dir = dir.to_path_buf();
        Ok(tree)
    }

    /// Parse the text of `modules.dep` and `modules.builtin`.
    pub fn parse(release: &str, dep: &str, builtin: &str) -> Result<ModTree, String> {
        let prefix = format!("/lib/modules/{release}/");
        let rel = |p: &str| p.strip_prefix(&prefix).unwrap_or(p).to_string();
        let mut lines = Vec::new();
        let mut by_name = HashMap::new();
        for (n, line) in dep.lines().enumerate() {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let (path, deps) = line
                .split_once(':')
                .ok_or_else(|| format!("line {}: no ':' in {line:?}", n + 1))?;
            let path = rel(path.trim());
            let name = name_from_path(&path);
            if by_name.insert(name.clone(), lines.len()).is_some() {
                return Err(format!("line {}: module {name} listed twice", n + 1));
            }
            lines.push((
                name,
                path,
                deps.split_whitespace().map(rel).collect::<Vec<_>>(),
            ));
        }
        let mut modules = Vec::with_capacity(lines.len());
        for (name, path, deps) in lines {
            let deps = deps
                .iter()
                .map(|d| {
                    by_name
                        .get(&name_from_path(d))
                        .copied()
                        .ok_or_else(|| format!("{name}: dependency {d} has no line of its own"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            modules.push(TreeModule { name, path, deps });
        }
        let builtin = builtin
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(name_from_path)
            .collect();
        Ok(ModTree {
            dir: PathBuf::new(),
            release: release.to_string(),
            modules,
            by_name,
            builtin,
            order: HashMap::new(),
            aliases: Vec::new(),
            builtin_aliases: Vec::new(),
        })
    }

    fn set_order(&mut self, order: &str) {
        self.order = order
            .lines()
            .enumerate()
            .map(|(i, l)| (name_from_path(l.trim()), i))
            .collect();
    }

    /// The index of the module called `name` (`-` and `_` alike).
    pub fn find(&self, name: &str) -> Option<usize> {
        self.by_name.get(&normalise(name)).copied()
    }

    /// Whether `name` is compiled into the kernel.
    pub fn is_builtin(&self, name: &str) -> bool {
        self.builtin.contains(&normalise(name))
    }

    /// Names of the built-in modules, sorted.
    pub fn builtin_names(&self) -> impl Iterator<Item = &str> {
        self.builtin.iter().map(String::as_str)
    }

    /// Position of `name` in `modules.order`, if listed.
    pub fn order_of(&self, name: &str) -> Option<usize> {
        self.order.get(&normalise(name)).copied()
    }

    /// Dependencies of module `index` in load order: the reverse of the
    /// `modules.dep` listing, which is the order `modprobe` loads them in.
    pub fn load_order(&self, index: usize) -> impl Iterator<Item = usize> + '_ {
        self.modules[index].deps.iter().rev().copied()
    }
}

/// `alias PATTERN MODULE` lines of `modules.alias` (`#` comments allowed).
pub fn parse_aliases(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let mut words = line.split_whitespace();
        match (words.next(), words.next(), words.next(), words.next()) {
            (None, ..) => {}
            (Some(w), ..) if w.starts_with('#') => {}
            (Some("alias"), Some(pattern), Some(module), None) => {
                out.push((pattern.to_string(), normalise(module)))
            }
            _ => {
                return Err(format!(
                    "line {}: expected `alias PATTERN MODULE`: {line:?}",
                    n + 1
                ));
            }
        }
    }
    Ok(out)
}

/// The `NAME.alias=PATTERN` records of `modules.builtin.modinfo` (NUL-separated
/// `module.key=value` strings), in file order.
pub fn parse_builtin_aliases(modinfo: &[u8]) -> Vec<(String, String)> {
    modinfo
        .split(|&b| b == 0)
        .filter_map(|rec| {
            let rec = std::str::from_utf8(rec).ok()?;
            let (key, pattern) = rec.split_once('=')?;
            let module = key.strip_suffix(".alias")?;
            (!module.contains('.') && !module.is_empty())
                .then(|| (pattern.to_string(), normalise(module)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_and_builtin_aliases() {
        let a = parse_aliases("# Aliases extracted from modules themselves.\nalias fs-xfs xfs\nalias pci:v*d* virtio-pci\n\n").unwrap();
        assert_eq!(
            a,
            [
                ("fs-xfs".to_string(), "xfs".to_string()),
                ("pci:v*d*".into(), "virtio_pci".into())
            ]
        );
        assert!(
            parse_aliases("alias only-two\n")
                .unwrap_err()
                .contains("line 1")
        );
        let modinfo = b"ext4.alias=fs-ext4\0ext4.file=fs/ext4\0crc32c_generic.alias=crypto-crc32c\0bad\0.alias=x\0";
        assert_eq!(
            parse_builtin_aliases(modinfo),
            [
                ("fs-ext4".to_string(), "ext4".to_string()),
                ("crypto-crc32c".into(), "crc32c_generic".into())
            ]
        );
    }

    const DEP: &str = "\
kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_pci_legacy_dev.ko kernel/drivers/virtio/virtio_pci_modern_dev.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/virtio/virtio_ring.ko:
kernel/drivers/virtio/virtio_pci_legacy_dev.ko:
/lib/modules/6.1.0-x/kernel/drivers/virtio/virtio_pci_modern_dev.ko.xz:
kernel/fs/btrfs/btrfs.ko: kernel/crypto/xor.ko kernel/lib/raid6/raid6_pq.ko
kernel/crypto/xor.ko:
kernel/lib/raid6/raid6_pq.ko:
";

    #[test]
    fn names_from_paths() {
        assert_eq!(
            name_from_path("kernel/drivers/block/virtio-blk.ko.xz"),
            "virtio_blk"
        );
        assert_eq!(name_from_path("a.ko"), "a");
        assert_eq!(name_from_path("kernel/x/nls_cp437.ko"), "nls_cp437");
    }

    #[test]
    fn parses_modules_dep() {
        let t = ModTree::parse("6.1.0-x", DEP, "kernel/fs/ext4/ext4.ko\n").unwrap();
        assert_eq!(t.modules.len(), 9);
        let pci = t.find("virtio-pci").unwrap();
        let order: Vec<_> = t
            .load_order(pci)
            .map(|i| t.modules[i].name.as_str())
            .collect();
        assert_eq!(
            order,
            [
                "virtio_ring",
                "virtio",
                "virtio_pci_modern_dev",
                "virtio_pci_legacy_dev"
            ]
        );
        let modern = t.find("virtio_pci_modern_dev").unwrap();
        assert_eq!(
            t.modules[modern].path, "kernel/drivers/virtio/virtio_pci_modern_dev.ko.xz",
            "absolute prefix removed"
        );
        assert!(t.is_builtin("ext4"));
        assert!(!t.is_builtin("btrfs"));
        assert!(t.find("ext4").is_none());
    }

    /// Distributions' trees name `.ko.gz`, `.ko.xz` and `.ko.zst` files in
    /// `modules.dep` (paths and dependencies), `modules.order` and
    /// `modules.builtin`; names are the same as for `.ko`.
    #[test]
    fn compressed_module_files() {
        let dep = "kernel/a/virtio_blk.ko.zst: kernel/a/virtio.ko.xz kernel/a/virtio_ring.ko.gz
                   kernel/a/virtio.ko.xz: kernel/a/virtio_ring.ko.gz
                   /lib/modules/r/kernel/a/virtio_ring.ko.gz:
";
        let mut t = ModTree::parse(
            "r",
            dep,
            "kernel/fs/ext4/ext4.ko.xz
",
        )
        .unwrap();
        t.set_order(
            "kernel/a/virtio_ring.ko.gz
kernel/a/virtio.ko.xz
kernel/a/virtio_blk.ko.zst
",
        );
        let blk = t.find("virtio_blk").unwrap();
        assert_eq!(t.modules[blk].path, "kernel/a/virtio_blk.ko.zst");
        let order: Vec<_> = t
            .load_order(blk)
            .map(|i| t.modules[i].path.as_str())
            .collect();
        assert_eq!(
            order,
            ["kernel/a/virtio_ring.ko.gz", "kernel/a/virtio.ko.xz"]
        );
        assert!(t.is_builtin("ext4"));
        assert_eq!(t.order_of("virtio_blk"), Some(2));
        assert_eq!(t.order_of("virtio-ring"), Some(0));
    }

    #[test]
    fn rejects_broken_modules_dep() {
        assert!(
            ModTree::parse("r", "kernel/a.ko kernel/b.ko\n", "")
                .unwrap_err()
                .contains("no ':'")
        );
        assert!(
            ModTree::parse("r", "kernel/a.ko: kernel/b.ko\n", "")
                .unwrap_err()
                .contains("b.ko")
        );
        assert!(
            ModTree::parse("r", "kernel/a.ko:\nkernel/x/a.ko:\n", "")
                .unwrap_err()
                .contains("twice")
        );
    }
}
