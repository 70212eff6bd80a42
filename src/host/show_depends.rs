//! `modprobe --show-depends`, from a blob: the lines kmod 30 prints for a
//! name, computed by the same resolver the init runs, so the two can be
//! compared with `diff` (modulo the modules directory in `insmod` paths).
//!
//! - `insmod DIR/PATH OPTIONS` for a module to load (a space always follows
//!   PATH, and OPTIONS ends with a space when there are any);
//! - `builtin NAME` for a built-in module;
//! - `install COMMAND OPTIONS` where an `install` command replaces loading;
//! - nothing for a blacklisted alias or a name with no module behind it;
//! - not found: `modprobe: FATAL: Module NAME not found in directory DIR`.
//!
//! [`command`] is `mkmodboot show-depends`: the blob read or the whole
//! tree's made, each name's lines written, each error told, as modprobe
//! does.

use super::{emit, output, select, tree};
use crate::resolve::{self, Action, Resolver};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Where `show-depends` resolves from.
#[derive(Clone, Copy, Debug)]
pub enum Source<'a> {
    /// A blob file.
    Blob(&'a Path),
    /// The whole module tree at a directory, with `modprobe.d` paths.
    Tree(&'a Path, &'a [PathBuf]),
}

/// Write the lines of each of `names` to `out`, resolved from `source`
/// with the kernel command line `cmdline` (its module options and
/// `modprobe.blacklist=`), each path after `dirname` (default: the tree,
/// or `/lib/modules/<release>`). A name not found is told on `err`, and
/// makes it `Ok(false)`, as modprobe exits 1.
pub fn command(
    source: Source<'_>,
    cmdline: &str,
    dirname: Option<&str>,
    names: &[String],
    out: &mut impl Write,
    err: &mut impl Write,
) -> Result<bool, String> {
    let (bytes, default_dir, modprobe_d) = match source {
        Source::Blob(b) => (output::read(b)?, None, &[][..]),
        Source::Tree(dir, modprobe_d) => {
            let (tree, _) = tree::open(dir, None)?;
            let config = tree::load_config(modprobe_d, &tree)?;
            let spec = select::full_spec(&tree, &config, &[]);
            (
                emit::emit(&spec)?,
                Some(tree.dir.display().to_string()),
                modprobe_d,
            )
        }
    };
    for p in modprobe_d {
        if !p.exists() {
            return Err(format!(
                "{}: no such modprobe.d directory or file",
                p.display()
            ));
        }
    }
    let payload = emit::payload_of(&bytes)?;
    let blob = emit::checked(&payload)?;
    let dir = dirname
        .map(str::to_string)
        .or(default_dir)
        .unwrap_or_else(|| format!("/lib/modules/{}", blob.release()));
    let resolver = Resolver::new(blob, cmdline.as_bytes());
    let mut found = true;
    for name in names {
        match show_depends(&resolver, name, &dir) {
            Ok(lines) => {
                let _ = out.write_all(lines.as_bytes());
            }
            Err(message) => {
                let _ = writeln!(err, "{message}");
                found = false;
            }
        }
    }
    Ok(found)
}

/// The lines for `name`, or kmod's error message. `dir` is the modules
/// directory printed before each path.
pub fn show_depends(resolver: &Resolver<'_>, name: &str, dir: &str) -> Result<String, String> {
    let not_found = || format!("modprobe: FATAL: Module {name} not found in directory {dir}");
    let mut buf = [0u8; 4096];
    let key = resolve::normalise(name.as_bytes(), &mut buf).ok_or_else(not_found)?;
    let mut out = String::new();
    let result = resolver.modprobe(key, &mut |step| {
        let mut opts = Vec::new();
        if resolver.options(step.object, &mut |piece| opts.extend_from_slice(piece)) {
            opts.push(b' ');
        }
        let opts = String::from_utf8_lossy(&opts);
        match step.action {
            Action::Insmod(m) => out.push_str(&format!(
                "insmod {dir}/{} {opts}\n",
                m.path().to_string_lossy()
            )),
            Action::Install(command) => out.push_str(&format!("install {command} {opts}\n")),
            Action::Builtin => out.push_str(&format!("builtin {}\n", step.object.name)),
            Action::Nothing => {}
        }
    });
    result.map(|()| out).map_err(|_| not_found())
}
