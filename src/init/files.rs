//! Small files and paths: reading a sysfs or procfs file into a buffer,
//! writing a sysctl, building a path without an allocator, the kernel
//! command line.

use core::ffi::CStr;
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

/// The kernel's command line is at most a few KiB (COMMAND_LINE_SIZE).
pub const CMDLINE_MAX: usize = 8192;

/// Read a small file into `buf` (up to its size).
pub fn read<'b>(path: &[u8], buf: &'b mut [u8]) -> Result<&'b [u8], Errno> {
    let fd = rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
    let mut len = 0;
    while len < buf.len() {
        match rustix::io::read(&fd, buf.get_mut(len..).unwrap_or(&mut [])) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(Errno::INTR) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(buf.get(..len).unwrap_or(&[]))
}

/// `/sys/class/block/NAME/ATTR`, trimmed.
pub fn block_attr<'b>(name: &[u8], attr: &[u8], buf: &'b mut [u8]) -> Option<&'b [u8]> {
    let mut path = [0u8; 128];
    let p = join(&mut path, &[b"/sys/class/block/", name, b"/", attr])?;
    Some(read(p, buf).ok()?.trim_ascii())
}

/// Write `data` to an existing file (a sysctl) in one write.
pub fn write(path: &[u8], data: &[u8]) -> Result<(), Errno> {
    let fd = rustix::fs::open(path, OFlags::WRONLY | OFlags::CLOEXEC, Mode::empty())?;
    rustix::io::write(&fd, data).map(|_| ())
}

/// Concatenate `parts` into `buf`, as a path for a syscall (no NUL: rustix
/// adds it for `&[u8]`).
pub fn join<'b>(buf: &'b mut [u8], parts: &[&[u8]]) -> Option<&'b [u8]> {
    let mut len = 0;
    for p in parts {
        buf.get_mut(len..len + p.len())?.copy_from_slice(p);
        len += p.len();
    }
    buf.get(..len)
}

/// Copy `s` into `buf` with a NUL; `None` if it does not fit.
pub fn cstr<'b>(s: &[u8], buf: &'b mut [u8]) -> Option<&'b CStr> {
    let dst = buf.get_mut(..s.len())?;
    dst.copy_from_slice(s);
    *buf.get_mut(s.len())? = 0;
    CStr::from_bytes_with_nul(buf.get(..=s.len())?).ok()
}

/// The command line: the image's own
/// ([`modboot::cmdline::IMAGE_CMDLINE`]), then
/// `/proc/cmdline`, whose parameters come later and so win. A command line
/// too long for the buffer is cut, and said so; one that cannot be read is
/// empty, and said so.
#[inline(never)]
pub fn read_cmdline(buf: &mut [u8; CMDLINE_MAX]) -> &[u8] {
    let mut n = read(modboot::cmdline::IMAGE_CMDLINE.as_bytes(), buf).map_or(0, <[u8]>::len);
    // Newlines separate parameters as spaces do; a space before the
    // kernel's.
    if let Some(end) = buf.get_mut(n) {
        *end = b' ';
        n += 1;
    }
    match read(b"/proc/cmdline", buf.get_mut(n..).unwrap_or(&mut [])) {
        Ok(s) => {
            n += s.len();
            if n == CMDLINE_MAX {
                warn!("kernel command line cut at {} bytes", CMDLINE_MAX);
            }
        }
        Err(e) => error!(
            "cannot read /proc/cmdline: {}; using defaults",
            crate::kmsg::E(e)
        ),
    }
    buf.get(..n).unwrap_or(&[])
}

/// `/dev/kmsg` drops a writer's lines beyond 10 per 5 s by default; a boot
/// log must not lose lines, so lift the limit while modboot runs (given back
/// when the last load after the hand-over has said its line). A `printk.devkmsg=` on the command line locks
/// the setting, and then this changes nothing.
pub struct DevKmsg {
    restore: bool,
}

const DEVKMSG_SYSCTL: &[u8] = b"/proc/sys/kernel/printk_devkmsg";

impl DevKmsg {
    #[inline(never)]
    pub fn unlimited() -> DevKmsg {
        let mut buf = [0u8; 16];
        let old = read(DEVKMSG_SYSCTL, &mut buf).unwrap_or(&[]);
        let restore = old.starts_with(b"ratelimit") && write(DEVKMSG_SYSCTL, b"on\n").is_ok();
        DevKmsg { restore }
    }

    pub fn restore(&self) {
        if self.restore {
            let _ = write(DEVKMSG_SYSCTL, b"ratelimit\n");
        }
    }
}
