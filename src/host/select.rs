//! From a module tree, its configuration and requested names to a blob spec.
//!
//! [`full_spec`] describes the whole tree (every module, alias, softdep and
//! configuration line). [`select`] keeps, of the modules, exactly those that
//! `modprobe NAME` would reach for the requested names, found by running the
//! core resolver (the code the init runs) on the full blob; aliases of
//! modules left out are dropped, the rest of the configuration is kept.

use super::emit::{self, BlobSpec, Deflate, ModuleSpec, SoftdepSpec};
use super::modprobe_d::Config;
use super::modtree::ModTree;
use crate::blob::Blob;
use crate::modname;
use crate::resolve::{self, Action, Resolver};
use std::collections::BTreeSet;

/// What a selection resolved to.
#[derive(Debug)]
pub struct Selection {
    pub spec: BlobSpec,
    /// Requested names that are built into the kernel: nothing to load.
    pub builtin: Vec<String>,
    /// Requested names whose modules an `install` command replaces.
    pub installed: Vec<(String, String)>,
    /// Requested names that are no module, alias or built-in of the tree,
    /// each once, in the order given: callers refuse the build.
    pub unknown: Vec<String>,
}

/// kmod's normalisation of a pattern or name; `None` if it is invalid (kmod
/// skips those).
fn normalised(s: &str) -> Option<String> {
    String::from_utf8(modname::underscores(s.as_bytes())?.collect()).ok()
}

/// The whole tree and configuration as a spec; `load` is the boot list.
pub fn full_spec(tree: &ModTree, config: &Config, load: &[String]) -> BlobSpec {
    let ranked = tree.modules.len();
    let rank = |name: &str| {
        tree.order_of(name)
            .or_else(|| tree.find(name).map(|i| ranked + i))
            .unwrap_or(usize::MAX) as u32
    };
    BlobSpec {
        release: tree.release.clone(),
        modules: (0..tree.modules.len())
            .map(|i| ModuleSpec {
                name: tree.modules[i].name.clone(),
                path: tree.modules[i].path.clone(),
                deps: tree
                    .load_order(i)
                    .map(|d| tree.modules[d].name.clone())
                    .collect(),
            })
            .collect(),
        load: load.to_vec(),
        config_aliases: config.aliases.clone(),
        aliases: tree
            .aliases
            .iter()
            .filter_map(|(p, m)| Some((normalised(p)?, m.clone(), rank(m))))
            .collect(),
        builtin: tree.builtin_names().map(str::to_string).collect(),
        builtin_aliases: tree
            .builtin_aliases
            .iter()
            .filter_map(|(p, m)| Some((normalised(p)?, m.clone())))
            .collect(),
        options: config.options.clone(),
        commands: config.commands.clone(),
        softdeps: config
            .softdeps
            .iter()
            .map(|sd| {
                let names = |v: &[String]| {
                    v.iter()
                        .map(|n| normalised(n).unwrap_or_else(|| n.clone()))
                        .collect()
                };
                SoftdepSpec {
                    pattern: sd.pattern.clone(),
                    pre: names(&sd.pre),
                    post: names(&sd.post),
                }
            })
            .collect(),
        blacklist: config.blacklist.clone(),
    }
}

/// A blob for booting: `load` is loaded at boot, `pack` only packed (for
/// `modules-load=` and the kernel's own requests); with `all`, every module
/// of the tree is packed. Unknown names are returned in
/// [`Selection::unknown`], all of them.
pub fn select(
    tree: &ModTree,
    config: &Config,
    load: &[String],
    pack: &[String],
    all: bool,
) -> Result<Selection, String> {
    let full = full_spec(tree, config, load);
    let bytes = emit::emit_with(&full, Deflate::Never)?;
    let payload = emit::payload(&bytes).map_err(|e| e.describe().to_string())?;
    let blob = Blob::new_checked(&payload).map_err(|e| e.describe().to_string())?;
    let resolver = Resolver::new(blob, b"");

    let mut keep = BTreeSet::new();
    let mut builtin = Vec::new();
    let mut installed = Vec::new();
    let mut unknown = Vec::new();
    for name in load.iter().chain(pack) {
        let mut buf = [0u8; 4096];
        let key = resolve::normalise(name.as_bytes(), &mut buf)
            .ok_or_else(|| format!("{name}: not a valid module name"))?;
        let mut loads = false;
        let mut only_builtin = true;
        let result = resolver.modprobe(key, &mut |step| match step.action {
            Action::Insmod(m) => {
                keep.insert(m.name().to_string());
                loads = true;
                only_builtin = false;
            }
            Action::Install(command) => {
                // Kept even when the command disables it: the boot then
                // resolves the module's aliases as modprobe does, and says why
                // it does not load it. Any other command cannot run in an
                // initramfs, so the init loads the module itself.
                if let Some(m) = blob.find(step.object.name.as_bytes()) {
                    keep.insert(m.name().to_string());
                }
                installed.push((step.object.name.to_string(), command.to_string()));
                only_builtin = false;
            }
            Action::Builtin => {}
            Action::Nothing => only_builtin = false,
        });
        match result {
            Err(_) => {
                if !unknown.contains(name) {
                    unknown.push(name.clone());
                }
            }
            Ok(()) if !loads && only_builtin => builtin.push(name.clone()),
            Ok(()) => {}
        }
    }
    // weakdep: what the lines for a packed module name is packed too (never
    // loaded for it), and so on until nothing new comes in.
    loop {
        let before = keep.len();
        let named: Vec<String> = config
            .weakdeps
            .iter()
            .filter(|(pattern, _)| {
                keep.iter()
                    .any(|m| crate::glob::matches(pattern.as_bytes(), m.as_bytes()))
            })
            .flat_map(|(_, names)| names.iter().cloned())
            .collect();
        for name in named {
            let mut buf = [0u8; 4096];
            let Some(key) = resolve::normalise(name.as_bytes(), &mut buf) else {
                continue;
            };
            let _ = resolver.modprobe(key, &mut |step| {
                if let Action::Insmod(m) = step.action {
                    keep.insert(m.name().to_string());
                }
            });
        }
        if keep.len() == before {
            break;
        }
    }
    if all {
        return Ok(Selection {
            spec: full,
            builtin,
            installed,
            unknown,
        });
    }
    let mut spec = full;
    spec.modules.retain(|m| keep.contains(&m.name));
    spec.aliases.retain(|(_, m, _)| keep.contains(m));
    Ok(Selection {
        spec,
        builtin,
        installed,
        unknown,
    })
}

/// What a generic image packs: the module paths (relative to the tree) of
/// every storage controller and filesystem driver, as a distribution's
/// generic initramfs takes them (initramfs-tools' `MODULES=most`, dracut's
/// `kernel-modules` without host-only). A pattern ending in `/` is a
/// directory and matches every module under it; any other is `DIR/NAME`, the
/// module of that name (kmod's spelling: `-` = `_`, any compression) in
/// that directory. [`GENERIC_EXCLUDE`] then takes out what cannot give
/// modboot a root. What these modules need comes along as it does for any
/// packed name: dependencies and softdeps, found by the resolver.
///
/// Not taken at all: md and device-mapper (RAID, LVM, dm-crypt, verity:
/// assembled by mdadm, lvm or cryptsetup, which modboot does not have, and
/// loaded by them, not by a device's modalias), storage targets (LIO,
/// `nvme/target/`, vhost: this machine serving disks), network drivers.
pub const GENERIC_INCLUDE: &[&str] = &[
    // Disk controllers and the disks behind them. ATA/SATA/PATA
    // (ata_piix, ahci, libata), every SCSI host and the upper-level drivers
    // (sd_mod disks, sr_mod CD/DVD), SCSI on flash (UFS), NVMe on PCIe,
    // SD/eMMC, paravirtual disks (virtio_blk, xen-blkfront; hv_storvsc,
    // vmw_pvscsi and virtio_scsi are under scsi/).
    "kernel/drivers/ata/",
    "kernel/drivers/scsi/",
    "kernel/drivers/ufs/",
    "kernel/drivers/block/",
    "kernel/drivers/nvme/host/",
    "kernel/drivers/mmc/",
    "kernel/drivers/memstick/",
    // Persistent memory as a block device (/dev/pmemN): the nvdimm bus and
    // its disks, ACPI's NFIT that creates them, virtio-pmem.
    "kernel/drivers/nvdimm/",
    "kernel/drivers/acpi/nfit/",
    // USB and FireWire disks: the mass-storage drivers and the host
    // controllers they sit behind (initramfs-tools takes both).
    "kernel/drivers/usb/storage/",
    "kernel/drivers/usb/host/",
    "kernel/drivers/firewire/firewire-ohci",
    "kernel/drivers/firewire/firewire-sbp2",
    // The buses paravirtual disks sit on: virtio over PCI (and its legacy
    // and modern halves) and over MMIO (the virtio disk drivers depend on
    // virtio, not on a transport, so nothing else would bring these).
    "kernel/drivers/virtio/virtio_pci",
    "kernel/drivers/virtio/virtio_pci_legacy_dev",
    "kernel/drivers/virtio/virtio_pci_modern_dev",
    "kernel/drivers/virtio/virtio_mmio",
    // PCI host bridges that NVMe and other controllers can sit behind:
    // Intel VMD, Hyper-V's virtual PCI (NVMe passed through on Azure).
    "kernel/drivers/pci/controller/",
    // Filesystems, and what mounting them asks the kernel for (the nls
    // tables of vfat, isofs, udf, exfat: request_module("nls_...")).
    "kernel/fs/",
];

/// Taken out of [`GENERIC_INCLUDE`]'s directories: what is not a way to a
/// block-device root that modboot can mount on its own. modboot has no
/// userspace (no mdadm, lvm, cryptsetup, losetup, nbd-client, iscsid,
/// nvme-cli, FUSE daemon) and brings up no network, so drivers that only
/// work once such a tool configures them, or over the network, are left out
/// (`--pack` adds any of them). They have no device modalias either:
/// coldplug would never load them. A module left out here still comes along
/// when an included one depends on it.
pub const GENERIC_EXCLUDE: &[&str] = &[
    // Test fakes: a RAM-backed SCSI host and block device.
    "kernel/drivers/scsi/scsi_debug",
    "kernel/drivers/block/null_blk/",
    // The floppy: no root, and its probe of a controller without a drive
    // stalls the boot for seconds.
    "kernel/drivers/block/floppy",
    // Backends: this machine serving its disks to others (Xen's blkback).
    "kernel/drivers/block/xen-blkback/",
    // Set up by a tool, or over the network: loop (losetup), RAM disks
    // (brd), zram (zramctl), nbd, rbd (Ceph), ATA over Ethernet, DRBD,
    // RDMA block devices, ublk (a userspace server), software iSCSI
    // (iscsid), NVMe over TCP/RDMA (nvme connect).
    "kernel/drivers/block/loop",
    "kernel/drivers/block/brd",
    "kernel/drivers/block/zram/",
    "kernel/drivers/block/nbd",
    "kernel/drivers/block/rbd",
    "kernel/drivers/block/aoe/",
    "kernel/drivers/block/drbd/",
    "kernel/drivers/block/rnbd/",
    "kernel/drivers/block/ublk_drv",
    "kernel/drivers/scsi/iscsi_tcp",
    "kernel/drivers/scsi/libiscsi_tcp",
    "kernel/drivers/nvme/host/nvme-tcp",
    "kernel/drivers/nvme/host/nvme-rdma",
    // Network filesystems and their caches: no network at this point.
    "kernel/fs/nfs/",
    "kernel/fs/nfs_common/",
    "kernel/fs/lockd/",
    "kernel/fs/smb/",
    "kernel/fs/cifs/",
    "kernel/fs/ceph/",
    "kernel/fs/9p/",
    "kernel/fs/afs/",
    "kernel/fs/coda/",
    "kernel/fs/orangefs/",
    "kernel/fs/netfs/",
    "kernel/fs/fscache/",
    "kernel/fs/cachefiles/",
    // File servers (the kernel's NFS and SMB servers).
    "kernel/fs/nfsd/",
    "kernel/fs/ksmbd/",
    // Served by a userspace daemon (FUSE; virtiofs is no block device).
    "kernel/fs/fuse/",
    // Not a filesystem on a device: automounter, binary formats, configfs,
    // EFI variables, crash records, overlays and stacked encryption (they
    // sit on mounts made by userspace), quota formats (quotaon's, not
    // mount's), the cluster lock manager (a dependency of gfs2 and ocfs2).
    "kernel/fs/autofs/",
    "kernel/fs/binfmt_misc",
    "kernel/fs/configfs/",
    "kernel/fs/efivarfs/",
    "kernel/fs/pstore/",
    "kernel/fs/overlayfs/",
    "kernel/fs/ecryptfs/",
    "kernel/fs/quota/",
    "kernel/fs/dlm/",
];

/// Whether `pattern` (see [`GENERIC_INCLUDE`]) matches the module at `path`.
fn path_matches(pattern: &str, path: &str) -> bool {
    if pattern.ends_with('/') {
        return path.starts_with(pattern);
    }
    let (dir, name) = pattern.rsplit_once('/').unwrap_or(("", pattern));
    let (path_dir, _) = path.rsplit_once('/').unwrap_or(("", path));
    path_dir == dir && super::modtree::name_from_path(path) == super::emit::normalise(name)
}

/// Whether the module at `path` is one of a generic image's storage
/// controller and filesystem drivers.
pub fn is_generic(path: &str) -> bool {
    GENERIC_INCLUDE.iter().any(|p| path_matches(p, path))
        && !GENERIC_EXCLUDE.iter().any(|p| path_matches(p, path))
}

/// The names to pack for a generic image, in the tree's order: every module
/// [`is_generic`] takes. Nothing is loaded for them at boot; coldplug and the
/// kernel's own requests load what the machine turns out to need.
pub fn generic_names(tree: &ModTree) -> Vec<String> {
    tree.modules
        .iter()
        .filter(|m| is_generic(&m.path))
        .map(|m| m.name.clone())
        .collect()
}

/// Read a selection file: module names, whitespace-separated, each with
/// its line number (from 1); `#` starts a comment.
pub fn parse_list(text: &str) -> Vec<(usize, String)> {
    text.lines()
        .enumerate()
        .flat_map(|(n, l)| {
            l.split('#')
                .next()
                .unwrap_or("")
                .split_whitespace()
                .map(move |w| (n + 1, w.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> ModTree {
        let mut t = ModTree::parse(
            "r",
            "kernel/b.ko: kernel/a.ko\nkernel/a.ko:\nkernel/c.ko:\nkernel/d-x.ko: kernel/b.ko kernel/a.ko\nkernel/e.ko:\n",
            "kernel/ext4.ko\n",
        )
        .unwrap();
        t.aliases = vec![
            ("pci:v1234d*".into(), "c".into()),
            ("fs-dx".into(), "d_x".into()),
        ];
        t
    }

    #[test]
    fn selection_follows_what_modprobe_reaches() {
        let mut cfg = Config::default();
        cfg.parse(
            "t",
            "options a x=1\nsoftdep b pre: e\ninstall c /bin/true\n",
        );
        let sel = select(
            &tree(),
            &cfg,
            &["fs-dx".into(), "ext4".into()],
            &["pci:v1234d0001".into()],
            false,
        )
        .unwrap();
        assert_eq!(sel.builtin, ["ext4"]);
        assert_eq!(sel.spec.load, ["fs-dx", "ext4"]);
        let names: Vec<_> = sel.spec.modules.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(
            names,
            ["b", "a", "c", "d_x", "e"],
            "e is b's softdep; c is kept though install disables it"
        );
        assert_eq!(sel.installed, [("c".to_string(), "/bin/true".to_string())]);
        assert_eq!(sel.spec.aliases.len(), 2);
        let sel = select(&tree(), &cfg, &["b".into()], &[], false).unwrap();
        assert_eq!(
            sel.spec.aliases.len(),
            0,
            "aliases of modules left out are dropped"
        );
        let names = ["zzz", "b", "yyy", "zzz"].map(String::from);
        let sel = select(&tree(), &cfg, &names[..3], &names[3..], false).unwrap();
        assert_eq!(sel.unknown, ["zzz", "yyy"], "every unknown name, once");
        let mut weak = Config::default();
        weak.parse("w", "weakdep b c\nweakdep c e\n");
        let sel = select(&tree(), &weak, &["b".into()], &[], false).unwrap();
        let names: Vec<_> = sel.spec.modules.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["b", "a", "c", "e"], "weakdeps packed, transitively");
        assert_eq!(sel.spec.load, ["b"], "and not loaded");
        let all = select(&tree(), &cfg, &[], &[], true).unwrap();
        assert_eq!(all.spec.modules.len(), 5);
    }

    #[test]
    fn generic_takes_storage_and_filesystems_with_what_they_need() {
        let mut t = ModTree::parse(
            "r",
            "kernel/drivers/scsi/virtio_scsi.ko: kernel/drivers/scsi/scsi_mod.ko kernel/drivers/virtio/virtio.ko\n\
             kernel/drivers/scsi/scsi_mod.ko:\n\
             kernel/drivers/scsi/scsi_debug.ko: kernel/drivers/scsi/scsi_mod.ko\n\
             kernel/drivers/virtio/virtio.ko:\n\
             kernel/drivers/virtio/virtio_pci.ko.xz: kernel/drivers/virtio/virtio.ko\n\
             kernel/drivers/virtio/virtio_balloon.ko: kernel/drivers/virtio/virtio.ko\n\
             kernel/drivers/block/loop.ko:\n\
             kernel/drivers/block/xen-blkfront.ko:\n\
             kernel/drivers/nvme/target/nvmet.ko:\n\
             kernel/drivers/md/dm-mod.ko:\n\
             kernel/fs/btrfs/btrfs.ko: kernel/lib/raid6/raid6_pq.ko\n\
             kernel/lib/raid6/raid6_pq.ko:\n\
             kernel/crypto/crc32c_generic.ko:\n\
             kernel/fs/nfs/nfs.ko:\n\
             kernel/fs/nls/nls_cp437.ko:\n\
             kernel/net/ipv4/tcp_bbr.ko:\n",
            "kernel/fs/ext4/ext4.ko\n",
        )
        .unwrap();
        t.aliases = vec![("crypto-crc32c".into(), "crc32c_generic".into())];
        assert_eq!(
            generic_names(&t),
            [
                "virtio_scsi",
                "scsi_mod",
                "virtio_pci",
                "xen_blkfront",
                "btrfs",
                "nls_cp437"
            ],
            "a file pattern matches any compression and kmod's - = _; \
             scsi_debug, loop, nfs excluded; balloon, nvmet, dm-mod, tcp_bbr never in"
        );
        let mut cfg = Config::default();
        cfg.parse("t", "softdep btrfs pre: crypto-crc32c\n");
        let sel = select(&t, &cfg, &[], &generic_names(&t), false).unwrap();
        assert!(sel.spec.load.is_empty(), "nothing named for the machine");
        let mut names: Vec<_> = sel.spec.modules.iter().map(|m| m.name.as_str()).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "btrfs",
                "crc32c_generic",
                "nls_cp437",
                "raid6_pq",
                "scsi_mod",
                "virtio",
                "virtio_pci",
                "virtio_scsi",
                "xen_blkfront"
            ],
            "dependencies (virtio, raid6_pq) and softdeps (crc32c) come along"
        );
    }

    #[test]
    fn lists() {
        assert_eq!(
            parse_list("# x\nvirtio_pci  # bus\n\n virtio_blk nvme\n"),
            [
                (2, "virtio_pci".into()),
                (4, "virtio_blk".into()),
                (4, "nvme".to_string())
            ]
        );
    }
}
