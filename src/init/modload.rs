//! Loading modules into the kernel: the blob's boot list, each module's
//! dependencies first, with `finit_module(2)` on the file as it is in the
//! initramfs (the bytes, and so the signature, untouched).
//!
//! Parameters are the blob's options followed by the command line's
//! `module.param[=value]`. `EEXIST` (already loaded) counts as success. A
//! module whose dependency failed is not attempted, and the line says which
//! dependency. `init_module(2)` on a mapping of the file is the fallback for
//! a kernel without `finit_module`.

use crate::clock;
use crate::kmsg::{B, E, Ms};
use crate::sys::Mapping;
use core::ffi::CStr;
use modboot::blob::{Blob, Module};
use modboot::cmdline::write_module_params;
use modboot::depends::{ModSet, walk};
use rustix::fd::OwnedFd;
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

/// Longest parameter string passed to the kernel.
const PARAMS_MAX: usize = 4096;

/// What happened to the boot modules.
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

/// Load every module of the blob's boot list, with its dependencies.
pub fn load_boot_modules(blob: &Blob<'_>, cmdline: &[u8]) -> Summary {
    let mut sum = Summary::default();
    let mut dir_path = [0u8; 128];
    let dir = {
        let prefix = b"/lib/modules/";
        let release = blob.release().as_bytes();
        let end = prefix.len() + release.len();
        match dir_path.get_mut(..end) {
            Some(p) => {
                p.get_mut(..prefix.len())
                    .unwrap_or(&mut [])
                    .copy_from_slice(prefix);
                p.get_mut(prefix.len()..)
                    .unwrap_or(&mut [])
                    .copy_from_slice(release);
            }
            None => {
                error!("kernel release {} too long", blob.release());
                return sum;
            }
        }
        let path = dir_path.get(..end).unwrap_or(&[]);
        match rustix::fs::open(
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(d) => d,
            Err(e) => {
                error!("cannot open {}: {}; not loading any module", B(path), E(e));
                return sum;
            }
        }
    };
    let mut seen = ModSet::new();
    let mut failed = ModSet::new();
    for index in blob.load_list() {
        walk(blob, index, &mut seen, |m| {
            load_one(blob, &dir, m, cmdline, &mut failed, &mut sum)
        });
    }
    sum
}

fn load_one(
    blob: &Blob<'_>,
    dir: &OwnedFd,
    m: Module<'_>,
    cmdline: &[u8],
    failed: &mut ModSet,
    sum: &mut Summary,
) {
    let give_up = |failed: &mut ModSet, sum: &mut Summary| {
        failed.insert(m.index());
        sum.failed += 1;
    };
    if let Some(dep) = m.deps().find(|&d| failed.contains(d)) {
        let dep = blob.module(dep).map(|d| d.name()).unwrap_or("?");
        error!(
            "not loading {}: it needs {}, which did not load",
            m.name(),
            dep
        );
        return give_up(failed, sum);
    }
    let mut buf = [0u8; PARAMS_MAX];
    let params = match write_module_params(
        m.options().as_bytes(),
        cmdline,
        m.name().as_bytes(),
        &mut buf,
    ) {
        Ok(n) => buf
            .get(..=n)
            .and_then(|b| CStr::from_bytes_with_nul(b).ok())
            .unwrap_or(c""),
        Err(_) => {
            error!(
                "not loading {}: its parameters are longer than {} bytes",
                m.name(),
                PARAMS_MAX
            );
            return give_up(failed, sum);
        }
    };
    let start = clock::now();
    match load(dir, m.path(), params) {
        Ok(()) => {
            sum.loaded += 1;
            info!(
                "loaded {} in {}{}{}",
                m.name(),
                Ms(clock::since(start)),
                Sep(params),
                B(params.to_bytes())
            );
        }
        Err(Failure::Kernel(Errno::EXIST)) => {
            sum.present += 1;
            info!("{} was already loaded", m.name());
        }
        Err(Failure::Open(e)) => {
            error!(
                "cannot open module {} (/lib/modules/{}/{}): {}",
                m.name(),
                blob.release(),
                B(m.path().to_bytes()),
                E(e)
            );
            give_up(failed, sum);
        }
        Err(Failure::Kernel(e)) => {
            error!(
                "the kernel refused module {}: {}{}",
                m.name(),
                E(e),
                hint(e)
            );
            give_up(failed, sum);
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
