//! Firmware for packed modules: the files each module's `.modinfo` names
//! (`firmware=`, as `modinfo -F firmware` prints them), found where the
//! kernel's firmware loader looks (`drivers/base/firmware_loader/main.c`,
//! `fw_path[]`: `updates/<release>`, `updates`, `<release>`, then the
//! directory itself, under `/lib/firmware`), in the forms it reads (plain,
//! and `.xz`/`.zst` when built with `CONFIG_FW_LOADER_COMPRESS_XZ`/`_ZSTD`),
//! and packed at `lib/firmware/<name>` in the image: the initramfs is the
//! root while modules load, so that is where the loader finds them. A
//! compressed file the kernel cannot read is stored decompressed.
//!
//! [`add`] is the image's step: every such file found packed, a missing one
//! told as a warning.

use super::codec;
use super::cpio::Archive;
use super::emit::BlobSpec;
use super::modstore::{self, KernelDecompress};
use super::modtree::ModTree;
use super::notes::note;
use crate::compression::Format;
use std::path::{Path, PathBuf};

/// One firmware file a packed module may ask for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wanted {
    pub module: String,
    /// As `.modinfo` names it: `rtl_nic/rtl8168g-2.fw`.
    pub name: String,
}

/// Every `firmware=` of the modules of `spec` (read from `tree_dir`, any
/// compression), in module order, each name once; and a warning for each
/// module whose `.modinfo` cannot be read (a damaged module is the
/// kernel's to refuse and the init's to report; a damaged compressed file
/// fails the image's build where it is stored).
pub fn wanted(tree_dir: &Path, spec: &BlobSpec) -> Result<(Vec<Wanted>, Vec<String>), String> {
    let mut out: Vec<Wanted> = Vec::new();
    let mut warnings = Vec::new();
    for m in &spec.modules {
        let src = modstore::source_of(tree_dir, &m.path)?;
        let bytes = std::fs::read(&src).map_err(|e| format!("{}: {e}", src.display()))?;
        let names = codec::decompress(Format::detect(&bytes), &bytes).and_then(|plain| {
            super::elf::modinfo(&plain, "firmware")
                .map(|n| n.into_iter().map(str::to_string).collect::<Vec<_>>())
                .map_err(str::to_string)
        });
        let names = match names {
            Ok(n) => n,
            Err(e) => {
                warnings.push(format!(
                    "{}: {e}: its firmware, if any, is not packed",
                    src.display()
                ));
                continue;
            }
        };
        for name in names {
            if !out.iter().any(|w| w.name == name) {
                out.push(Wanted {
                    module: m.name.clone(),
                    name,
                });
            }
        }
    }
    Ok((out, warnings))
}

/// The compressed forms the tree's kernel reads firmware in, from its
/// configuration (none without one).
pub fn kernel_reads(tree_dir: &Path, release: &str) -> Vec<Format> {
    for path in KernelDecompress::config_candidates(tree_dir, release) {
        if let Ok(text) = std::fs::read_to_string(&path) {
            let set = |o: &str| text.lines().any(|l| l.trim() == format!("{o}=y"));
            let mut out = Vec::new();
            if set("CONFIG_FW_LOADER_COMPRESS_XZ") {
                out.push(Format::Xz);
            }
            if set("CONFIG_FW_LOADER_COMPRESS_ZSTD") {
                out.push(Format::Zstd);
            }
            return out;
        }
    }
    Vec::new()
}

/// Where the loader would find `name` under `dir` (see the module docs), in
/// its order; `None` if nowhere.
pub fn locate(dir: &Path, release: &str, name: &str) -> Option<PathBuf> {
    let bases = [
        dir.join("updates").join(release),
        dir.join("updates"),
        dir.join(release),
        dir.to_path_buf(),
    ];
    bases.iter().find_map(|base| {
        ["", ".xz", ".zst"]
            .iter()
            .map(|suffix| base.join(format!("{name}{suffix}")))
            .find(|p| p.is_file())
    })
}

/// A firmware file as it goes into the image: its path there and bytes.
pub fn packed(found: &Path, name: &str, reads: &[Format]) -> Result<(String, Vec<u8>), String> {
    let bytes = std::fs::read(found).map_err(|e| format!("{}: {e}", found.display()))?;
    let format = match found.extension().and_then(|e| e.to_str()) {
        Some("xz") => Format::Xz,
        Some("zst") => Format::Zstd,
        _ => Format::Plain,
    };
    if format == Format::Plain || reads.contains(&format) {
        return Ok((format!("lib/firmware/{name}{}", format.suffix()), bytes));
    }
    let plain =
        codec::decompress(format, &bytes).map_err(|e| format!("{}: {e}", found.display()))?;
    Ok((format!("lib/firmware/{name}"), plain))
}

/// Pack into `archive` the firmware files the modules of `spec` name, from
/// `dir` (`--firmware-dir`); a missing one is a warning naming module and
/// file.
pub fn add(
    dir: &Path,
    tree: &ModTree,
    spec: &BlobSpec,
    archive: &mut Archive,
) -> Result<(), String> {
    let reads = kernel_reads(&tree.dir, &tree.release);
    let (mut packed_files, mut missing) = (0, Vec::new());
    let (wanted, warnings) = wanted(&tree.dir, spec)?;
    for w in &warnings {
        note(&format!("warning: {w}"));
    }
    for w in wanted {
        match locate(dir, &tree.release, &w.name) {
            Some(found) => {
                let (path, data) = packed(&found, &w.name, &reads)?;
                archive.add_file(&path, 0o644, data)?;
                packed_files += 1;
            }
            None => missing.push(w),
        }
    }
    for w in &missing {
        note(&format!(
            "warning: possibly missing firmware {} for module {} (not in {})",
            w.name,
            w.module,
            dir.display()
        ));
    }
    if packed_files > 0 {
        note(&format!(
            "{packed_files} firmware files from {}",
            dir.display()
        ));
    }
    Ok(())
}
