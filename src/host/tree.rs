//! The module tree a command reads, opened for it: checked to be one (a
//! directory with `modules.dep`, else a message saying what to do), its
//! release settled by its modules' `vermagic` ([`bootable::settle_release`]),
//! the indexes it lacks told; and the `modprobe.d` configuration read
//! beside its `modules.softdep`, warnings told.

use super::bootable::{self, TreeFacts};
use super::modprobe_d::Config;
use super::modtree::ModTree;
use super::notes::note;
use std::path::{Path, PathBuf};

/// Open a module tree, its release settled by its modules' vermagic.
pub fn open(dir: &Path, release: Option<&str>) -> Result<(ModTree, Option<TreeFacts>), String> {
    if !dir.exists() {
        return Err(format!(
            "{}: no such module tree (is that kernel's package installed? --tree DIR names another)",
            dir.display()
        ));
    }
    if !dir.join("modules.dep").is_file() {
        return Err(format!(
            "{}: no modules.dep: run depmod for this tree first (depmod -b ROOT RELEASE)",
            dir.display()
        ));
    }
    let mut tree = ModTree::open(dir, None)?;
    let facts = bootable::tree_facts(&tree)?;
    if let Some(n) = bootable::settle_release(&mut tree, facts.as_ref(), release)? {
        note(&n);
    }
    for (file, why) in [
        (
            "modules.alias",
            "coldplug will find no module for any device",
        ),
        (
            "modules.builtin",
            "names built into the kernel will be unknown",
        ),
    ] {
        if !dir.join(file).is_file() {
            note(&format!("warning: {} has no {file}: {why}", dir.display()));
        }
    }
    Ok((tree, facts))
}

/// The `modprobe.d` configuration at `paths` and the tree's
/// `modules.softdep`, its warnings told.
pub fn load_config(paths: &[PathBuf], tree: &ModTree) -> Result<Config, String> {
    let config = Config::load(paths, Some(&tree.dir.join("modules.softdep")))?;
    for w in &config.warnings {
        note(w);
    }
    Ok(config)
}
