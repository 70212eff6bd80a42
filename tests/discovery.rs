//! Finding the root with a generic image: boots of Debian's cloud kernel in
//! QEMU where nothing is named for the machine. The image packs every
//! storage and filesystem driver (`mkimage --generic`); coldplug and hotplug
//! load what the VM's devices ask for, `root=` names the disk by UUID, LABEL
//! or PARTUUID on virtio-blk, virtio-scsi or NVMe, the filesystem is ext4,
//! btrfs, xfs or squashfs, and a disk whose controller has no driver in the
//! blob is named by its modalias.
//!
//! The root disks are made by `qemu/rootdisk` (same content as `qemu/rootfs`:
//! busybox and `qemu/guest-init`, which prints `GUEST:` lines about what it
//! was handed, `/proc/modules` among them).

mod common;

use common::{Console, compressed_tree, kernel, read_newc, root};
use modboot::host::modprobe_d::Config;
use modboot::host::modtree::ModTree;
use modboot::host::select;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

/// Host seconds one boot may take (a TCG boot takes 3-10 s; two at once on
/// two cores, and a slow CI machine, take longer).
const BOOT_TIMEOUT_S: u64 = 120;

fn scratch() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("discovery");
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn mkimage(out: &str, args: &[&str]) -> String {
    mkimage_of(&kernel().tree, out, args)
}

fn mkimage_of(tree: &Path, out: &str, args: &[&str]) -> String {
    let path = scratch().join(out);
    let status = Command::new(root().join("initramfs/mkimage"))
        .arg("--tree")
        .arg(tree)
        .args(args)
        .arg("-o")
        .arg(&path)
        .status()
        .expect("run initramfs/mkimage");
    assert!(status.success(), "initramfs/mkimage {args:?} failed");
    path.to_str().unwrap().to_string()
}

/// The images, built once.
struct Images {
    /// Every storage and filesystem driver, nothing named (`--generic`).
    generic: String,
    /// Only the virtio PCI transport (and what it needs), loaded by coldplug.
    virtio_pci_only: String,
    /// virtio-scsi and SCSI disks, but no virtio transport.
    no_virtio_pci: String,
    /// The virtio disk's drivers (loaded by coldplug) and no filesystem
    /// module: the cloud kernel has ext2/3/4 built in, and nothing else.
    virtio_blk_ext4: String,
}

fn images() -> &'static Images {
    static I: OnceLock<Images> = OnceLock::new();
    I.get_or_init(|| Images {
        generic: mkimage("generic.img", &["--generic"]),
        virtio_pci_only: mkimage("virtio-pci-only.img", &["--pack", "virtio_pci"]),
        no_virtio_pci: mkimage("no-virtio-pci.img", &["--pack", "virtio_scsi,sd_mod"]),
        virtio_blk_ext4: mkimage(
            "virtio-blk-ext4.img",
            &["--pack", "virtio_pci,virtio_blk", "--rootfs", "ext4"],
        ),
    })
}

/// A root disk from `qemu/rootdisk`, and what `blkid -p` found on it.
struct Disk {
    path: String,
    info: HashMap<String, String>,
}

impl Disk {
    fn get(&self, key: &str) -> &str {
        self.info
            .get(key)
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| panic!("qemu/rootdisk did not report {key} for {}", self.path))
    }
}

/// `name` is the image's file name in the scratch directory: one per test,
/// so that tests running at once never share (or remake) a disk.
fn rootdisk(name: &str, kind: &str, label: &str) -> Disk {
    let path = scratch().join(format!("{name}.img"));
    let out = Command::new(root().join("qemu/rootdisk"))
        .args([kind, path.to_str().unwrap(), "--label", label])
        .stderr(Stdio::inherit())
        .output()
        .expect("run qemu/rootdisk");
    assert!(out.status.success(), "qemu/rootdisk {kind} failed");
    Disk {
        path: path.to_str().unwrap().to_string(),
        info: String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

/// Where the root disk is attached.
#[derive(Clone, Copy)]
enum Bus {
    VirtioBlk,
    VirtioScsi,
    Nvme,
}

struct Boot<'a> {
    name: &'a str,
    image: &'a str,
    machine: &'a str,
    disk: (Bus, &'a str),
    append: &'a str,
}

impl Boot<'_> {
    /// Boot until the VM powers off or reboots, or 2 s after modboot says it
    /// cannot go on (a boot that halts never ends by itself).
    fn run(&self) -> Console {
        self.run_with(&[])
    }

    /// [`Self::run`] with more of `qemu/boot`'s options.
    fn run_with(&self, options: &[&str]) -> Console {
        let k = kernel();
        let mut cmd = Command::new(root().join("qemu/boot"));
        cmd.arg("--kernel").arg(&k.vmlinuz).args([
            "--initrd",
            self.image,
            "--machine",
            self.machine,
            "--append",
            self.append,
            "--timeout",
            &BOOT_TIMEOUT_S.to_string(),
        ]);
        let flag = match self.disk.0 {
            Bus::VirtioBlk => "--disk",
            Bus::VirtioScsi => "--disk-scsi",
            Bus::Nvme => "--disk-nvme",
        };
        cmd.args([flag, self.disk.1]).args(options);
        let log = scratch().join(format!("boot-{}.log", self.name));
        let until = Some(("modboot: cannot continue the boot", Duration::from_secs(2)));
        common::run_boot(cmd, log, until, Duration::from_secs(BOOT_TIMEOUT_S + 30))
    }
}

/// A boot that reached the real root: mounted read-only as `dev` with
/// `fstype`, the root disk's init ran, and nothing panicked.
#[track_caller]
fn expect_root(c: &Console, dev: &str, fstype: &str) {
    c.expect(&format!("modboot: mounted {dev} on /root ({fstype}, ro)"));
    c.expect(&format!("GUEST: root {dev} {fstype} ro"));
    c.expect("GUEST: MARKER modboot-root-ok");
    c.expect_not("Kernel panic");
}

// What the VMs' devices bring, module by module. qemu/boot's VMs are QEMU's
// `pc` (i440FX) or `q35` with -nodefaults: no NIC, VGA, USB, floppy drive
// or CD-ROM, only the disk a test attaches.

/// QEMU `pc`: its PIIX3 IDE function (8086:7010, class 0101) is a real
/// device, and two aliases in the blob match it.
const PC_IDE: &[(&str, &str)] = &[
    (
        "ata_piix",
        "pci:v00008086d00007010: the PIIX3 IDE controller",
    ),
    (
        "ata_generic",
        "pci:v*d*sv*sd*bc01sc01i*: any IDE-class function, PIIX3 IDE too (modprobe loads every match)",
    ),
    ("libata", "dependency of ata_piix and ata_generic"),
    ("scsi_mod", "dependency of libata's drivers"),
    ("scsi_common", "dependency of scsi_mod's users"),
];

/// A virtio PCI function (any virtio disk).
const VIRTIO_PCI: &[(&str, &str)] = &[
    (
        "virtio_pci",
        "pci:v00001AF4d*: the virtio disk's PCI function",
    ),
    ("virtio_pci_modern_dev", "dependency of virtio_pci"),
    ("virtio_pci_legacy_dev", "dependency of virtio_pci"),
    ("virtio", "dependency of virtio_pci: the virtio bus"),
    ("virtio_ring", "dependency of virtio_pci"),
];

const VIRTIO_BLK: &[(&str, &str)] = &[(
    "virtio_blk",
    "virtio:d00000002v*: the virtio device virtio_pci found (a block device)",
)];

const VIRTIO_SCSI: &[(&str, &str)] = &[
    (
        "virtio_scsi",
        "virtio:d00000008v*: the virtio device virtio_pci found (a SCSI host)",
    ),
    ("sd_mod", "scsi:t-0x00*: the scsi-hd disk on that host"),
];

fn set(parts: &[&[(&'static str, &'static str)]]) -> Vec<(&'static str, &'static str)> {
    parts.iter().flat_map(|p| p.iter().copied()).collect()
}

/// The explicit sets above agree with the tree: each set holds the
/// dependencies (modules.dep) of each of its modules.
#[track_caller]
fn assert_closed(expected: &[(&str, &str)]) {
    let tree = ModTree::open(&kernel().tree, None).unwrap();
    for (m, _) in expected {
        let i = tree
            .find(m)
            .unwrap_or_else(|| panic!("{m} is not in the tree"));
        for d in tree.load_order(i) {
            let dep = &tree.modules[d].name;
            assert!(
                expected.iter().any(|(n, _)| n == dep),
                "{m} needs {dep}, which the expected set lacks"
            );
        }
    }
}

/// No boot: the generic selection of the cloud tree takes its storage and
/// filesystem drivers, leaves out what is not, and names nothing to load.
#[test]
fn generic_selection_of_the_cloud_tree() {
    let tree = ModTree::open(&kernel().tree, None).unwrap();
    let names = select::generic_names(&tree);
    let config = Config::load(&[], Some(&tree.dir.join("modules.softdep"))).unwrap();
    let sel = select::select(&tree, &config, &[], &names, false).unwrap();
    assert!(
        sel.spec.load.is_empty(),
        "a generic image loads nothing by name"
    );
    let packed: BTreeSet<&str> = sel.spec.modules.iter().map(|m| m.name.as_str()).collect();
    for m in [
        "virtio_pci",
        "virtio_mmio",
        "virtio_blk",
        "virtio_scsi",
        "sd_mod",
        "sr_mod",
        "ata_piix",
        "hv_storvsc",
        "vmw_pvscsi",
        "xen_blkfront",
        "nd_pmem",
        "btrfs",
        "xfs",
        "squashfs",
        "erofs",
        "vfat",
        "nls_cp437",
        "isofs",
        "udf",
        // Pulled in: dependencies and softdeps (btrfs pre: blake2b-256).
        "libata",
        "scsi_mod",
        "virtio",
        "libcrc32c",
        "raid6_pq",
        "blake2b_generic",
    ] {
        assert!(packed.contains(m), "{m} not in the generic selection");
    }
    for m in [
        "scsi_debug",
        "null_blk",
        "loop",
        "nbd",
        "rbd",
        "iscsi_tcp",
        "nvme_tcp",
        "nvmet",
        "xen_blkback",
        "dm_mod",
        "md_mod",
        "nfs",
        "nfsd",
        "cifs",
        "fuse",
        "overlay",
        "virtio_balloon",
        "virtio_net",
        "e1000",
        "binfmt_misc",
    ] {
        assert!(!packed.contains(m), "{m} is in the generic selection");
    }
}

/// The hand-over waits for no load the root does not need. On `pc` the
/// PIIX IDE controller's drivers (libata, scsi_mod: the heavier chain) load
/// after the virtio disk's, and `ata_piix` probes two empty channels for a
/// few hundred ms: the root on virtio-blk is mounted and the real init
/// started while those loads still run (on the instruction-counting clock,
/// so the order is the same on any host); they end all the same, each says
/// so in the log, and the real init's `/proc/modules` (read once modboot's
/// processes have ended) holds every module of the boot.
#[test]
fn generic_image_finds_uuid_on_virtio_blk() {
    let disk = rootdisk("uuid-blk", "ext4", "modboot-blk");
    let uuid = disk.get("uuid");
    let c = Boot {
        name: "generic-uuid-virtio-blk",
        image: &images().generic,
        machine: "pc",
        disk: (Bus::VirtioBlk, &disk.path),
        append: &format!("root=UUID={uuid}"),
    }
    .run_with(&["--icount"]);
    c.expect(&format!(
        "modboot: root device UUID={uuid} is /dev/vda (ext4)"
    ));
    expect_root(&c, "/dev/vda", "ext4");
    let started = c.time_of("GUEST: started");
    let ata_piix = c.time_of("modboot: loaded ata_piix in ");
    assert!(
        started < ata_piix,
        "the real init started at {started} s, after ata_piix loaded at {ata_piix} s: the hand-over waited for it"
    );
    // The lighter storage chain first: the virtio disk's drivers all load
    // before the first of the IDE controller's starts.
    assert!(c.position("modboot: loaded virtio_blk ") < c.position("modboot: loaded scsi_common "));
    c.expect("GUEST: modboot still running");
    c.expect("GUEST: modboot done");
    c.expect("modboot: modules: 11 loaded, 0 already present, 0 failed");
    let expected = set(&[PC_IDE, VIRTIO_PCI, VIRTIO_BLK]);
    assert_closed(&expected);
    c.expect_modules(&expected);
    c.expect_not("modboot: cannot load");
    c.expect_not("initramfs entries could not be deleted");
}

/// The module files of an image (uncompressed, or gzip-compressed and
/// unpacked by the real gzip): paths under `lib/modules/`.
fn image_modules(image: &str) -> Vec<String> {
    let bytes = std::fs::read(image).unwrap();
    let newc = if bytes.starts_with(b"070701") {
        bytes
    } else {
        let out = Command::new("gzip")
            .args(["-dc", image])
            .output()
            .expect("run gzip");
        assert!(out.status.success(), "gzip -dc {image} failed");
        out.stdout
    };
    read_newc(&newc)
        .into_keys()
        .filter(|p| p.starts_with("lib/modules/") && p.contains(".ko"))
        .collect()
}

/// The UUID boot above, from Debian's tree compressed as `ext` by the real
/// tool, with `args`. The kernel decompresses nothing (its config says so),
/// so its modules must come out as `stored` (".ko.gz": inflated by the
/// init; ".ko": decompressed by mkmodboot, as the kernel cannot read xz or
/// zstd).
fn generic_image_of_compressed_tree_boots(ext: &str, args: &[&str], stored: &str) {
    let tree = compressed_tree(ext);
    let image = mkimage_of(
        &tree,
        &format!("generic-{ext}.img"),
        &[&["--generic"], args].concat(),
    );
    let files = image_modules(&image);
    assert!(files.len() > 100, "{image}: only {} modules", files.len());
    let other: Vec<_> = files.iter().filter(|p| !p.ends_with(stored)).collect();
    assert!(
        other.is_empty(),
        "{image}: modules not stored as {stored}: {other:?}"
    );

    let disk = rootdisk(&format!("uuid-blk-{ext}"), "ext4", "modboot-blk");
    let uuid = disk.get("uuid");
    let c = Boot {
        name: &format!("generic-{ext}-tree-uuid-virtio-blk"),
        image: &image,
        machine: "pc",
        disk: (Bus::VirtioBlk, &disk.path),
        append: &format!("root=UUID={uuid}"),
    }
    .run();
    c.expect(&format!(
        "modboot: root device UUID={uuid} is /dev/vda (ext4)"
    ));
    expect_root(&c, "/dev/vda", "ext4");
    c.expect_modules(&set(&[PC_IDE, VIRTIO_PCI, VIRTIO_BLK]));
    c.expect_not("modboot: cannot load");
}

/// A generic image of a compressed tree stores every module compressed (the
/// default with `--generic` keeps only a plain tree's modules plain): gzip,
/// for a kernel that decompresses nothing, inflated by the init for what it
/// loads.
#[test]
fn generic_image_of_a_gzip_tree_boots() {
    generic_image_of_compressed_tree_boots("gz", &[], ".ko.gz");
}

#[test]
fn generic_image_of_an_xz_tree_boots() {
    generic_image_of_compressed_tree_boots("xz", &[], ".ko.gz");
}

/// With `--module-compression auto`, what the kernel cannot read is stored
/// plain.
#[test]
fn generic_image_of_a_zstd_tree_boots() {
    generic_image_of_compressed_tree_boots(
        "zst",
        &["--module-compression", "auto", "--compress", "gzip"],
        ".ko",
    );
}

#[test]
fn generic_image_finds_label_on_virtio_scsi() {
    let disk = rootdisk("label-scsi", "ext4", "modboot-scsi");
    let c = Boot {
        name: "generic-label-virtio-scsi",
        image: &images().generic,
        machine: "pc",
        disk: (Bus::VirtioScsi, &disk.path),
        append: "root=LABEL=modboot-scsi",
    }
    .run();
    c.expect("modboot: root device LABEL=modboot-scsi is /dev/sda (ext4)");
    expect_root(&c, "/dev/sda", "ext4");
    let expected = set(&[PC_IDE, VIRTIO_PCI, VIRTIO_SCSI]);
    assert_closed(&expected);
    c.expect_modules(&expected);
    c.expect_not("modboot: cannot load");
}

/// NVMe is built into the cloud kernel: the disk is there before modboot
/// runs, and on `q35` no device at all wants a module from the blob (its
/// ICH9 AHCI, LPC and SMBus functions have none in this kernel's tree or
/// none in the generic selection).
#[test]
fn generic_image_finds_partuuid_on_gpt_nvme() {
    let disk = rootdisk("partuuid-nvme", "gpt-ext4", "modboot-nvme");
    let partuuid = disk.get("partuuid");
    assert_eq!(disk.get("partlabel"), "modboot-nvme");
    let c = Boot {
        name: "generic-partuuid-nvme",
        image: &images().generic,
        machine: "q35",
        disk: (Bus::Nvme, &disk.path),
        append: &format!("root=PARTUUID={partuuid}"),
    }
    .run();
    c.expect(&format!(
        "modboot: root device PARTUUID={partuuid} is /dev/nvme0n1p1 (ext4)"
    ));
    expect_root(&c, "/dev/nvme0n1p1", "ext4");
    c.expect_modules(&[]);
}

/// A root on an MBR logical partition, by `PARTUUID=SSSSSSSS-05` as the
/// kernel numbers it: the init follows the extended boot records (the first
/// lies 2 MiB into the disk, past the head it probes).
#[test]
fn partuuid_of_an_mbr_logical_partition() {
    let disk = rootdisk("mbr-logical", "mbr-logical-ext4", "modboot-mbr");
    let partuuid = disk.get("partuuid");
    assert!(partuuid.ends_with("-05"), "{partuuid}");
    let c = Boot {
        name: "partuuid-mbr-logical",
        image: &images().generic,
        machine: "pc",
        disk: (Bus::VirtioBlk, &disk.path),
        append: &format!("root=PARTUUID={partuuid}"),
    }
    .run();
    c.expect(&format!(
        "modboot: root device PARTUUID={partuuid} is /dev/vda5 (ext4)"
    ));
    expect_root(&c, "/dev/vda5", "ext4");
}

/// No rootfstype=: the superblock says btrfs, which the kernel lacks, so the
/// init loads `fs-btrfs` (btrfs, its dependencies and softdeps) before it
/// mounts.
#[test]
fn btrfs_root_by_label_loads_btrfs_first() {
    let disk = rootdisk("btrfs", "btrfs", "modboot-btrfs");
    let c = Boot {
        name: "btrfs-label",
        image: &images().generic,
        machine: "pc",
        disk: (Bus::VirtioBlk, &disk.path),
        append: "root=LABEL=modboot-btrfs",
    }
    .run();
    c.expect("modboot: root device LABEL=modboot-btrfs is /dev/vda (btrfs)");
    assert!(
        c.position("modboot: loaded btrfs in") < c.position("modboot: mounted /dev/vda"),
        "btrfs loaded after the mount; see {}",
        c.log.display()
    );
    expect_root(&c, "/dev/vda", "btrfs");
    const BTRFS: &[(&str, &str)] = &[
        ("btrfs", "fs-btrfs: the root's superblock type"),
        ("libcrc32c", "dependency of btrfs"),
        ("xor", "dependency of btrfs"),
        ("raid6_pq", "dependency of btrfs"),
        ("zstd_compress", "dependency of btrfs"),
        (
            "blake2b_generic",
            "softdep btrfs pre: blake2b-256 (sha256, xxhash64, crc32c are built in)",
        ),
    ];
    let expected = set(&[PC_IDE, VIRTIO_PCI, VIRTIO_BLK, BTRFS]);
    assert_closed(&expected);
    c.expect_modules(&expected);
    // softdep btrfs pre: crypto-crc32c also reaches crc32c_intel, which the
    // kernel refuses with ENODEV on QEMU's default CPU (qemu64: no SSE4.2):
    // told apart from failures, as modprobe would meet it too.
    c.expect("modboot: modules: 17 loaded, 0 already present, 0 failed, 1 not for this machine");
    c.expect(
        "modboot: crc32c_intel is not for this machine: the kernel said ENODEV (no device or CPU feature for it)",
    );
    c.expect_not("cannot load module crc32c_intel");
}

/// rootfstype=xfs: the init mounts at once, the kernel asks for `fs-xfs`
/// itself, and its usermode helper is modboot's modprobe mode.
#[test]
fn xfs_root_with_rootfstype_is_loaded_on_the_kernels_request() {
    let disk = rootdisk("xfs", "xfs", "modboot-xfs");
    let c = Boot {
        name: "xfs-rootfstype",
        image: &images().generic,
        machine: "pc",
        disk: (Bus::VirtioBlk, &disk.path),
        append: "root=LABEL=modboot-xfs rootfstype=xfs",
    }
    .run();
    c.expect("modboot: root device LABEL=modboot-xfs is /dev/vda (xfs)");
    c.expect("modboot: modprobe fs-xfs (asked by the kernel): found");
    // The blob is named once, by the boot; each request is one line.
    let blob_lines = c
        .lines
        .iter()
        .filter(|l| l.contains("modboot: blob:"))
        .count();
    assert_eq!(blob_lines, 1, "see {}", c.log.display());
    assert!(
        c.position("modboot: loaded xfs in") < c.position("modprobe fs-xfs (asked by the kernel)"),
        "xfs not loaded by the modprobe mode; see {}",
        c.log.display()
    );
    expect_root(&c, "/dev/vda", "xfs");
    const XFS: &[(&str, &str)] = &[
        (
            "xfs",
            "fs-xfs: the kernel's request_module for rootfstype=xfs",
        ),
        ("libcrc32c", "dependency of xfs"),
    ];
    let expected = set(&[PC_IDE, VIRTIO_PCI, VIRTIO_BLK, XFS]);
    assert_closed(&expected);
    c.expect_modules(&expected);
}

/// squashfs: no label, no UUID; found by name, its type from the
/// superblock. Read-only by nature: the root disk's init must not need to
/// write (the root is mounted ro anyway).
#[test]
fn squashfs_root_by_name() {
    let disk = rootdisk("squashfs", "squashfs", "modboot-sqfs");
    let c = Boot {
        name: "squashfs",
        image: &images().generic,
        machine: "pc",
        disk: (Bus::VirtioBlk, &disk.path),
        append: "root=/dev/vda",
    }
    .run();
    c.expect("modboot: root device /dev/vda is /dev/vda (squashfs)");
    expect_root(&c, "/dev/vda", "squashfs");
    c.expect("GUEST: mounted /dev");
    let expected = set(&[
        PC_IDE,
        VIRTIO_PCI,
        VIRTIO_BLK,
        &[("squashfs", "fs-squashfs: the root's superblock type")],
    ]);
    assert_closed(&expected);
    c.expect_modules(&expected);
}

/// The end of a boot whose root disk never appeared.
#[track_caller]
fn expect_end_without_root(c: &Console) {
    c.expect("modboot: root device LABEL=modboot-scsi did not appear within 3 s");
    c.expect("modboot: no block device present at all");
    // qemu/boot's panic=-1: the policy reboots at once, and QEMU exits.
    c.expect("modboot: cannot continue the boot: rebooting now (panic=-1)");
    assert!(c.exited, "the VM did not end; see {}", c.log.display());
    c.expect_not("Kernel panic");
    c.expect_not("Attempted to kill init");
    c.expect_not("GUEST:");
}

/// The blob has the virtio PCI transport only: coldplug loads it, it finds a
/// virtio SCSI host, and nothing in the blob drives that.
#[test]
fn no_driver_for_the_virtio_scsi_host_is_named_by_modalias() {
    let disk = rootdisk("no-driver-virtio", "ext4", "modboot-scsi");
    let c = Boot {
        name: "no-driver-virtio",
        image: &images().virtio_pci_only,
        machine: "pc",
        disk: (Bus::VirtioScsi, &disk.path),
        append: "root=LABEL=modboot-scsi rootdelay=3",
    }
    .run();
    c.expect("modboot: loaded virtio_pci in");
    expect_end_without_root(&c);
    let line = "modboot: no driver for virtio device virtio0: nothing in the blob matches its modalias virtio:d00000008v00001AF4";
    assert!(
        c.position("did not appear within 3 s") < c.position(line),
        "the no-driver line must follow the timeout; see {}",
        c.log.display()
    );
    c.expect_not("modboot: no driver for acpi device");
}

/// The blob has virtio-scsi but no virtio transport: the disk controller's
/// PCI function (virtio 1af4:1004, transitional SCSI) is left unbound.
#[test]
fn no_driver_for_the_pci_function_is_named_by_modalias() {
    let disk = rootdisk("no-driver-pci", "ext4", "modboot-scsi");
    let c = Boot {
        name: "no-driver-pci",
        image: &images().no_virtio_pci,
        machine: "pc",
        disk: (Bus::VirtioScsi, &disk.path),
        append: "root=LABEL=modboot-scsi rootdelay=3",
    }
    .run();
    expect_end_without_root(&c);
    c.expect("modboot: modules: 0 loaded");
    // The report names the storage controllers without a driver, and only
    // them: the PIIX3 IDE function and the virtio-scsi one (in bus order);
    // the others (ACPI objects, the PC speaker, the keyboard controller...)
    // are one count.
    let report: Vec<&String> = c
        .lines
        .iter()
        .skip(c.position("did not appear within 3 s"))
        .filter(|l| {
            l.contains("modboot: no driver for ") || l.contains(" more devices have no driver")
        })
        .collect();
    let names = |l: &str, modalias: &str| {
        l.contains("modboot: no driver for pci device ")
            && l.ends_with(&format!(
                ": nothing in the blob matches its modalias {modalias}"
            ))
    };
    assert!(
        report.len() == 3
            && names(
                report[0],
                "pci:v00008086d00007010sv00001AF4sd00001100bc01sc01i80"
            )
            && names(
                report[1],
                "pci:v00001AF4d00001004sv00001AF4sd00000008bc01sc00i00"
            )
            && report[2].contains(
                " more devices have no driver in the blob, none of them a way to storage"
            ),
        "the report should name the IDE and virtio-scsi PCI functions, then count the rest: {report:#?}; see {}",
        c.log.display()
    );
}

/// A root filesystem whose module the image lacks: btrfs on the disk, an
/// image with ext4 only (built into the cloud kernel). The mount line lists
/// every type tried and why, and names the missing module.
#[test]
fn mount_failure_names_the_missing_filesystem_module() {
    let disk = rootdisk("btrfs-no-module", "btrfs", "modboot-btrfs");
    let c = Boot {
        name: "no-btrfs-module",
        image: &images().virtio_blk_ext4,
        machine: "pc",
        disk: (Bus::VirtioBlk, &disk.path),
        append: "root=/dev/vda",
    }
    .run();
    c.expect("modboot: root device /dev/vda is /dev/vda (btrfs)");
    c.expect(
        "modboot: cannot load fs-btrfs: no module, alias or built-in of that name in the blob",
    );
    let line = c
        .after("modboot: cannot mount root /dev/vda: ")
        .unwrap_or("");
    assert!(
        line.starts_with("btrfs: ENODEV (no fs-btrfs module in the image), ")
            && ["ext3: EINVAL", "ext2: EINVAL", "ext4: EINVAL"]
                .iter()
                .all(|t| line.contains(t)),
        "every type tried and why: {line:?}; see {}",
        c.log.display()
    );
    c.expect("modboot: cannot continue the boot: rebooting now (panic=-1)");
}

/// An ISO 9660 image as the root disk: modboot recognises it (its volume
/// descriptor), loads fs-iso9660 if it can, and says the image lacks it.
#[test]
fn iso9660_root_is_recognised_and_its_missing_module_named() {
    // The primary volume descriptor and the set terminator, as mkisofs
    // writes them at sectors 16 and 17 (no ISO writer among the tools).
    let path = scratch().join("fake.iso");
    let mut iso = vec![0u8; 1 << 20];
    iso[0x8000..0x8007].copy_from_slice(b"\x01CD001\x01");
    iso[0x8028..0x8048].copy_from_slice(format!("{:<32}", "MODBOOT_ISO").as_bytes());
    iso[0x8800..0x8807].copy_from_slice(b"\xffCD001\x01");
    std::fs::write(&path, &iso).unwrap();
    let c = Boot {
        name: "iso9660-no-module",
        image: &images().virtio_blk_ext4,
        machine: "pc",
        disk: (Bus::VirtioBlk, path.to_str().unwrap()),
        append: "root=LABEL=MODBOOT_ISO",
    }
    .run();
    c.expect("modboot: root device LABEL=MODBOOT_ISO is /dev/vda (iso9660)");
    c.expect(
        "modboot: cannot mount root /dev/vda: iso9660: ENODEV (no fs-iso9660 module in the image)",
    );
}

/// A whole partitioned disk as root=: the mount fails (no filesystem), and
/// the next line says it holds a partition table and names its
/// partitions, logical ones too.
#[test]
fn a_partitioned_disk_as_root_names_its_partitions() {
    let disk = rootdisk("mbr-whole", "mbr-logical-ext4", "modboot-mbr");
    let partuuid = disk.get("partuuid");
    let sig = partuuid.trim_end_matches("-05");
    let c = Boot {
        name: "partitioned-disk-as-root",
        image: &images().generic,
        machine: "pc",
        disk: (Bus::VirtioBlk, &disk.path),
        append: "root=/dev/vda",
    }
    .run();
    c.expect("modboot: root device /dev/vda is /dev/vda (unknown)");
    c.expect("modboot: cannot mount root /dev/vda: ");
    c.expect(&format!(
        "modboot: /dev/vda holds a partition table, not a filesystem: root= names one of its partitions: \
         /dev/vda1 PARTUUID={sig}-01, /dev/vda5 PARTUUID={sig}-05, /dev/vda6 PARTUUID={sig}-06"
    ));
    assert!(
        c.position("cannot mount root /dev/vda") < c.position("holds a partition table"),
        "see {}",
        c.log.display()
    );
}

/// modprobe.blacklist= on the disk's driver: no block device appears, and
/// the report names the device and says its driver is blacklisted.
#[test]
fn a_blacklisted_disk_driver_is_named_as_blacklisted() {
    let disk = rootdisk("blacklisted", "ext4", "modboot-blk");
    let c = Boot {
        name: "blacklisted-virtio-blk",
        image: &images().generic,
        machine: "pc",
        disk: (Bus::VirtioBlk, &disk.path),
        append: "root=LABEL=modboot-blk rootdelay=3 modprobe.blacklist=virtio_blk",
    }
    .run();
    c.expect("modboot: root device LABEL=modboot-blk did not appear within 3 s");
    c.expect("modboot: no block device present at all");
    c.expect(
        "modboot: no driver for virtio device virtio0: its driver virtio_blk is blacklisted \
         (modprobe.blacklist=, rd.driver.blacklist= or modprobe.d)",
    );
    c.expect(" more devices have no driver in the blob, none of them a way to storage");
    c.expect_not("modboot: no driver for acpi device");
}
