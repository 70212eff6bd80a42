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

use crate::resolve::{self, Action, Resolver};

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
