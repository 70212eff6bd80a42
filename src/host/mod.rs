//! Host side (std): everything that runs at build time, not at boot.
//!
//! - [`modtree`] reads a `/lib/modules/<release>` tree (`modules.dep`,
//!   `modules.builtin`, `modules.order`);
//! - [`modprobe_d`] reads `modprobe.d` configuration;
//! - [`select`] turns module names into a [`emit::BlobSpec`];
//! - [`emit`] writes the blob (the only writer: `build.rs` compiles this
//!   same file);
//! - [`show_depends`] prints what the init would do, as `modprobe
//!   --show-depends` prints it; [`inspect`] what an image, a blob or an
//!   init holds, as `lsinitrd` shows an image;
//! - [`modstore`] decides how each module is stored in the image (as the
//!   tree has it, or decompressed) before the blob is written;
//! - [`tree`] opens the tree a command reads (release settled, indexes
//!   checked) and its `modprobe.d`; [`selection`] chooses and checks a
//!   build's modules from its settings and stores them;
//! - [`cpio`] and [`image`] write the initramfs; [`codec`] decodes
//!   compressed modules and writes gzip;
//! - [`assemble`] is the recipe from a build's settings to an image's (or
//!   a blob's) bytes in its file, each step one of these modules'
//!   functions; [`update`] runs it for installed kernels.
//!
//! - [`crypttab`] reads `/etc/crypttab` as Debian's cryptsetup-initramfs
//!   does, and says which entries an image needs and how to open them;
//! - [`conf`] reads `modboot.conf` and its drop-ins; [`settings`] merges
//!   them with the command line into a build's settings; [`paths`] knows
//!   where an installed modboot and a Debian system keep their files;
//! - [`elf`] reads ELF headers and `.modinfo`; [`bootable`] checks what an
//!   image needs to boot (release, init, a root filesystem, compression);
//! - [`output`] replaces an output file atomically and reads inputs;
//!   [`notes`] tells on standard error what a command does;
//! - [`hostonly`] picks what the running machine's root needs from its
//!   `/sys`; [`firmware`] finds and packs the firmware packed modules ask
//!   for; [`microcode`] makes the early CPU microcode archive; [`rescue`]
//!   checks the rescue shell an image can carry; [`programs`] packs
//!   dynamically linked programs (cryptsetup, lvm, mdadm) with their
//!   interpreter and libraries;
//! - [`chart`] draws a boot's log as an SVG timeline.
//!
//! `src/bin/mkmodboot.rs` keeps only the command line: clap's arguments,
//! turned into [`settings`]' plain inputs, and the dispatch to these
//! modules.
//!
//! `build.rs` compiles the files the blob needs (not `cpio`, `image`,
//! `codec`: their decoders are no build dependencies).

pub mod assemble;
pub mod bootable;
pub mod chart;
pub mod codec;
pub mod conf;
pub mod cpio;
pub mod crypttab;
pub mod elf;
pub mod emit;
pub mod firmware;
pub mod hostonly;
pub mod image;
pub mod inspect;
pub mod layers;
pub mod microcode;
pub mod modprobe_d;
pub mod modstore;
pub mod modtree;
pub mod notes;
pub mod output;
pub mod paths;
pub mod programs;
pub mod rescue;
pub mod select;
pub mod selection;
pub mod settings;
pub mod show_depends;
pub mod tree;
pub mod update;
