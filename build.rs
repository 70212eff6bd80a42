//! Embeds a blob in the init when told where a module tree is.
//!
//! With `MODBOOT_TREE` (a `/lib/modules/<release>` directory) and
//! `MODBOOT_MODULES` (module names, separated by commas or spaces) set, this
//! resolves the selection with the same host code `mkmodboot` uses and writes
//! the blob to `$OUT_DIR/modboot.blob`, which the init includes and uses
//! instead of a blob file. Optional: `MODBOOT_PACK` (more names, packed but
//! not loaded at boot), `MODBOOT_CONFIG` (modprobe.d directories or files,
//! `:`-separated), `MODBOOT_RELEASE`, and how modules are stored in the
//! image (`mkmodboot`'s options of the same names): `MODBOOT_KERNEL_DECOMPRESS`
//! (`none`, `gzip`, `xz`, `zstd`; default: from the tree's kernel
//! configuration) and `MODBOOT_MODULE_COMPRESSION` (`auto`, `plain`, `gzip`).
//! Without `MODBOOT_TREE` that file is empty and the init reads
//! `/etc/modboot.blob` at boot.

#![allow(dead_code)]

#[path = "src/blkid.rs"]
mod blkid;
#[path = "src/blob.rs"]
mod blob;
#[path = "src/cmdline.rs"]
mod cmdline;
#[path = "src/compression.rs"]
mod compression;
#[path = "src/crc32.rs"]
mod crc32;
#[path = "src/glob.rs"]
mod glob;
#[path = "src/inflate.rs"]
mod inflate;
#[path = "src/kcmdline.rs"]
mod kcmdline;
#[path = "src/modname.rs"]
mod modname;
#[path = "src/resolve.rs"]
mod resolve;

// The host files the blob needs, at the crate root so that their `super::`
// is what `crate::host` is in the library. Not the image writer: its
// decoders are no build dependencies.
#[path = "src/host/emit.rs"]
mod emit;
#[path = "src/host/modprobe_d.rs"]
mod modprobe_d;
#[path = "src/host/modstore.rs"]
mod modstore;
#[path = "src/host/modtree.rs"]
mod modtree;
#[path = "src/host/select.rs"]
mod select;
mod host {
    pub(crate) use super::{emit, modprobe_d, modstore, modtree, select};
}

use std::path::PathBuf;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    for f in [
        "blob",
        "cmdline",
        "compression",
        "crc32",
        "glob",
        "inflate",
        "kcmdline",
        "modname",
        "resolve",
    ] {
        println!("cargo::rerun-if-changed=src/{f}.rs");
    }
    println!("cargo::rerun-if-changed=src/host");
    for var in [
        "MODBOOT_TREE",
        "MODBOOT_MODULES",
        "MODBOOT_CONFIG",
        "MODBOOT_RELEASE",
        "MODBOOT_KERNEL_DECOMPRESS",
        "MODBOOT_MODULE_COMPRESSION",
    ] {
        println!("cargo::rerun-if-env-changed={var}");
    }
    if std::env::var_os("CARGO_FEATURE_STD").is_some()
        && std::env::var_os("CARGO_FEATURE_INIT").is_some()
    {
        fail("the init is no_std: build it with --no-default-features --features init");
    }
    if std::env::var_os("CARGO_FEATURE_INIT").is_some() {
        // The init's layout: no unwind tables or notes (see the script).
        let script = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"))
            .join("src/init/link.x");
        println!("cargo::rerun-if-changed=src/init/link.x");
        println!("cargo::rustc-link-arg-bin=modboot=-T{}", script.display());
        println!("cargo::rustc-link-arg-bin=modboot=--no-eh-frame-hdr");
    }

    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("modboot.blob");
    let Some(tree_dir) = std::env::var_os("MODBOOT_TREE").map(PathBuf::from) else {
        std::fs::write(&out, []).unwrap_or_else(|e| fail(&format!("{}: {e}", out.display())));
        return;
    };
    let list = |var: &str| -> Vec<String> {
        std::env::var(var)
            .unwrap_or_default()
            .split([',', ' ', '\n'])
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    };
    let names = list("MODBOOT_MODULES");
    let pack = list("MODBOOT_PACK");
    if names.is_empty() {
        fail("MODBOOT_TREE is set but MODBOOT_MODULES names no module");
    }
    let configs: Vec<PathBuf> = std::env::var("MODBOOT_CONFIG")
        .unwrap_or_default()
        .split(':')
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .collect();
    for f in [
        "modules.dep",
        "modules.builtin",
        "modules.order",
        "modules.alias",
        "modules.softdep",
        "modules.builtin.modinfo",
    ] {
        println!("cargo::rerun-if-changed={}", tree_dir.join(f).display());
    }
    for c in &configs {
        println!("cargo::rerun-if-changed={}", c.display());
    }
    let release = std::env::var("MODBOOT_RELEASE")
        .ok()
        .filter(|r| !r.is_empty());
    let tree =
        host::modtree::ModTree::open(&tree_dir, release.as_deref()).unwrap_or_else(|e| fail(&e));
    let config = host::modprobe_d::Config::load(&configs, Some(&tree_dir.join("modules.softdep")))
        .unwrap_or_else(|e| fail(&e));
    for w in &config.warnings {
        println!("cargo::warning={w}");
    }
    let mut sel =
        host::select::select(&tree, &config, &names, &pack, false).unwrap_or_else(|e| fail(&e));
    if !sel.unknown.is_empty() {
        fail(&format!(
            "no module, alias or built-in of these names in {} (kernel {}): {}",
            tree_dir.display(),
            tree.release,
            sel.unknown.join(", ")
        ));
    }
    let storage = storage(&tree_dir, &tree.release);
    let plan = host::modstore::plan(&mut sel.spec, &tree_dir, storage).unwrap_or_else(|e| fail(&e));
    for line in plan.describe() {
        println!(
            "cargo::warning={line} (kernel decompresses {})",
            storage.kernel.name()
        );
    }
    let bytes = host::emit::emit(&sel.spec).unwrap_or_else(|e| fail(&e));
    std::fs::write(&out, &bytes).unwrap_or_else(|e| fail(&format!("{}: {e}", out.display())));
    println!(
        "cargo::warning=embedded a {}-byte blob: {} modules for kernel {}",
        bytes.len(),
        sel.spec.modules.len(),
        sel.spec.release
    );
}

/// How modules are stored in the image, as `mkmodboot` decides it.
fn storage(tree_dir: &std::path::Path, release: &str) -> host::modstore::Storage {
    use host::modstore::{KernelDecompress, ModuleCompression, Storage};
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let kernel = match var("MODBOOT_KERNEL_DECOMPRESS") {
        Some(w) => KernelDecompress::parse(&w).unwrap_or_else(|| {
            fail(&format!(
                "MODBOOT_KERNEL_DECOMPRESS={w}: none, gzip, xz or zstd"
            ))
        }),
        None => {
            for path in KernelDecompress::config_candidates(tree_dir, release) {
                println!("cargo::rerun-if-changed={}", path.display());
            }
            KernelDecompress::from_tree(tree_dir, release)
                .unwrap_or_else(|e| fail(&e))
                .0
        }
    };
    let compression = match var("MODBOOT_MODULE_COMPRESSION") {
        Some(w) => ModuleCompression::parse(&w).unwrap_or_else(|| {
            fail(&format!(
                "MODBOOT_MODULE_COMPRESSION={w}: auto, plain or gzip"
            ))
        }),
        None => ModuleCompression::Auto,
    };
    Storage {
        kernel,
        compression,
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("modboot build.rs: {msg}");
    std::process::exit(1);
}
