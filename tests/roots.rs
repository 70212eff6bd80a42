//! Roots that are not block devices, booted in QEMU on Debian's kernels:
//! a host directory shared by virtiofs (the cloud kernel) and by 9p (the
//! standard kernel: the cloud kernel has no 9p) as the root, a tag that is
//! not there, an overlay over an ext4 root (`overlayroot=tmpfs:size=16m`,
//! `systemd.volatile=overlay`) whose disk must come out unchanged, and an
//! initramfs-only system (no `root=`: the program the image packs runs as
//! PID 1).
//!
//! The shared directories and the disk hold what `qemu/rootfs` puts on the
//! test root disk: busybox and `qemu/guest-init`, which prints `GUEST:`
//! lines about what it was handed and powers the VM off.

mod common;

use common::{Console, Kernel, kernel, root, scratch_dir, std_kernel};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

/// Host seconds one boot may take (a TCG boot takes 3-10 s; two at once on
/// two cores, and a slow CI machine, take longer).
const BOOT_TIMEOUT_S: u64 = 120;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// An image for `k` from `initramfs/mkimage` with `args`, in a directory
/// of its own (tests run at once).
fn mkimage(k: &Kernel, name: &str, args: &[&str]) -> PathBuf {
    let out = scratch_dir("roots", &format!("image-{name}")).join(name);
    let status = Command::new(root().join("initramfs/mkimage"))
        .arg("--tree")
        .arg(&k.tree)
        .args(args)
        .arg("-o")
        .arg(&out)
        .status()
        .expect("run initramfs/mkimage");
    assert!(status.success(), "initramfs/mkimage {args:?} failed");
    out
}

/// The test root disk's files in a directory (`qemu/rootfs --tree`), made
/// once: the directory virtiofs and 9p share.
fn shared_tree() -> &'static Path {
    static D: OnceLock<PathBuf> = OnceLock::new();
    D.get_or_init(|| {
        let d = scratch_dir("roots", "shared").join("tree");
        let status = Command::new(root().join("qemu/rootfs"))
            .arg("--tree")
            .arg(&d)
            .status()
            .expect("run qemu/rootfs");
        assert!(status.success(), "qemu/rootfs --tree failed");
        d
    })
}

/// Boot `image` on `k` with `qemu/boot` and more arguments (`--virtiofs`,
/// `--9p`, `--disk-rw`); the console is kept in the test target's
/// directory as `roots-NAME.log`.
fn boot(name: &str, k: &Kernel, image: &Path, append: &str, qemu: &[&str]) -> Console {
    let mut cmd = Command::new(root().join("qemu/boot"));
    cmd.args(["--kernel", s(&k.vmlinuz), "--initrd", s(image)])
        .args(["--append", append, "--timeout", &BOOT_TIMEOUT_S.to_string()])
        .args(qemu);
    let log = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("roots-{name}.log"));
    common::run_boot(cmd, log, None, Duration::from_secs(BOOT_TIMEOUT_S + 30))
}

/// The real init was reached, with `module` loaded by modboot (a `loaded`
/// line, from a worker or from the kernel's request) and in the guest's
/// `/proc/modules`.
#[track_caller]
fn reached_with(c: &Console, modules: &[&str]) {
    c.expect("GUEST: MARKER modboot-root-ok");
    c.expect("GUEST: pid 1");
    let in_guest = c.guest_modules();
    for m in modules {
        c.expect(&format!("modboot: loaded {m} in"));
        assert!(
            in_guest.contains(*m),
            "{m} not in the guest's modules; see {}",
            c.log.display()
        );
    }
    c.expect_not("modboot: cannot continue the boot");
}

/// The boot could not go on: `line`, then the failure policy (qemu/boot's
/// `panic=-1`: a reboot at once, which ends QEMU), and no real init.
#[track_caller]
fn ended_with(c: &Console, line: &str) {
    c.expect(line);
    let at = c.position(line);
    let policy = c.position("modboot: cannot continue the boot: rebooting now (panic=-1)");
    assert!(
        at < policy,
        "the policy came before the line; see {}",
        c.log.display()
    );
    assert!(
        c.exited,
        "QEMU did not end by itself; see {}",
        c.log.display()
    );
    c.expect_not("GUEST: started");
}

#[test]
fn virtiofs_root_as_the_kernel_and_dracut_spell_it() {
    let k = kernel();
    let image = mkimage(k, "virtiofs.img", &["--rootfs", "virtiofs", "virtio_pci"]);
    let share = format!("{}:modboot-fs", s(shared_tree()));
    for (name, append) in [
        ("virtiofs", "root=modboot-fs rootfstype=virtiofs"),
        ("virtiofs-dracut", "root=virtiofs:modboot-fs"),
    ] {
        let c = boot(name, k, &image, append, &["--virtiofs", &share]);
        reached_with(&c, &["virtiofs"]);
        c.expect("modboot: mounted modboot-fs on /root (virtiofs, ro)");
        c.expect("GUEST: root modboot-fs virtiofs ro");
        c.expect("GUEST: init /sbin/init");
    }
}

#[test]
fn nine_p_root_on_the_standard_kernel() {
    let k = std_kernel();
    let image = mkimage(k, "9p.img", &["--rootfs", "9p", "virtio_pci"]);
    let share = format!("{}:modboot-9p", s(shared_tree()));
    let c = boot(
        "9p",
        k,
        &image,
        "root=modboot-9p rootfstype=9p rootflags=trans=virtio,version=9p2000.L",
        &["--9p", &share],
    );
    // The filesystem, and the transport the kernel asks for (trans=virtio).
    reached_with(&c, &["9p", "9pnet", "9pnet_virtio"]);
    c.expect("modboot: mounted modboot-9p on /root (9p, ro, trans=virtio,version=9p2000.L)");
    c.expect("GUEST: root modboot-9p 9p ro");
}

#[test]
fn a_missing_tag_names_the_tag_and_the_driver_then_the_policy() {
    // A virtiofs device is there, with another tag.
    let k = kernel();
    let image = mkimage(
        k,
        "virtiofs-missing.img",
        &["--rootfs", "virtiofs", "virtio_pci"],
    );
    let share = format!("{}:modboot-fs", s(shared_tree()));
    let c = boot(
        "virtiofs-missing",
        k,
        &image,
        "root=modboot-missing rootfstype=virtiofs rootdelay=3",
        &["--virtiofs", &share],
    );
    c.expect("modboot: cannot mount root modboot-missing: virtiofs: EINVAL");
    ended_with(
        &c,
        "modboot: no virtio tag modboot-missing for driver virtiofs within 3 s",
    );
    // 9p: no device at all, so its driver has nothing to take.
    let k = std_kernel();
    let image = mkimage(k, "9p-missing.img", &["--rootfs", "9p", "virtio_pci"]);
    let c = boot(
        "9p-missing",
        k,
        &image,
        "root=modboot-9p rootfstype=9p rootflags=trans=virtio rootdelay=2",
        &[],
    );
    ended_with(
        &c,
        "modboot: no virtio tag modboot-9p for driver 9pnet_virtio within 2 s",
    );
}

#[test]
fn overlay_root_leaves_the_disk_unchanged() {
    let k = kernel();
    let image = mkimage(
        k,
        "overlay.img",
        &[
            "--list",
            s(&root().join("initramfs/virtio.list")),
            "--config",
            s(&root().join("initramfs/modprobe.d")),
            "--pack",
            "overlay",
        ],
    );
    let dir = scratch_dir("roots", "overlay");
    let disk = dir.join("root.img");
    let status = Command::new(root().join("qemu/rootfs"))
        .arg(&disk)
        .status()
        .expect("run qemu/rootfs");
    assert!(status.success(), "qemu/rootfs failed");
    let before = std::fs::read(&disk).unwrap();
    for (name, param) in [
        ("overlayroot", "overlayroot=tmpfs:swap=1,size=16m"),
        ("volatile-overlay", "systemd.volatile=overlay"),
    ] {
        // rw asks for a writable root: the overlay keeps the disk
        // read-only all the same. The disk is written through (--disk-rw).
        let append =
            format!("root=/dev/vda rw {param} guest_write=/root/modboot-overlay guest_mounts=1");
        let c = boot(name, k, &image, &append, &["--disk-rw", s(&disk)]);
        reached_with(&c, &["overlay"]);
        c.expect("modboot: mounted /dev/vda on /root (ext4, ro)");
        c.expect("GUEST: wrote /root/modboot-overlay: written by the real init");
        c.expect("GUEST: root overlay overlay rw");
        c.expect("GUEST: mount /run/rootfsbase /dev/vda ext4 ro");
        // The writable layer's own tmpfs, of the size asked for.
        let rw = c
            .after("GUEST: mount /run/overlayroot tmpfs tmpfs ")
            .unwrap_or_else(|| {
                panic!(
                    "{name}: no tmpfs on /run/overlayroot; see {}",
                    c.log.display()
                )
            });
        assert_eq!(
            rw.contains("size=16384k"),
            param.contains("size=16m"),
            "{name}: {rw}; see {}",
            c.log.display()
        );
        assert!(
            std::fs::read(&disk).unwrap() == before,
            "{name}: the disk changed; see {}",
            c.log.display()
        );
    }
}

#[test]
fn without_root_the_packed_init_runs_in_the_initramfs() {
    let k = kernel();
    // guest-init is a busybox script: busybox comes along.
    let dir = scratch_dir("roots", "initramfs-only");
    let program = dir.join("guest-init");
    std::fs::copy(root().join("qemu/guest-init"), &program).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
    let list = root().join("initramfs/virtio.list");
    let sel = ["--list", s(&list)];
    let add = |path: &str, from: &Path| format!("{path}={}", s(from));
    let (init, alt, busybox) = (
        add("sbin/init", &program),
        add("bin/alt-init", &program),
        add("bin/busybox", Path::new("/bin/busybox")),
    );
    let image = mkimage(
        k,
        "initramfs-only.img",
        &[
            &sel[..],
            &["--add", &init, "--add", &alt, "--add", &busybox],
        ]
        .concat(),
    );
    let c = boot(
        "initramfs-only",
        k,
        &image,
        "modboot_test=hello -- one two",
        &[],
    );
    // The boot list loaded before the program started, no disk needed.
    reached_with(&c, &["virtio_pci", "virtio_blk"]);
    c.expect("modboot: starting /sbin/init in the initramfs after");
    c.expect("GUEST: init /sbin/init");
    c.expect("GUEST: argv[1] one");
    c.expect("GUEST: argv[2] two");
    c.expect("GUEST: env modboot_test=hello");
    c.expect("GUEST: root rootfs rootfs rw");
    for m in ["/dev", "/proc", "/sys", "/run"] {
        c.expect(&format!("GUEST: mounted {m}"));
    }
    // init= names another program in the initramfs.
    let c = boot("initramfs-only-init", k, &image, "init=/bin/alt-init", &[]);
    reached_with(&c, &["virtio_blk"]);
    c.expect("GUEST: init /bin/alt-init");
    // No program packed: no root= is an error, as before.
    let bare = mkimage(k, "initramfs-bare.img", &sel);
    let c = boot("initramfs-bare", k, &bare, "", &[]);
    ended_with(
        &c,
        "modboot: no root=, and cannot run /sbin/init in the initramfs: ENOENT",
    );
}
