//! Boots on every architecture the init is built for, and on Debian 13's
//! kernels: Debian 12's arm64 kernel on `qemu-system-aarch64 -machine virt`,
//! Debian 13's riscv64 kernel on `qemu-system-riscv64 -machine virt` with
//! QEMU's OpenSBI, and Debian 13's amd64 cloud kernel (6.12, `.ko.xz`
//! modules the kernel decompresses itself). For each:
//!
//! - the image README.md documents (`initramfs/mkimage --target ... --list
//!   initramfs/virtio.list --config initramfs/modprobe.d`) boots to the real
//!   root by UUID, and the boot list and its options are read back from
//!   `/sys/module` in the real root;
//! - a generic image finds the disk by coldplug alone, on virtio-mmio for
//!   the virt machines (virtio-blk-pci on amd64);
//! - with no root disk, the boot says so and the kernel does not panic.
//!
//! Root disks come from `qemu/rootfs --arch`, with the guest's own
//! busybox-static.

mod common;

use common::{Console, Kernel, root};
use modboot::host::{codec, cpio};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

struct Target {
    name: &'static str,
    /// `uname -m`'s name: qemu/boot's and qemu/rootfs's `--arch`.
    arch: &'static str,
    /// Debian's kernel metapackage, architecture and suite.
    meta: &'static str,
    deb_arch: &'static str,
    suite: &'static str,
    /// The init's Rust target.
    triple: &'static str,
    /// How the generic image's disk is attached.
    generic_disk: &'static str,
}

fn dir(name: &str) -> PathBuf {
    common::scratch_dir("arch", name)
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn mkimage(tree: &Path, t: &Target, args: &[&str], out: &Path) {
    run(Command::new(root().join("initramfs/mkimage"))
        .arg("--tree")
        .arg(tree)
        .args(["--target", t.triple])
        .args(args)
        .arg("-o")
        .arg(out));
}

fn boot(
    t: &Target,
    k: &Kernel,
    image: &Path,
    disk: Option<(&str, &Path)>,
    append: &str,
    log: &str,
    until: Option<&str>,
) -> Console {
    let mut cmd = Command::new(root().join("qemu/boot"));
    cmd.args(["--arch", t.arch])
        .arg("--kernel")
        .arg(&k.vmlinuz)
        .arg("--initrd")
        .arg(image)
        .args(["--append", append, "--timeout", "300"]);
    if let Some((flag, disk)) = disk {
        cmd.arg(flag).arg(disk);
    }
    let log = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("arch-{}-{log}.log", t.name));
    common::run_boot(
        cmd,
        log,
        until.map(|u| (u, Duration::from_secs(3))),
        Duration::from_secs(360),
    )
}

/// The modules an image stores, by path.
fn stored(image: &Path) -> Vec<String> {
    let bytes = std::fs::read(image).unwrap();
    let (members, _) = cpio::read_image(&bytes, &codec::decompress).unwrap();
    members
        .into_iter()
        .map(|m| m.path)
        .filter(|p| p.contains(".ko"))
        .collect()
}

fn check(t: &Target) {
    let k = common::kernel_of(t.meta, t.deb_arch, t.suite);
    let d = dir(t.name);
    let rootfs = d.join("root.img");
    run(Command::new(root().join("qemu/rootfs"))
        .args(["--arch", t.arch])
        .arg(&rootfs));
    let uuid = run(Command::new("blkid")
        .args(["-s", "UUID", "-o", "value"])
        .arg(&rootfs));
    assert_eq!(uuid.len(), 36, "blkid gave {uuid:?}");

    // README's image, root by UUID, options from modprobe.d and the command line.
    let image = d.join("readme.img");
    let list = root().join("initramfs/virtio.list");
    let conf = root().join("initramfs/modprobe.d");
    mkimage(
        &k.tree,
        t,
        &[
            "--list",
            list.to_str().unwrap(),
            "--config",
            conf.to_str().unwrap(),
        ],
        &image,
    );
    let c = boot(
        t,
        &k,
        &image,
        Some(("--disk", &rootfs)),
        &format!("root=UUID={uuid} virtio_blk.queue_depth=64"),
        "readme",
        None,
    );
    c.expect("GUEST: MARKER modboot-root-ok");
    c.expect(&format!(
        "modboot: root device UUID={uuid} is /dev/vda (ext4)"
    ));
    c.expect("GUEST: param virtio_blk/parameters/queue_depth 64");
    assert!(
        c.guest_modules().contains("virtio_blk"),
        "virtio_blk not in /proc/modules; see {}",
        c.log.display()
    );
    assert!(
        c.loaded().iter().any(|m| m == "virtio_blk"),
        "modboot did not load virtio_blk; see {}",
        c.log.display()
    );
    c.expect("modboot: modules: ");

    // A generic image: nothing named, coldplug finds the disk.
    let generic = d.join("generic.img");
    mkimage(&k.tree, t, &["--generic"], &generic);
    let c = boot(
        t,
        &k,
        &generic,
        Some((t.generic_disk, &rootfs)),
        &format!("root=UUID={uuid}"),
        "generic",
        None,
    );
    c.expect("GUEST: MARKER modboot-root-ok");
    assert!(
        c.guest_modules().contains("virtio_blk"),
        "coldplug did not load virtio_blk; see {}",
        c.log.display()
    );

    // No root disk: the line, and no kernel panic.
    let c = boot(
        t,
        &k,
        &image,
        None,
        &format!("root=UUID={uuid} rootdelay=2"),
        "no-disk",
        Some("did not appear within 2 s"),
    );
    c.expect(&format!(
        "modboot: root device UUID={uuid} did not appear within 2 s"
    ));
    c.expect_not("Kernel panic");
    c.expect_not("Attempted to kill init");
}

#[test]
fn aarch64_debian12_arm64_kernel() {
    check(&Target {
        name: "aarch64",
        arch: "aarch64",
        meta: "linux-image-arm64",
        deb_arch: "arm64",
        suite: "bookworm",
        triple: "aarch64-unknown-linux-musl",
        generic_disk: "--disk-mmio",
    });
}

#[test]
fn riscv64_debian13_kernel() {
    check(&Target {
        name: "riscv64",
        arch: "riscv64",
        meta: "linux-image-riscv64",
        deb_arch: "riscv64",
        suite: "trixie",
        triple: "riscv64gc-unknown-linux-gnu",
        generic_disk: "--disk-mmio",
    });
}

/// Debian 13's cloud kernel decompresses its `.ko.xz` modules itself: the
/// image keeps them `.ko.xz`, and they load through `finit_module` with
/// `MODULE_INIT_COMPRESSED_FILE` (the init inflates only gzip, and the
/// kernel refuses xz bytes without that flag); the kmsg line says so.
#[test]
fn x86_64_debian13_cloud_kernel_loads_ko_xz_in_the_kernel() {
    let t = Target {
        name: "x86_64-trixie",
        arch: "x86_64",
        meta: "linux-image-cloud-amd64",
        deb_arch: "amd64",
        suite: "trixie",
        triple: "x86_64-unknown-linux-musl",
        generic_disk: "--disk",
    };
    check(&t);
    let image = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("arch/x86_64-trixie/readme.img");
    let modules = stored(&image);
    assert!(
        modules.iter().any(|p| p.ends_with("/virtio_blk.ko.xz")),
        "virtio_blk not stored as .ko.xz: {modules:?}"
    );
    assert!(modules.iter().all(|p| p.ends_with(".ko.xz")), "{modules:?}");
    // The kmsg line says how it went in.
    let log = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("arch-x86_64-trixie-readme.log");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.lines()
            .any(|l| l.contains("modboot: loaded virtio_blk in ")
                && l.contains(" ms, decompressed by the kernel, params ")),
        "no 'decompressed by the kernel' line in {}",
        log.display()
    );
}
