//! Embeds a blob in the init when told where a module tree is.
//!
//! With `MODBOOT_TREE` (a `/lib/modules/<release>` directory) and
//! `MODBOOT_MODULES` (module names, separated by commas or spaces) set, this
//! resolves the selection with the same host code `mkmodboot` uses and writes
//! the blob to `$OUT_DIR/modboot.blob`, which the init includes and uses
//! instead of a blob file. Optional: `MODBOOT_PACK` (more names, packed but
//! not loaded at boot), `MODBOOT_CONFIG` (modprobe.d directories or files,
//! `:`-separated) and `MODBOOT_RELEASE`. Without `MODBOOT_TREE` that file is
//! empty and the init reads `/etc/modboot.blob` at boot.

#![allow(dead_code)]

#[path = "src/blob.rs"]
mod blob;
#[path = "src/cmdline.rs"]
mod cmdline;
#[path = "src/crc32.rs"]
mod crc32;
#[path = "src/glob.rs"]
mod glob;
#[path = "src/host/mod.rs"]
mod host;
#[path = "src/kcmdline.rs"]
mod kcmdline;
#[path = "src/modname.rs"]
mod modname;
#[path = "src/resolve.rs"]
mod resolve;

use std::path::PathBuf;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    for f in [
        "blob", "cmdline", "crc32", "glob", "kcmdline", "modname", "resolve",
    ] {
        println!("cargo::rerun-if-changed=src/{f}.rs");
    }
    println!("cargo::rerun-if-changed=src/host");
    for var in [
        "MODBOOT_TREE",
        "MODBOOT_MODULES",
        "MODBOOT_CONFIG",
        "MODBOOT_RELEASE",
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
    let sel =
        host::select::select(&tree, &config, &names, &pack, false).unwrap_or_else(|e| fail(&e));
    let bytes = host::emit::emit(&sel.spec).unwrap_or_else(|e| fail(&e));
    std::fs::write(&out, &bytes).unwrap_or_else(|e| fail(&format!("{}: {e}", out.display())));
    println!(
        "cargo::warning=embedded a {}-byte blob: {} modules for kernel {}",
        bytes.len(),
        sel.spec.modules.len(),
        sel.spec.release
    );
}

fn fail(msg: &str) -> ! {
    eprintln!("modboot build.rs: {msg}");
    std::process::exit(1);
}
