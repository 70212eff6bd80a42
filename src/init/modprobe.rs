//! `modprobe` mode: the kernel's own module requests.
//!
//! While the initramfs is the root, the kernel's `request_module()` (a
//! filesystem type it does not know, a crypto algorithm, an `nls_*` table)
//! runs the usermode helper named in `/proc/sys/kernel/modprobe` as
//! `modprobe -q -- NAME`. The init points that at `/sbin/modprobe`, a link to
//! itself in the image ([`Helper::install`]), and gives the old value back
//! before the switch, when the real root's modprobe takes over. Run by that
//! name, the binary answers from the same blob, loading one module at a time
//! in its own process, and logs what it did to kmsg.

use crate::modload::Loader;
use crate::sys::{self, Args};
use crate::{blobfile, files, kmsg};
use core::ffi::CStr;

const SYSCTL: &[u8] = b"/proc/sys/kernel/modprobe";
const SELF_PATH: &[u8] = b"/sbin/modprobe";

/// Whether `argv[0]` asks for this mode.
pub fn is_invoked_as(args: &Args) -> bool {
    args.get(0)
        .is_some_and(|a0| a0.to_bytes().rsplit(|&b| b == b'/').next() == Some(b"modprobe"))
}

/// `modprobe [-q] [--] NAME...`, as the kernel runs it: exits 0 when every
/// name was found and no module it names (or their modules.dep
/// dependencies) failed to load; softdeps may fail, as with kmod. Other options are ignored
/// (`-b`: blacklists apply to aliases anyway).
pub fn main(args: &Args) -> ! {
    let _ = kmsg::open();
    let mut cmdline_buf = [0u8; files::CMDLINE_MAX];
    let cmdline = files::read_cmdline(&mut cmdline_buf);
    // The boot said which blob it uses; each request is one line.
    let Some(mut loader) = blobfile::usable().and_then(|(blob, _)| Loader::new(blob, cmdline, 1))
    else {
        sys::exit(1);
    };
    let mut ok = true;
    let mut options = true;
    for arg in (1..args.len())
        .filter_map(|i| args.get(i))
        .map(CStr::to_bytes)
    {
        if options && arg.starts_with(b"-") {
            options = arg != b"--";
            continue;
        }
        // Quiet or not, a name not found is worth a line at boot.
        let found = loader.request_modalias(arg);
        loader.finish_all();
        let s = loader.sum;
        info!(
            "modprobe {} (asked by the kernel): {}, {} loaded, {} already present, {} failed",
            arg,
            if found { "found" } else { "not in the blob" },
            s.loaded,
            s.present,
            s.failed
        );
        ok &= found && !loader.resolved(arg).failed;
    }
    sys::exit(if ok { 0 } else { 1 })
}

/// The kernel's modprobe path while the initramfs runs.
pub struct Helper {
    old: [u8; 256],
    len: usize,
}

impl Helper {
    /// Point the kernel at this binary's `modprobe` mode, if the image has
    /// the link.
    pub fn install() -> Option<Helper> {
        rustix::fs::lstat(SELF_PATH).ok()?;
        let mut h = Helper {
            old: [0; 256],
            len: 0,
        };
        h.len = files::read(SYSCTL, &mut h.old).ok()?.len();
        files::write(SYSCTL, SELF_PATH).ok()?;
        Some(h)
    }

    /// Give the kernel its old helper back.
    pub fn restore(&self) {
        let _ = files::write(SYSCTL, self.old.get(..self.len).unwrap_or(&[]));
    }
}
