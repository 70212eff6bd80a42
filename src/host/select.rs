//! From module names to a blob: which modules the blob holds and loads.

use super::emit::{BlobSpec, ModuleSpec};
use super::modprobe_d::Config;
use super::modtree::ModTree;
use std::collections::BTreeSet;

/// What a selection resolved to.
#[derive(Debug)]
pub struct Selection {
    pub spec: BlobSpec,
    /// Requested names that are built into the kernel: nothing to load.
    pub builtin: Vec<String>,
}

/// Resolve `names` against `tree`: each named module is loaded at boot (in the
/// order given), and the blob holds it and everything it depends on. A
/// built-in name is noted, not loaded; an unknown name is an error.
pub fn select(tree: &ModTree, config: &Config, names: &[String]) -> Result<Selection, String> {
    let mut included = BTreeSet::new();
    let mut load = Vec::new();
    let mut builtin = Vec::new();
    for name in names {
        match tree.find(name) {
            Some(i) => {
                included.insert(i);
                included.extend(tree.load_order(i));
                let n = &tree.modules[i].name;
                if !load.contains(n) {
                    load.push(n.clone());
                }
            }
            None if tree.is_builtin(name) => builtin.push(name.clone()),
            None => {
                return Err(format!(
                    "module {name} is neither in {}/modules.dep nor built in (kernel {})",
                    tree.dir.display(),
                    tree.release
                ));
            }
        }
    }
    let modules = included
        .into_iter()
        .map(|i| {
            let m = &tree.modules[i];
            ModuleSpec {
                name: m.name.clone(),
                path: m.path.clone(),
                options: config.options_for(&m.name),
                deps: tree
                    .load_order(i)
                    .map(|d| tree.modules[d].name.clone())
                    .collect(),
            }
        })
        .collect();
    Ok(Selection {
        spec: BlobSpec {
            release: tree.release.clone(),
            modules,
            load,
        },
        builtin,
    })
}

/// Every module of the tree, none loaded at boot unless named in `load`.
pub fn select_all(tree: &ModTree, config: &Config, load: &[String]) -> Result<Selection, String> {
    let mut sel = select(tree, config, load)?;
    sel.spec.modules = (0..tree.modules.len())
        .map(|i| {
            let m = &tree.modules[i];
            ModuleSpec {
                name: m.name.clone(),
                path: m.path.clone(),
                options: config.options_for(&m.name),
                deps: tree
                    .load_order(i)
                    .map(|d| tree.modules[d].name.clone())
                    .collect(),
            }
        })
        .collect();
    Ok(sel)
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

    #[test]
    fn selection_pulls_in_dependencies() {
        let tree = ModTree::parse(
            "r",
            "kernel/b.ko: kernel/a.ko\nkernel/a.ko:\nkernel/c.ko:\nkernel/d-x.ko: kernel/b.ko kernel/a.ko\n",
            "kernel/ext4.ko\n",
        )
        .unwrap();
        let mut cfg = Config::default();
        cfg.parse("t", "options a x=1\n").unwrap();
        let sel = select(
            &tree,
            &cfg,
            &["d_x".into(), "ext4".into(), "b".into(), "d-x".into()],
        )
        .unwrap();
        assert_eq!(sel.builtin, ["ext4"]);
        assert_eq!(sel.spec.load, ["d_x", "b"]);
        let names: Vec<_> = sel.spec.modules.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["b", "a", "d_x"]);
        let dx = sel.spec.modules.iter().find(|m| m.name == "d_x").unwrap();
        assert_eq!(dx.deps, ["a", "b"]);
        let a = sel.spec.modules.iter().find(|m| m.name == "a").unwrap();
        assert_eq!(a.options, "x=1");
        assert!(
            select(&tree, &cfg, &["zzz".into()])
                .unwrap_err()
                .contains("zzz")
        );
        let all = select_all(&tree, &cfg, &[]).unwrap();
        assert_eq!(all.spec.modules.len(), 4);
        assert!(all.spec.load.is_empty());
    }

    #[test]
    fn lists() {
        assert_eq!(
            parse_list("# x\nvirtio_pci  # bus\n\n virtio_blk\n"),
            ["virtio_pci", "virtio_blk"]
        );
    }
}
