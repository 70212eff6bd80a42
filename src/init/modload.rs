//! Loading the boot's modules, as `modprobe NAME` would for each request:
//! `rd.driver.pre=` names first, then the blob's boot list, then
//! `modules-load=` / `modules_load=` / `rd.modules-load=` names. Each request
//! (a module name or an alias) goes through the core resolver, so aliases,
//! softdeps, options, blacklists and `install` lines act as kmod's do.
//!
//! Each module file is loaded once, with `finit_module(2)` on the file as it
//! is in the initramfs (its bytes, and so its signature, untouched);
//! `init_module(2)` on a mapping is the fallback for a kernel without
//! `finit_module`. `EEXIST` counts as success. A module whose dependency
//! failed is not attempted, and the line says which dependency. Modules in
//! `module_blacklist=` are skipped quietly: the kernel would refuse them.
//! `install NAME /bin/true` (or `/bin/false`) means "never load"; any other
//! install command cannot run here, so the module is loaded directly.

use crate::clock;
use crate::kmsg::{B, E, Ms};
use crate::sys::Mapping;
use core::ffi::CStr;
use modboot::blob::{Blob, Module};
use modboot::cmdline;
use modboot::modset::ModSet;
use modboot::resolve::{self, Action, Resolver, Step};
use rustix::fd::OwnedFd;
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

/// Longest parameter string passed to the kernel.
const PARAMS_MAX: usize = 4096;
/// Longest name or alias requested.
const NAME_MAX: usize = 256;

/// What happened to the boot's modules.
#[derive(Default)]
pub struct Summary {
    pub loaded: u32,
    pub present: u32,
    pub failed: u32,
}

/// Why one module did not load.
enum Failure {
    /// Opening the file failed.
    Open(Errno),
    /// The kernel refused the module.
    Kernel(Errno),
}

struct Loader<'a> {
    blob: Blob<'a>,
    resolver: Resolver<'a>,
    cmdline: &'a [u8],
    dir: OwnedFd,
    done: ModSet,
    failed: ModSet,
    sum: Summary,
}

/// Load everything the boot asks for.
pub fn load_boot_modules(blob: &Blob<'_>, cmdline: &[u8]) -> Summary {
    let mut path = [0u8; 128];
    let prefix = b"/lib/modules/";
    let release = blob.release().as_bytes();
    let dir_path = match path.get_mut(..prefix.len() + release.len()) {
        Some(p) => {
            let (a, b) = p.split_at_mut(prefix.len());
            a.copy_from_slice(prefix);
            b.copy_from_slice(release);
            &*p
        }
        None => {
            error!("kernel release {} too long", blob.release());
            return Summary::default();
        }
    };
    let dir = match rustix::fs::open(
        dir_path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(d) => d,
        Err(e) => {
            error!(
                "cannot open {}: {}; not loading any module",
                B(dir_path),
                E(e)
            );
            return Summary::default();
        }
    };
    let mut l = Loader {
        blob: *blob,
        resolver: Resolver::for_boot(*blob, cmdline),
        cmdline,
        dir,
        done: ModSet::new(),
        failed: ModSet::new(),
        sum: Summary::default(),
    };
    const PRE: &[&[u8]] = &[b"rd.driver.pre"];
    const LOAD: &[&[u8]] = &[b"rd.modules-load", b"modules-load", b"modules_load"];
    for name in cmdline::list(cmdline, PRE) {
        l.request(name);
    }
    for name in blob.load_list() {
        l.request(name.as_bytes());
    }
    for name in cmdline::list(cmdline, LOAD) {
        l.request(name);
    }
    l.sum
}

impl Loader<'_> {
    /// `modprobe NAME`.
    fn request(&mut self, name: &[u8]) {
        let mut buf = [0u8; NAME_MAX];
        let Some(key) = resolve::normalise(name, &mut buf) else {
            return error!("cannot load {}: not a valid module name", B(name));
        };
        let resolver = self.resolver;
        if resolver.modprobe(key, &mut |step| self.step(step)).is_err() {
            error!(
                "cannot load {}: no module, alias or built-in of that name in the blob",
                B(name)
            );
        }
    }

    fn step(&mut self, step: Step<'_>) {
        match step.action {
            Action::Insmod(m) => self.insmod(m, step),
            Action::Install(command) if resolve::is_disabling(command) => {
                info!(
                    "not loading {}: modprobe.d says install {}",
                    step.object.name, command
                );
            }
            Action::Install(command) => match self.blob.find(step.object.name.as_bytes()) {
                Some(m) => {
                    warn!(
                        "cannot run install command for {} ({}); loading the module itself",
                        m.name(),
                        command
                    );
                    self.insmod(m, step);
                }
                None => error!(
                    "cannot run install command for {} ({}) and no such module",
                    step.object.name, command
                ),
            },
            Action::Builtin => {}
            Action::Nothing => error!(
                "{}: no module file in the image and not built in",
                step.object.name
            ),
        }
    }

    fn insmod(&mut self, m: Module<'_>, step: Step<'_>) {
        if self.done.contains(m.index()) || self.failed.contains(m.index()) {
            return;
        }
        if cmdline::list(self.cmdline, &[b"module_blacklist"]).any(|b| b == m.name().as_bytes()) {
            self.done.insert(m.index());
            return; // the kernel refuses it, by the user's order
        }
        if let Some(dep) = m.deps().find(|&d| self.failed.contains(d)) {
            let dep = self.blob.module(dep).map(|d| d.name()).unwrap_or("?");
            error!(
                "not loading {}: it needs {}, which did not load",
                m.name(),
                dep
            );
            return self.give_up(m);
        }
        let mut buf = [0u8; PARAMS_MAX];
        let mut len = 0usize;
        let mut fits = true;
        self.resolver.options(
            step.object,
            &mut |piece| match buf.get_mut(len..len + piece.len()) {
                Some(dst) if len + piece.len() < PARAMS_MAX => {
                    dst.copy_from_slice(piece);
                    len += piece.len();
                }
                _ => fits = false,
            },
        );
        // A NUL in the parameters would end them early: refuse instead.
        let params = buf
            .get(..=len)
            .and_then(|b| CStr::from_bytes_with_nul(b).ok());
        let (true, Some(params)) = (fits, params) else {
            error!(
                "not loading {}: its parameters are longer than {} bytes or hold a NUL",
                m.name(),
                PARAMS_MAX
            );
            return self.give_up(m);
        };
        let start = clock::now();
        match load(&self.dir, m.path(), params) {
            Ok(()) => {
                self.sum.loaded += 1;
                self.done.insert(m.index());
                info!(
                    "loaded {} in {}{}{}",
                    m.name(),
                    Ms(clock::since(start)),
                    Sep(params),
                    B(params.to_bytes())
                );
            }
            Err(Failure::Kernel(Errno::EXIST)) => {
                self.sum.present += 1;
                self.done.insert(m.index());
                info!("{} was already loaded", m.name());
            }
            Err(Failure::Open(e)) => {
                let release = self.blob.release();
                error!(
                    "cannot open module {} (/lib/modules/{}/{}): {}",
                    m.name(),
                    release,
                    B(m.path().to_bytes()),
                    E(e)
                );
                self.give_up(m);
            }
            Err(Failure::Kernel(e)) => {
                error!(
                    "the kernel refused module {}: {}{}",
                    m.name(),
                    E(e),
                    hint(e)
                );
                self.give_up(m);
            }
        }
    }

    fn give_up(&mut self, m: Module<'_>) {
        if self.failed.insert(m.index()) {
            self.sum.failed += 1;
        }
    }
}

/// `finit_module` on the file; `init_module` on its bytes where the kernel
/// has no `finit_module`.
fn load(dir: &OwnedFd, path: &CStr, params: &CStr) -> Result<(), Failure> {
    let fd = rustix::fs::openat(dir, path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
        .map_err(Failure::Open)?;
    match rustix::system::finit_module(&fd, params, 0) {
        Err(Errno::NOSYS) => {
            let len = rustix::fs::fstat(&fd).map_err(Failure::Open)?.st_size as usize;
            let image = Mapping::file(&fd, len).map_err(Failure::Open)?;
            rustix::system::init_module(image.bytes(), params).map_err(Failure::Kernel)
        }
        r => r.map_err(Failure::Kernel),
    }
}

/// What an errno from module loading usually means.
fn hint(e: Errno) -> &'static str {
    match e {
        Errno::NOEXEC => {
            " (not a valid module for this kernel, or compressed in a format the kernel cannot read)"
        }
        Errno::NOKEY | Errno::KEYREJECTED => " (its signature was rejected)",
        Errno::PERM => {
            " (module loading is disabled, or the module is listed in module_blacklist=)"
        }
        Errno::NOENT => " (unknown symbol: a dependency is missing; see dmesg)",
        Errno::INVAL => " (invalid parameter or module; see dmesg)",
        _ => "",
    }
}

/// ", params " before a non-empty parameter string, nothing otherwise.
struct Sep<'a>(&'a CStr);

impl ufmt::uDisplay for Sep<'_> {
    fn fmt<W: ufmt::uWrite + ?Sized>(
        &self,
        f: &mut ufmt::Formatter<'_, W>,
    ) -> Result<(), W::Error> {
        if self.0.is_empty() {
            Ok(())
        } else {
            f.write_str(", params ")
        }
    }
}
