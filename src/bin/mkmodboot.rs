//! mkmodboot: the host-side tool. Reads a kernel's module tree and
//! `modprobe.d`, writes modboot's blob and initramfs image, and shows what
//! the init would load, as `modprobe --show-depends` would print it.

use modboot::blob::{Blob, Stored};
use modboot::host::emit::{self, BlobSpec, Deflate};
use modboot::host::image;
use modboot::host::modprobe_d::Config;
use modboot::host::modstore::{self, KernelDecompress, ModuleCompression, Storage};
use modboot::host::modtree::ModTree;
use modboot::host::select::{self, Selection};
use modboot::host::show_depends::show_depends;
use modboot::resolve::Resolver;
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
usage:
  mkmodboot blob  --tree DIR [SELECTION] [-o FILE]
  mkmodboot image --tree DIR --init FILE [SELECTION] -o FILE [--no-gzip]
  mkmodboot image --init FILE -o FILE [--no-gzip]      (init with an embedded blob)
  mkmodboot show-depends (--blob FILE | --tree DIR [--config PATH]...) [--cmdline STR] [--dirname DIR] NAME...
  mkmodboot inspect (--blob FILE | --init FILE)

SELECTION:
  NAME...            names (modules or aliases) to load at boot, as modprobe takes them;
                     what they pull in (dependencies, softdeps) comes along
  --list FILE        more names to load, one a line (# comments)
  --pack NAME[,..]   names packed but not loaded at boot (for modules-load=)
  --all              pack every module of the tree
  --generic          pack every storage controller and filesystem driver of the tree
                     and what they pull in, as a distribution's generic initramfs
                     (policy: select::GENERIC_INCLUDE/EXCLUDE); loads nothing by
                     itself: coldplug and the kernel's requests load what the machine has
  --config PATH      modprobe.d directory or file (repeatable; kmod's order);
                     the tree's modules.softdep is always read
  --release R        kernel release, if DIR's name is not it
  --deflate WHEN     store the blob deflated: auto (when over 4 KiB and smaller), always, never

MODULE STORAGE (blob and image; the blob names each module's stored path):
  --kernel-decompress none|gzip|xz|zstd
                     the format the target kernel decompresses modules in itself
                     (CONFIG_MODULE_DECOMPRESS); default: read from the tree's kernel
                     config (<root>/boot/config-<release>, DIR/build/.config), else none
  --module-compression auto|plain|gzip
                     how to store .xz/.zst modules that kernel cannot load: plain
                     (decompressed), gzip (recompressed), auto (gzip if the kernel
                     decompresses gzip, else plain; the default). Plain and gzip
                     modules, and the kernel's own format, are always stored as they are
                     (a blob embedded in the init was decided at its build: build.rs reads
                     MODBOOT_KERNEL_DECOMPRESS and MODBOOT_MODULE_COMPRESSION)

--tree DIR is a /lib/modules/<release> directory on which depmod has run.
show-depends prints, per NAME, what modprobe --show-depends would; paths
start with --dirname (default: the tree, or /lib/modules/<release>).
";

#[derive(Default)]
struct Args {
    cmd: String,
    tree: Option<PathBuf>,
    release: Option<String>,
    configs: Vec<PathBuf>,
    names: Vec<String>,
    pack: Vec<String>,
    all: bool,
    generic: bool,
    init: Option<PathBuf>,
    blob: Option<PathBuf>,
    output: Option<PathBuf>,
    cmdline: String,
    dirname: Option<String>,
    no_gzip: bool,
    deflate: Option<Deflate>,
    kernel_decompress: Option<KernelDecompress>,
    module_compression: ModuleCompression,
}

fn parse_args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let mut a = Args {
        cmd: it.next().ok_or("no command given")?,
        ..Args::default()
    };
    while let Some(arg) = it.next() {
        let mut value = |what: &str| it.next().ok_or(format!("{arg} needs {what}"));
        match arg.as_str() {
            "--tree" | "-k" => a.tree = Some(value("a directory")?.into()),
            "--release" => a.release = Some(value("a release")?),
            "--config" | "-c" => a.configs.push(value("a directory or file")?.into()),
            "--list" => {
                let f = value("a file")?;
                let text = std::fs::read_to_string(&f).map_err(|e| format!("{f}: {e}"))?;
                a.names.extend(select::parse_list(&text));
            }
            "--pack" => a.pack.extend(
                value("names")?
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
            ),
            "--all" => a.all = true,
            "--generic" => a.generic = true,
            "--init" => a.init = Some(value("a file")?.into()),
            "--blob" => a.blob = Some(value("a file")?.into()),
            "-o" | "--output" => a.output = Some(value("a file")?.into()),
            "--cmdline" => a.cmdline = value("a string")?,
            "--dirname" => a.dirname = Some(value("a directory")?),
            "--no-gzip" => a.no_gzip = true,
            "--deflate" => {
                a.deflate = Some(match value("auto, always or never")?.as_str() {
                    "auto" => Deflate::Auto,
                    "always" => Deflate::Always,
                    "never" => Deflate::Never,
                    other => return Err(format!("--deflate {other}: auto, always or never")),
                })
            }
            "--kernel-decompress" => {
                let w = value("none, gzip, xz or zstd")?;
                a.kernel_decompress =
                    Some(KernelDecompress::parse(&w).ok_or_else(|| {
                        format!("--kernel-decompress {w}: none, gzip, xz or zstd")
                    })?)
            }
            "--module-compression" => {
                let w = value("auto, plain or gzip")?;
                a.module_compression = ModuleCompression::parse(&w)
                    .ok_or_else(|| format!("--module-compression {w}: auto, plain or gzip"))?
            }
            "-h" | "--help" => return Err(String::new()),
            s if s.starts_with('-') && s.len() > 1 => return Err(format!("unknown option {s}")),
            _ => a.names.push(arg),
        }
    }
    Ok(a)
}

fn read(path: &PathBuf) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn write(path: &Option<PathBuf>, bytes: &[u8]) -> Result<(), String> {
    let path = path.as_ref().ok_or("-o FILE is required")?;
    std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
}

fn tree(a: &Args) -> Result<ModTree, String> {
    let dir = a.tree.as_ref().ok_or("--tree DIR is required")?;
    ModTree::open(dir, a.release.as_deref())
}

fn config(a: &Args, tree: &ModTree) -> Result<Config, String> {
    let config = Config::load(&a.configs, Some(&tree.dir.join("modules.softdep")))?;
    for w in &config.warnings {
        eprintln!("mkmodboot: {w}");
    }
    Ok(config)
}

fn selection(a: &Args, tree: &ModTree) -> Result<Selection, String> {
    let config = config(a, tree)?;
    let mut pack = a.pack.clone();
    if a.generic {
        pack.extend(select::generic_names(tree));
    }
    let sel = select::select(tree, &config, &a.names, &pack, a.all)?;
    for b in &sel.builtin {
        eprintln!(
            "mkmodboot: {b} is built into kernel {}; nothing to load",
            tree.release
        );
    }
    for (name, cmd) in config.unrunnable_installs() {
        eprintln!(
            "mkmodboot: install command for {name} ({cmd}) cannot run in an initramfs; \
             modboot loads the module itself instead"
        );
    }
    if sel.spec.modules.is_empty() {
        eprintln!("mkmodboot: warning: no modules selected");
    }
    Ok(sel)
}

/// Decide how each module is stored and set the spec's paths to the stored
/// paths (see `modstore`), before the blob is written.
fn store(a: &Args, tree: &ModTree, spec: &mut BlobSpec) -> Result<(), String> {
    let (kernel, source) = match a.kernel_decompress {
        Some(k) => (k, "--kernel-decompress".to_string()),
        None => match KernelDecompress::from_tree(&tree.dir, &tree.release)? {
            (k, Some(config)) => (k, config.display().to_string()),
            (k, None) => (k, "no kernel config found".to_string()),
        },
    };
    let storage = Storage {
        kernel,
        compression: a.module_compression,
    };
    let plan = modstore::plan(spec, &tree.dir, storage)?;
    for line in plan.describe() {
        eprintln!(
            "mkmodboot: {line} (kernel decompresses {}: {source})",
            kernel.name()
        );
    }
    Ok(())
}

/// The payload of a stored blob (inflated if need be), ready for `Blob::new_checked`.
fn payload_of(stored: &[u8]) -> Result<Vec<u8>, String> {
    emit::payload(stored).map_err(|e| format!("bad blob: {}", e.describe()))
}

fn checked(payload: &[u8]) -> Result<Blob<'_>, String> {
    Blob::new_checked(payload).map_err(|e| format!("bad blob: {}", e.describe()))
}

fn cmd_blob(a: &Args) -> Result<(), String> {
    let tree = tree(a)?;
    let mut sel = selection(a, &tree)?;
    store(a, &tree, &mut sel.spec)?;
    write(
        &a.output,
        &emit::emit_with(&sel.spec, a.deflate.unwrap_or(Deflate::Auto))?,
    )
}

fn cmd_image(a: &Args) -> Result<(), String> {
    let init_path = a.init.as_ref().ok_or("--init FILE is required")?;
    let init = read(init_path)?;
    let (spec, blob_file, tree_dir): (BlobSpec, Option<Vec<u8>>, PathBuf) =
        match emit::find_embedded(&init) {
            Some(embedded) => {
                if !a.names.is_empty() || !a.pack.is_empty() || a.all || a.generic {
                    return Err(format!(
                        "{} embeds a blob already; its modules are packed, name none here",
                        init_path.display()
                    ));
                }
                let spec = emit::decode(&checked(&payload_of(embedded)?)?);
                let dir = a
                    .tree
                    .clone()
                    .unwrap_or_else(|| PathBuf::from(format!("/lib/modules/{}", spec.release)));
                (spec, None, dir)
            }
            None => {
                let tree = tree(a)?;
                let mut sel = selection(a, &tree)?;
                store(a, &tree, &mut sel.spec)?;
                let bytes = emit::emit(&sel.spec)?;
                (sel.spec, Some(bytes), tree.dir.clone())
            }
        };
    let archive = image::build(&init, &spec, blob_file.as_deref(), &tree_dir)?;
    let bytes = if a.no_gzip {
        archive.to_newc()
    } else {
        archive.to_gzip()
    };
    write(&a.output, &bytes)?;
    eprintln!(
        "mkmodboot: {} modules for {}, blob {}, image {} bytes",
        spec.modules.len(),
        spec.release,
        if blob_file.is_some() {
            "in /etc/modboot.blob"
        } else {
            "embedded in /init"
        },
        bytes.len()
    );
    Ok(())
}

/// Print what the init would do, in `modprobe --show-depends` format. Exit 1
/// if a name is not found, as modprobe does.
fn cmd_show_depends(a: &Args) -> Result<ExitCode, String> {
    let (bytes, default_dir) = match (&a.blob, &a.tree) {
        (Some(b), _) => (read(b)?, None),
        (None, Some(_)) => {
            let tree = tree(a)?;
            let config = config(a, &tree)?;
            let spec = select::full_spec(&tree, &config, &[]);
            (emit::emit(&spec)?, Some(tree.dir.display().to_string()))
        }
        (None, None) => return Err("--blob FILE or --tree DIR is required".into()),
    };
    let payload = payload_of(&bytes)?;
    let blob = checked(&payload)?;
    let dir = a
        .dirname
        .clone()
        .or(default_dir)
        .unwrap_or_else(|| format!("/lib/modules/{}", blob.release()));
    let resolver = Resolver::new(blob, a.cmdline.as_bytes());
    let mut code = ExitCode::SUCCESS;
    for name in &a.names {
        match show_depends(&resolver, name, &dir) {
            Ok(lines) => {
                use std::io::Write;
                let _ = std::io::stdout().lock().write_all(lines.as_bytes());
            }
            Err(message) => {
                eprintln!("{message}");
                code = ExitCode::from(1);
            }
        }
    }
    Ok(code)
}

/// Print to standard output; a reader that went away (`| head`) is not an
/// error worth a panic.
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write;
        let _ = writeln!(std::io::stdout().lock(), $($t)*);
    }};
}

fn cmd_inspect(a: &Args) -> Result<(), String> {
    let (bytes, embedded) = match (&a.blob, &a.init) {
        (Some(b), _) => (read(b)?, false),
        (None, Some(i)) => (read(i)?, true),
        _ => return Err("--blob FILE or --init FILE is required".into()),
    };
    let stored = if embedded {
        emit::find_embedded(&bytes).ok_or("no valid blob embedded in this file")?
    } else {
        &bytes[..]
    };
    let payload = payload_of(stored)?;
    let spec = emit::decode(&checked(&payload)?);
    let stored_len = Stored::new_checked(stored).map_or(0, |s| s.stored_len());
    out!("stored {stored_len} bytes, payload {} bytes", payload.len());
    out!("release {}", spec.release);
    out!("modules {}", spec.modules.len());
    out!("load {}", spec.load.join(" "));
    out!(
        "aliases {} (config {}), builtin {} (aliases {}), options {}, commands {}, softdeps {}, blacklist {}",
        spec.aliases.len(),
        spec.config_aliases.len(),
        spec.builtin.len(),
        spec.builtin_aliases.len(),
        spec.options.len(),
        spec.commands.len(),
        spec.softdeps.len(),
        spec.blacklist.len()
    );
    for m in &spec.modules {
        out!("module {} {} deps=[{}]", m.name, m.path, m.deps.join(" "));
    }
    Ok(())
}

fn main() -> ExitCode {
    let result = parse_args().and_then(|a| match a.cmd.as_str() {
        "blob" => cmd_blob(&a).map(|()| ExitCode::SUCCESS),
        "image" => cmd_image(&a).map(|()| ExitCode::SUCCESS),
        "show-depends" => cmd_show_depends(&a),
        "inspect" => cmd_inspect(&a).map(|()| ExitCode::SUCCESS),
        "help" | "-h" | "--help" => Err(String::new()),
        other => Err(format!("unknown command {other}")),
    });
    match result {
        Ok(code) => code,
        Err(e) if e.is_empty() => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("mkmodboot: {e}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}
