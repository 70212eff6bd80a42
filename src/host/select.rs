//! From a module tree, its configuration and requested names to a blob spec.
//!
//! [`full_spec`] describes the whole tree (every module, alias, softdep and
//! configuration line). [`select`] keeps, of the modules, exactly those that
//! `modprobe NAME` would reach for the requested names, found by running the
//! core resolver (the code the init runs) on the full blob; aliases of
//! modules left out are dropped, the rest of the configuration is kept.

use super::emit::{self, BlobSpec, Deflate, ModuleSpec, SoftdepSpec};
use super::modprobe_d::Config;
use super::modtree::ModTree;
use crate::blob::Blob;
use crate::modname;
use crate::resolve::{self, Action, Resolver};
use std::collections::BTreeSet;

/// What a selection resolved to.
#[derive(Debug)]
pub struct Selection {
    pub spec: BlobSpec,
    /// Requested names that are built into the kernel: nothing to load.
    pub builtin: Vec<String>,
    /// Requested names whose modules an `install` command replaces.
    pub installed: Vec<(String, String)>,
}

/// kmod's normalisation of a pattern or name; `None` if it is invalid (kmod
/// skips those).
fn normalised(s: &str) -> Option<String> {
    String::from_utf8(modname::underscores(s.as_bytes())?.collect()).ok()
}

/// The whole tree and configuration as a spec; `load` is the boot list.
pub fn full_spec(tree: &ModTree, config: &Config, load: &[String]) -> BlobSpec {
    let ranked = tree.modules.len();
    let rank = |name: &str| {
        tree.order_of(name)
            .or_else(|| tree.find(name).map(|i| ranked + i))
            .unwrap_or(usize::MAX) as u32
    };
    BlobSpec {
        release: tree.release.clone(),
        modules: (0..tree.modules.len())
            .map(|i| ModuleSpec {
                name: tree.modules[i].name.clone(),
                path: tree.modules[i].path.clone(),
                deps: tree
                    .load_order(i)
                    .map(|d| tree.modules[d].name.clone())
                    .collect(),
            })
            .collect(),
        load: load.to_vec(),
        config_aliases: config.aliases.clone(),
        aliases: tree
            .aliases
            .iter()
            .filter_map(|(p, m)| Some((normalised(p)?, m.clone(), rank(m))))
            .collect(),
        builtin: tree.builtin_names().map(str::to_string).collect(),
        builtin_aliases: tree
            .builtin_aliases
            .iter()
            .filter_map(|(p, m)| Some((normalised(p)?, m.clone())))
            .collect(),
        options: config.options.clone(),
        commands: config.commands.clone(),
        softdeps: config
            .softdeps
            .iter()
            .map(|sd| {
                let names = |v: &[String]| {
                    v.iter()
                        .map(|n| normalised(n).unwrap_or_else(|| n.clone()))
                        .collect()
                };
                SoftdepSpec {
                    pattern: sd.pattern.clone(),
                    pre: names(&sd.pre),
                    post: names(&sd.post),
                }
            })
            .collect(),
        blacklist: config.blacklist.clone(),
    }
}

/// A blob for booting: `load` is loaded at boot, `pack` only packed (for
/// `modules-load=` and the kernel's own requests); with `all`, every module
/// of the tree is packed. An unknown name is an error.
pub fn select(
    tree: &ModTree,
    config: &Config,
    load: &[String],
    pack: &[String],
    all: bool,
) -> Result<Selection, String> {
    let full = full_spec(tree, config, load);
    let bytes = emit::emit_with(&full, Deflate::Never)?;
    let payload = emit::payload(&bytes).map_err(|e| e.describe().to_string())?;
    let blob = Blob::new_checked(&payload).map_err(|e| e.describe().to_string())?;
    let resolver = Resolver::new(blob, b"");

    let mut keep = BTreeSet::new();
    let mut builtin = Vec::new();
    let mut installed = Vec::new();
    for name in load.iter().chain(pack) {
        let mut buf = [0u8; 4096];
        let key = resolve::normalise(name.as_bytes(), &mut buf)
            .ok_or_else(|| format!("{name}: not a valid module name"))?;
        let mut loads = false;
        let mut only_builtin = true;
        let result = resolver.modprobe(key, &mut |step| match step.action {
            Action::Insmod(m) => {
                keep.insert(m.name().to_string());
                loads = true;
                only_builtin = false;
            }
            Action::Install(command) => {
                // Kept even when the command disables it: the boot then
                // resolves the module's aliases as modprobe does, and says why
                // it does not load it. Any other command cannot run in an
                // initramfs, so the init loads the module itself.
                if let Some(m) = blob.find(step.object.name.as_bytes()) {
                    keep.insert(m.name().to_string());
                }
                installed.push((step.object.name.to_string(), command.to_string()));
                only_builtin = false;
            }
            Action::Builtin => {}
            Action::Nothing => only_builtin = false,
        });
        match result {
            Err(_) => {
                return Err(format!(
                    "{name}: no module, alias or built-in of that name in {} (kernel {})",
                    tree.dir.display(),
                    tree.release
                ));
            }
            Ok(()) if !loads && only_builtin => builtin.push(name.clone()),
            Ok(()) => {}
        }
    }
    // weakdep: what the lines for a packed module name is packed too (never
    // loaded for it), and so on until nothing new comes in.
    loop {
        let before = keep.len();
        let named: Vec<String> = config
            .weakdeps
            .iter()
            .filter(|(pattern, _)| {
                keep.iter()
                    .any(|m| crate::glob::matches(pattern.as_bytes(), m.as_bytes()))
            })
            .flat_map(|(_, names)| names.iter().cloned())
            .collect();
        for name in named {
            let mut buf = [0u8; 4096];
            let Some(key) = resolve::normalise(name.as_bytes(), &mut buf) else {
                continue;
            };
            let _ = resolver.modprobe(key, &mut |step| {
                if let Action::Insmod(m) = step.action {
                    keep.insert(m.name().to_string());
                }
            });
        }
        if keep.len() == before {
            break;
        }
    }
    if all {
        return Ok(Selection {
            spec: full,
            builtin,
            installed,
        });
    }
    let mut spec = full;
    spec.modules.retain(|m| keep.contains(&m.name));
    spec.aliases.retain(|(_, m, _)| keep.contains(m));
    Ok(Selection {
        spec,
        builtin,
        installed,
    })
}

/// Read a selection file: one module name per line; `#` starts a comment.
pub fn parse_list(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> ModTree {
        let mut t = ModTree::parse(
            "r",
            "kernel/b.ko: kernel/a.ko\nkernel/a.ko:\nkernel/c.ko:\nkernel/d-x.ko: kernel/b.ko kernel/a.ko\nkernel/e.ko:\n",
            "kernel/ext4.ko\n",
        )
        .unwrap();
        t.aliases = vec![
            ("pci:v1234d*".into(), "c".into()),
            ("fs-dx".into(), "d_x".into()),
        ];
        t
    }

    #[test]
    fn selection_follows_what_modprobe_reaches() {
        let mut cfg = Config::default();
        cfg.parse(
            "t",
            "options a x=1\nsoftdep b pre: e\ninstall c /bin/true\n",
        );
        let sel = select(
            &tree(),
            &cfg,
            &["fs-dx".into(), "ext4".into()],
            &["pci:v1234d0001".into()],
            false,
        )
        .unwrap();
        assert_eq!(sel.builtin, ["ext4"]);
        assert_eq!(sel.spec.load, ["fs-dx", "ext4"]);
        let names: Vec<_> = sel.spec.modules.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(
            names,
            ["b", "a", "c", "d_x", "e"],
            "e is b's softdep; c is kept though install disables it"
        );
        assert_eq!(sel.installed, [("c".to_string(), "/bin/true".to_string())]);
        assert_eq!(sel.spec.aliases.len(), 2);
        let sel = select(&tree(), &cfg, &["b".into()], &[], false).unwrap();
        assert_eq!(
            sel.spec.aliases.len(),
            0,
            "aliases of modules left out are dropped"
        );
        assert!(
            select(&tree(), &cfg, &["zzz".into()], &[], false)
                .unwrap_err()
                .contains("zzz")
        );
        let mut weak = Config::default();
        weak.parse("w", "weakdep b c\nweakdep c e\n");
        let sel = select(&tree(), &weak, &["b".into()], &[], false).unwrap();
        let names: Vec<_> = sel.spec.modules.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["b", "a", "c", "e"], "weakdeps packed, transitively");
        assert_eq!(sel.spec.load, ["b"], "and not loaded");
        let all = select(&tree(), &cfg, &[], &[], true).unwrap();
        assert_eq!(all.spec.modules.len(), 5);
    }

    #[test]
    fn lists() {
        assert_eq!(
            parse_list("# x\nvirtio_pci  # bus\n\n virtio_blk\n"),
            ["virtio_pci", "virtio_blk"]
        );
    }
}
