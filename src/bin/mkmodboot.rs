//! mkmodboot: the host-side tool. Reads a kernel's module tree, writes
//! modboot's blob and initramfs image, and shows what the init would load.

use modboot::blob::Blob;
use modboot::cmdline;
use modboot::depends::{ModSet, walk};
use modboot::host::emit::{self, BlobSpec};
use modboot::host::image;
use modboot::host::modprobe_d::Config;
use modboot::host::modtree::ModTree;
use modboot::host::select::{self, Selection};
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
usage:
  mkmodboot blob  --tree DIR [SELECTION] [-o FILE]
  mkmodboot image --tree DIR --init FILE [SELECTION] -o FILE [--no-gzip]
  mkmodboot image --init FILE -o FILE [--no-gzip]      (init with an embedded blob)
  mkmodboot show-depends (--blob FILE | --tree DIR [--config DIR]...) [--cmdline STR] NAME...
  mkmodboot inspect (--blob FILE | --init FILE)

SELECTION:
  NAME...            modules to load at boot (their dependencies come along)
  --list FILE        more names, one a line (# comments)
  --all              pack every module of the tree (only the named ones load at boot)
  --config DIR|FILE  modprobe.d configuration (repeatable; kmod's order)
  --release R        kernel release, if DIR's name is not it

--tree DIR is a /lib/modules/<release> directory on which depmod has run.
";

#[derive(Default)]
struct Args {
    cmd: String,
    tree: Option<PathBuf>,
    release: Option<String>,
    configs: Vec<PathBuf>,
    names: Vec<String>,
    all: bool,
    init: Option<PathBuf>,
    blob: Option<PathBuf>,
    output: Option<PathBuf>,
    cmdline: String,
    no_gzip: bool,
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
            "--all" => a.all = true,
            "--init" => a.init = Some(value("a file")?.into()),
            "--blob" => a.blob = Some(value("a file")?.into()),
            "-o" | "--output" => a.output = Some(value("a file")?.into()),
            "--cmdline" => a.cmdline = value("a string")?,
            "--no-gzip" => a.no_gzip = true,
            "-h" | "--help" => return Err(String::new()),
            s if s.starts_with('-') => return Err(format!("unknown option {s}")),
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

fn selection(a: &Args, tree: &ModTree) -> Result<Selection, String> {
    let config = Config::load(&a.configs)?;
    for (at, cmd) in config.unsupported() {
        eprintln!("mkmodboot: {at}: '{cmd}' is not supported yet; ignored");
    }
    let sel = if a.all {
        select::select_all(tree, &config, &a.names)?
    } else {
        select::select(tree, &config, &a.names)?
    };
    for b in &sel.builtin {
        eprintln!(
            "mkmodboot: {b} is built into kernel {}; nothing to load",
            tree.release
        );
    }
    if sel.spec.modules.is_empty() && !a.all {
        eprintln!("mkmodboot: warning: no modules selected");
    }
    Ok(sel)
}

fn cmd_blob(a: &Args) -> Result<(), String> {
    let tree = tree(a)?;
    let sel = selection(a, &tree)?;
    write(&a.output, &emit::emit(&sel.spec)?)
}

fn cmd_image(a: &Args) -> Result<(), String> {
    let init_path = a.init.as_ref().ok_or("--init FILE is required")?;
    let init = read(init_path)?;
    let (spec, blob_file, tree_dir): (BlobSpec, Option<Vec<u8>>, PathBuf) =
        match emit::find_embedded(&init) {
            Some(embedded) => {
                if !a.names.is_empty() || a.all {
                    return Err(format!(
                        "{} embeds a blob already; its modules are packed, name none here",
                        init_path.display()
                    ));
                }
                let spec = emit::decode(&embedded);
                let dir = match &a.tree {
                    Some(d) => d.clone(),
                    None => PathBuf::from(format!("/lib/modules/{}", spec.release)),
                };
                (spec, None, dir)
            }
            None => {
                let tree = tree(a)?;
                let sel = selection(a, &tree)?;
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

/// Print what the init would load, in `modprobe --show-depends` format.
fn cmd_show_depends(a: &Args) -> Result<(), String> {
    let bytes = match (&a.blob, &a.tree) {
        (Some(b), _) => read(b)?,
        (None, Some(_)) => {
            let tree = tree(a)?;
            let config = Config::load(&a.configs)?;
            emit::emit(&select::select_all(&tree, &config, &[])?.spec)?
        }
        (None, None) => return Err("--blob FILE or --tree DIR is required".into()),
    };
    let blob = Blob::new_checked(&bytes).map_err(|e| format!("bad blob: {}", e.describe()))?;
    let prefix = match &a.tree {
        Some(d) if a.blob.is_none() => d.display().to_string(),
        _ => format!("/lib/modules/{}", blob.release()),
    };
    let mut seen = ModSet::new();
    let mut params = vec![0u8; 64 * 1024];
    let mut failed = false;
    for name in &a.names {
        let Some(m) = blob.find(name.as_bytes()) else {
            eprintln!("mkmodboot: module {name} not found in the blob");
            failed = true;
            continue;
        };
        walk(&blob, m.index(), &mut seen, |m| {
            let n = cmdline::write_module_params(
                m.options().as_bytes(),
                a.cmdline.as_bytes(),
                m.name().as_bytes(),
                &mut params,
            )
            .unwrap_or(0);
            println!(
                "insmod {prefix}/{} {}",
                m.path().to_string_lossy(),
                String::from_utf8_lossy(&params[..n])
            );
        });
    }
    if failed {
        Err("some modules were not found".into())
    } else {
        Ok(())
    }
}

fn cmd_inspect(a: &Args) -> Result<(), String> {
    let (bytes, embedded) = match (&a.blob, &a.init) {
        (Some(b), _) => (read(b)?, false),
        (None, Some(i)) => (read(i)?, true),
        _ => return Err("--blob FILE or --init FILE is required".into()),
    };
    let blob = if embedded {
        emit::find_embedded(&bytes).ok_or("no valid blob embedded in this file")?
    } else {
        Blob::new_checked(&bytes).map_err(|e| format!("bad blob: {}", e.describe()))?
    };
    let spec = emit::decode(&blob);
    println!("release {}", spec.release);
    println!("modules {}", spec.modules.len());
    println!("load {}", spec.load.join(" "));
    for m in &spec.modules {
        println!(
            "module {} {} deps=[{}] options=[{}]",
            m.name,
            m.path,
            m.deps.join(" "),
            m.options
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let result = parse_args().and_then(|a| match a.cmd.as_str() {
        "blob" => cmd_blob(&a),
        "image" => cmd_image(&a),
        "show-depends" => cmd_show_depends(&a),
        "inspect" => cmd_inspect(&a),
        "help" | "-h" | "--help" => Err(String::new()),
        other => Err(format!("unknown command {other}")),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
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
