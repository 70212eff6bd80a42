//! The blob the init loads modules by: embedded in the binary by `build.rs`,
//! or mapped from [`BLOB_PATH`] in the image; checked whole
//! (`Stored::new_checked`, `Blob::new_checked`), its payload inflated into
//! scratch memory when it is stored deflated, and built for the running
//! kernel's release.

use crate::kmsg::{B, E};
use crate::sys;
use core::ffi::CStr;
use modboot::blob::{Blob, Stored};
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

/// Set by `build.rs` when the init is built for one board: then it needs no
/// blob file. Empty otherwise.
static EMBEDDED_BLOB: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/modboot.blob"));
/// The blob in the image, when none is embedded (see `host::image`).
const BLOB_PATH: &CStr = c"/etc/modboot.blob";
/// The same, as the blob's source in log lines (the same bytes in the binary).
const BLOB_SOURCE: &str = match BLOB_PATH.to_str() {
    Ok(s) => s,
    Err(_) => panic!("BLOB_PATH is not UTF-8"),
};

/// The blob, verified and built for the running kernel, and where it came
/// from (`embedded` or its path); `None` after saying why not.
#[inline(never)]
pub fn usable() -> Option<(Blob<'static>, &'static str)> {
    match load() {
        Ok((blob, source)) => {
            let running = rustix::system::uname();
            let release = running.release().to_bytes();
            if release == blob.release().as_bytes() {
                return Some((blob, source));
            }
            error!(
                "blob ({}) was built for kernel {} but this kernel is {}: not loading any module",
                source,
                blob.release(),
                B(release)
            );
        }
        Err(BlobError::Open(e)) => error!(
            "cannot open {}: {}; not loading any module",
            B(BLOB_PATH.to_bytes()),
            E(e)
        ),
        Err(BlobError::Bad(source, e)) => error!(
            "blob ({}) is unusable: {}; not loading any module",
            source,
            e.describe()
        ),
    }
    None
}

enum BlobError {
    Open(Errno),
    Bad(&'static str, modboot::blob::Error),
}

/// The blob: embedded in this binary, or mapped from [`BLOB_PATH`]; its
/// payload inflated into scratch memory when it is stored deflated.
fn load() -> Result<(Blob<'static>, &'static str), BlobError> {
    let (stored, source): (&'static [u8], _) = if !EMBEDDED_BLOB.is_empty() {
        (EMBEDDED_BLOB, "embedded")
    } else {
        let fd = rustix::fs::open(BLOB_PATH, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
            .map_err(BlobError::Open)?;
        let len = rustix::fs::fstat(&fd).map_err(BlobError::Open)?.st_size as usize;
        (
            sys::Mapping::file(&fd, len)
                .map_err(BlobError::Open)?
                .leak(),
            BLOB_SOURCE,
        )
    };
    let bad = |e| BlobError::Bad(source, e);
    let stored = Stored::new_checked(stored).map_err(bad)?;
    let buf = if stored.is_deflated() {
        sys::scratch(stored.payload_len()).map_err(BlobError::Open)?
    } else {
        &mut []
    };
    Blob::new_checked(stored.payload(buf).map_err(bad)?)
        .map(|b| (b, source))
        .map_err(bad)
}
