//! modboot's shared core and host side.
//!
//! The core is `no_std` and allocation-free, and is what the init
//! (`src/init/`) runs on:
//! - [`blob`]: the blob format (layout, container, checked reader);
//! - [`resolve`]: what `modprobe NAME` does, from the blob, as kmod does it;
//! - [`glob`]: `fnmatch(3)` as kmod calls it, for aliases and patterns;
//! - [`kcmdline`]: the kernel command line as kmod reads it (module options,
//!   `modprobe.blacklist=`); [`cmdline`]: as the kernel splits it (boot
//!   parameters);
//! - [`modset`]: each module at most once; [`modname`]: name normalisation;
//! - [`uevent`]: the kernel's device events; [`rootdev`]: `root=` and which
//!   device it names; [`blkid`]: superblocks, containers (LUKS, LVM, md) and
//!   partition tables; [`crypttab`]: `/etc/crypttab` lines; [`dmname`]:
//!   LVM's device-mapper names;
//!   [`devices`]: which devices can lead to a root disk;
//! - [`compression`]: compressed module files (format by magic, gzip);
//!   [`inflate`]: raw DEFLATE into a whole-output buffer;
//! - [`fstypes`], [`errno`], [`crc32`]: root filesystem types, errno names,
//!   CRC-32.
//!
//! The host side ([`host`], with the `std` feature) reads module trees and
//! `modprobe.d`, and writes blobs and images; `build.rs` compiles the same
//! host files, so there is one writer.

#![cfg_attr(not(feature = "std"), no_std)]
#![cfg_attr(not(test), forbid(unsafe_code))]
// Only the tests call C: `glob`'s compare themselves with glibc's fnmatch(3).
#![cfg_attr(test, deny(unsafe_code))]

pub mod blkid;
pub mod blob;
pub mod cmdline;
pub mod compression;
pub mod crc32;
pub mod crypttab;
pub mod devices;
pub mod dmname;
pub mod errno;
pub mod fstypes;
pub mod glob;
pub mod inflate;
pub mod kcmdline;
pub mod modname;
pub mod modset;
pub mod resolve;
pub mod rootdev;
pub mod uevent;

#[cfg(feature = "std")]
pub mod host;

/// `bytes` split at every `sep`. One closure type for every byte split in
/// the core, so the init carries one `Split::next`, not one per caller.
pub fn split_at_byte(bytes: &[u8], sep: u8) -> core::slice::Split<'_, u8, impl FnMut(&u8) -> bool> {
    bytes.split(move |&c| c == sep)
}
