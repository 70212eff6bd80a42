//! modboot's shared core and host side.
//!
//! The core is `no_std` and allocation-free, and is what the init
//! (`src/init/`) runs on: the blob format ([`blob`]), the kernel command line
//! ([`cmdline`]), load order ([`depends`]), module names ([`modname`]),
//! errno names ([`errno`]), root filesystem types ([`fstypes`]) and CRC-32
//! ([`crc32`]). The host side ([`host`],
//! with the `std` feature) reads module trees and writes blobs and images;
//! `build.rs` compiles the same host files, so there is one writer.

#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]

pub mod blob;
pub mod cmdline;
pub mod crc32;
pub mod depends;
pub mod errno;
pub mod fstypes;
pub mod modname;

#[cfg(feature = "std")]
pub mod host;
