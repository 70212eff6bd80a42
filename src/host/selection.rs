//! The modules a blob or image holds, from the settings and a tree:
//! [`choose`] selects them (the names, the generic set, what this machine's
//! root needs, the layers under the root, the root filesystems), checks
//! every name known (a layer's optional names, as a default root
//! filesystem, may be missing) and some root
//! filesystem mountable, and tells what a user would want to know (built-ins
//! named, install commands that cannot run); [`store`] then decides how each
//! is stored in the image ([`modstore`]), before the blob is written.

use super::emit::{self, BlobSpec, Deflate};
use super::layers::{self, Layers};
use super::modstore::{self, KernelDecompress, Storage};
use super::modtree::ModTree;
use super::notes::note;
use super::settings::Settings;
use super::{bootable, hostonly, select, tree};
use crate::resolve::Resolver;

/// The modules to pack and load, checked: every name known, some root
/// filesystem mountable; and the layers under the root, whose tools and
/// configuration the image packs too ([`layers::pack`]).
pub fn choose(s: &Settings, tree: &ModTree) -> Result<(select::Selection, Layers), String> {
    let config = tree::load_config(&s.modprobe_d, tree)?;
    let names: Vec<String> = s.names.iter().map(|n| n.name.clone()).collect();
    let mut pack: Vec<String> = s.pack.iter().map(|n| n.name.clone()).collect();
    if s.generic {
        pack.extend(select::generic_names(tree));
    }
    let mut stacked = None;
    if s.hostonly {
        let found = hostonly::this_machine(tree, &config)?;
        pack.extend(found.names);
        stacked = Some(found.stacked);
    }
    let layers = layers::wanted(s.layers.as_deref(), s.generic, &tree.dir, stacked.as_deref());
    pack.extend(layers.required.iter().map(|(n, _)| n.clone()));
    // Only what the tree has as modules: a built-in needs nothing packed.
    let optional: Vec<String> = layers
        .optional
        .iter()
        .filter(|n| !pack.contains(n))
        .cloned()
        .collect();
    pack.extend(optional.iter().cloned());
    let (rootfs, rootfs_default) = match &s.rootfs {
        Some(r) => (r.clone(), false),
        None if s.generic || s.all || s.hostonly => (Vec::new(), false),
        None => {
            let read = |p| std::fs::read_to_string(p).unwrap_or_default();
            (
                bootable::default_rootfs(&read("/proc/self/mounts"), &read("/proc/filesystems")),
                true,
            )
        }
    };
    let rootfs_names: Vec<String> = rootfs
        .iter()
        .flat_map(|t| bootable::rootfs_names(t))
        .collect();
    pack.extend(rootfs_names.iter().cloned());
    let mut sel = select::select(tree, &config, &names, &pack, s.all)?;
    // A default root filesystem the tree does not have is no error.
    let skipped: Vec<String> = sel
        .unknown
        .iter()
        .filter(|u| rootfs_default && rootfs_names.contains(u))
        .cloned()
        .collect();
    sel.unknown
        .retain(|u| !skipped.contains(u) && !optional.contains(u));
    if !sel.unknown.is_empty() {
        let origin = |u: &str| {
            s.names
                .iter()
                .chain(&s.pack)
                .find(|n| n.name == u)
                .map(|n| n.origin.clone())
                .or_else(|| {
                    rootfs_names
                        .contains(&u.to_string())
                        .then(|| "--rootfs or rootfs".into())
                })
                .or_else(|| {
                    layers
                        .required
                        .iter()
                        .find(|(n, _)| n == u)
                        .map(|(_, why)| why.clone())
                })
                .unwrap_or_else(|| "the generic set".into())
        };
        let lines: Vec<String> = sel
            .unknown
            .iter()
            .map(|u| format!("\n  {u} ({})", origin(u)))
            .collect();
        return Err(format!(
            "{} name{} match{} no module, alias or built-in in {} (kernel {}):{}",
            sel.unknown.len(),
            if sel.unknown.len() == 1 { "" } else { "s" },
            if sel.unknown.len() == 1 { "es" } else { "" },
            tree.dir.display(),
            tree.release,
            lines.concat()
        ));
    }
    // Built-ins named by the user (not by a rule) are worth a word.
    let named = |b: &String| s.names.iter().chain(&s.pack).any(|n| &n.name == b);
    for b in sel.builtin.iter().filter(|b| named(b)) {
        note(&format!(
            "{b} is built into kernel {}; nothing to load",
            tree.release
        ));
    }
    for (name, cmd) in config.unrunnable_installs() {
        note(&format!(
            "install command for {name} ({cmd}) cannot run in an initramfs; \
             modboot loads the module itself instead"
        ));
    }
    // What the image can mount, as the init will find it.
    let bytes = emit::emit_with(&sel.spec, Deflate::Never)?;
    let payload = emit::payload_of(&bytes)?;
    let mountable = bootable::mountable(&Resolver::new(emit::checked(&payload)?, b""));
    if mountable.is_empty() {
        return Err(format!(
            "this image could mount no root: no block filesystem is built into kernel {} or packed \
             (name one with --rootfs, e.g. --rootfs ext4, or pack its module)",
            tree.release
        ));
    }
    let mut about = format!("root filesystems it can mount: {}", mountable.join(" "));
    if !skipped.is_empty() {
        about += &format!(
            " (not in this tree: {})",
            skipped.join(" ").replace("fs-", "")
        );
    }
    note(&about);
    if !layers.layers.is_empty() {
        let names: Vec<&str> = layers.layers.iter().map(|l| layers::name(*l)).collect();
        let packed: Vec<&str> = layers
            .required
            .iter()
            .map(|(n, _)| n.as_str())
            .chain(optional.iter().map(String::as_str))
            .filter(|n| !sel.unknown.iter().any(|u| u == n))
            .collect();
        note(&format!(
            "layers {}: packing {} (where the tree has them as modules)",
            names.join(" "),
            packed.join(" ")
        ));
    }
    Ok((sel, layers))
}

/// Decide how each module is stored and set the spec's paths to the stored
/// paths (see `modstore`), before the blob is written.
pub fn store(s: &Settings, tree: &ModTree, spec: &mut BlobSpec) -> Result<(), String> {
    let (kernel, source) = match s.kernel_decompress {
        Some(k) => (k, "--kernel-decompress".to_string()),
        None => match KernelDecompress::from_tree(&tree.dir, &tree.release)? {
            (k, Some(config)) => (k, config.display().to_string()),
            (k, None) => (k, "no kernel config found".to_string()),
        },
    };
    let storage = Storage {
        kernel,
        compression: s.module_compression,
    };
    let plan = modstore::plan(spec, &tree.dir, storage)?;
    for line in plan.describe() {
        note(&format!(
            "{line} (kernel decompresses {}: {source})",
            kernel.name()
        ));
    }
    Ok(())
}
