//! What an image needs to boot, checked before one is written, so that
//! mkmodboot refuses an image that cannot boot instead of writing it:
//!
//! - the kernel release is the one the modules were built for (their
//!   `vermagic`), not a directory's name;
//! - the init is an executable for the modules' machine;
//! - the image can mount a root: some block filesystem is built into the
//!   kernel or packed, with the root filesystems to pack chosen by
//!   [`RootFs`];
//! - the kernel can unpack the image's compression (`CONFIG_RD_*`).

use super::codec;
use super::elf::{self, Header};
use super::modstore::KernelDecompress;
use super::modtree::ModTree;
use crate::compression::Format;
use crate::resolve::{self, Action, Resolver};
use std::path::Path;

/// What a tree's modules say about themselves (from one of them: depmod
/// puts modules of one build only in a tree).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeFacts {
    /// The release of `vermagic`.
    pub release: String,
    /// The modules' `e_machine`.
    pub machine: u16,
    /// The module read, relative to the tree.
    pub module: String,
}

/// Read the first module of `tree` (in `modules.dep`'s order, any
/// compression) that is there and whole; `None` for a tree without modules.
/// Checking every module is not this function's job (a damaged module is
/// the kernel's to refuse, and the init's to report): if none can be read,
/// the first one's error is returned.
pub fn tree_facts(tree: &ModTree) -> Result<Option<TreeFacts>, String> {
    let mut first_error = None;
    for m in &tree.modules {
        let path = tree.dir.join(&m.path);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                first_error.get_or_insert_with(|| format!("{}: {e}", path.display()));
                continue;
            }
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        match facts_of(&bytes, &m.path) {
            Ok(f) => return Ok(Some(f)),
            Err(e) => {
                first_error.get_or_insert_with(|| format!("{}: {e}", path.display()));
            }
        }
    }
    match first_error {
        Some(e) => Err(format!("no module of the tree can be read: {e}")),
        None => Ok(None),
    }
}

fn facts_of(bytes: &[u8], module: &str) -> Result<TreeFacts, String> {
    let plain = codec::decompress(Format::detect(bytes), bytes)?;
    let header = Header::parse(&plain)?;
    let release =
        elf::vermagic_release(&plain)?.ok_or("no vermagic in its .modinfo: not a kernel module")?;
    Ok(TreeFacts {
        release,
        machine: header.machine,
        module: module.to_string(),
    })
}

/// Set `tree.release` from its modules' vermagic. A `requested` release
/// (`--release`) that contradicts it is an error; a directory named
/// otherwise is told about in the returned note.
pub fn settle_release(
    tree: &mut ModTree,
    facts: Option<&TreeFacts>,
    requested: Option<&str>,
) -> Result<Option<String>, String> {
    let Some(f) = facts else {
        if let Some(r) = requested {
            tree.release = r.to_string();
        }
        return Ok(None);
    };
    if let Some(r) = requested.filter(|r| *r != f.release) {
        return Err(format!(
            "--release {r} contradicts the modules of {}: they were built for {} (vermagic of {})",
            tree.dir.display(),
            f.release,
            f.module
        ));
    }
    let note = (tree.release != f.release).then(|| {
        format!(
            "{} is named {}, but its modules were built for {} (vermagic of {}): the image is for {}",
            tree.dir.display(),
            tree.release,
            f.release,
            f.module,
            f.release
        )
    });
    tree.release = f.release.clone();
    Ok(note)
}

/// The init is an executable for `machine` (`None`: unknown, e.g. a tree
/// without modules), and is modboot's.
pub fn check_init(init: &[u8], path: &Path, machine: Option<u16>) -> Result<Header, String> {
    let what = |e: &str| {
        format!(
            "{}: {e}; --init takes modboot's init binary (initramfs/build-init builds it)",
            path.display()
        )
    };
    let h = Header::parse(init).map_err(what)?;
    if h.kind != elf::ET_EXEC {
        return Err(what(&format!(
            "a {}, not a static executable",
            h.describe()
        )));
    }
    if !init.windows(9).any(|w| w == b"modboot: ") {
        return Err(what("an executable, but not modboot's init"));
    }
    if let Some(m) = machine.filter(|m| *m != h.machine) {
        return Err(format!(
            "{} is an init for {}, but the modules are for {}: build the init with \
             initramfs/build-init --target for {}",
            path.display(),
            elf::machine_name(h.machine),
            elf::machine_name(m),
            elf::machine_name(m)
        ));
    }
    Ok(h)
}

/// Filesystems a root can be on that sit on a block device: what
/// [`mountable`] looks for (`fs-<type>`) in an image.
pub const BLOCK_FILESYSTEMS: &[&str] = &[
    "ext4", "ext3", "ext2", "xfs", "btrfs", "f2fs", "bcachefs", "jfs", "reiserfs", "nilfs2",
    "vfat", "msdos", "exfat", "ntfs3", "ntfs", "hfsplus", "hfs", "udf", "iso9660", "squashfs",
    "erofs", "cramfs", "romfs", "minix", "ufs", "gfs2", "ocfs2",
];

/// Roots that are no block device, mounted by tag (`root=TAG
/// rootfstype=TYPE`), each with the other names a tag root of that type
/// needs: 9p's transport over virtio (`9p-virtio`, which the kernel asks
/// for when mounting with `trans=virtio`, and whose driver takes the virtio
/// device). virtiofs is its own driver.
pub const TAG_FILESYSTEMS: &[(&str, &[&str])] = &[("virtiofs", &[]), ("9p", &["9p-virtio"])];

/// The names `--rootfs TYPE` packs: `fs-TYPE`, and what a tag root of that
/// type needs besides ([`TAG_FILESYSTEMS`]).
pub fn rootfs_names(fstype: &str) -> Vec<String> {
    let more = TAG_FILESYSTEMS
        .iter()
        .find(|(t, _)| *t == fstype)
        .map_or(&[][..], |(_, more)| more);
    std::iter::once(format!("fs-{fstype}"))
        .chain(more.iter().map(|m| m.to_string()))
        .collect()
}

/// The root filesystems a blob can mount: block filesystems and tag roots
/// ([`TAG_FILESYSTEMS`]) built into its kernel or packed, found as the
/// init finds them (`fs-<type>` through the resolver), with what a tag
/// root needs besides.
pub fn mountable(resolver: &Resolver<'_>) -> Vec<&'static str> {
    let found = |name: &str| {
        let mut buf = [0u8; 64];
        let Some(key) = resolve::normalise(name.as_bytes(), &mut buf) else {
            return false;
        };
        let mut found = false;
        let _ = resolver.modprobe(key, &mut |step| {
            found |= matches!(step.action, Action::Insmod(_) | Action::Builtin);
        });
        found
    };
    BLOCK_FILESYSTEMS
        .iter()
        .chain(TAG_FILESYSTEMS.iter().map(|(t, _)| t))
        .copied()
        .filter(|fs| rootfs_names(fs).iter().all(|n| found(n)))
        .collect()
}

/// Which root filesystems to pack when the user names none: ext4 (what
/// Debian's installer and most distributions make) and the filesystem of
/// the build machine's own root, if it is a block filesystem (from the
/// mount table `mounts` and `/proc/filesystems`' text `filesystems`).
pub fn default_rootfs(mounts: &str, filesystems: &str) -> Vec<String> {
    let mut out = vec!["ext4".to_string()];
    let root = mounts.lines().rev().find_map(|l| {
        let mut f = l.split_whitespace();
        let (_, dir, fstype) = (f.next()?, f.next()?, f.next()?);
        (dir == "/").then_some(fstype)
    });
    if let Some(t) = root {
        let block =
            crate::fstypes::candidates(filesystems.as_bytes(), false).any(|c| c == t.as_bytes());
        if block && BLOCK_FILESYSTEMS.contains(&t) && !out.iter().any(|o| o == t) {
            out.push(t.to_string());
        }
    }
    out
}

/// The `CONFIG_RD_*` option the kernel needs to unpack an image compressed
/// as `format`.
pub fn rd_option(format: Format) -> Option<&'static str> {
    match format {
        Format::Plain => None,
        Format::Gzip => Some("CONFIG_RD_GZIP"),
        Format::Xz => Some("CONFIG_RD_XZ"),
        Format::Zstd => Some("CONFIG_RD_ZSTD"),
    }
}

/// Whether the tree's kernel (by its configuration, when one is found) can
/// unpack an image compressed as `format`.
pub fn check_compression(tree: &ModTree, format: Format) -> Result<(), String> {
    let Some(option) = rd_option(format) else {
        return Ok(());
    };
    for path in KernelDecompress::config_candidates(&tree.dir, &tree.release) {
        if let Ok(text) = std::fs::read_to_string(&path) {
            if !text.lines().any(|l| l.trim() == format!("{option}=y")) {
                return Err(format!(
                    "kernel {} cannot unpack a {} image: {option} is not set in {} (--compress to choose another)",
                    tree.release,
                    format.kernel_name().unwrap_or("plain"),
                    path.display()
                ));
            }
            return Ok(());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_roots_pack_their_transport() {
        assert_eq!(rootfs_names("ext4"), ["fs-ext4"]);
        assert_eq!(rootfs_names("virtiofs"), ["fs-virtiofs"]);
        assert_eq!(rootfs_names("9p"), ["fs-9p", "9p-virtio"]);
    }

    #[test]
    fn default_root_filesystems() {
        let fs = "nodev\tsysfs\nnodev\toverlay\n\text4\n\tbtrfs\n\tvfat\n";
        let mounts = |root: &str| format!("sysfs /sys sysfs rw 0 0\n{root} rw 0 0\n");
        assert_eq!(
            default_rootfs(&mounts("/dev/sda1 / btrfs"), fs),
            ["ext4", "btrfs"]
        );
        assert_eq!(default_rootfs("/dev/sda1 / ext4 rw 0 0\n", fs), ["ext4"]);
        // A container's overlay root is no block filesystem.
        assert_eq!(default_rootfs("overlay / overlay rw 0 0\n", fs), ["ext4"]);
        // The last mount on / is the one in effect.
        assert_eq!(
            default_rootfs("rootfs / rootfs rw 0 0\n/dev/vda / vfat rw 0 0\n", fs),
            ["ext4", "vfat"]
        );
        assert_eq!(default_rootfs("", fs), ["ext4"]);
    }
}
