//! Boots of Debian's real cloud kernel in QEMU through modboot.
//!
//! `qemu/prepare` builds the images once (kernel download, init, images, root
//! disk); each test boots one and reads the serial console: modboot's kmsg
//! lines, and the `GUEST:` lines that the real init on the root disk
//! (`qemu/guest-init`) prints about what it was handed.

mod common;

use common::{Console, root};
use modboot::host::modtree::ModTree;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

struct Artifacts(HashMap<String, String>);

impl Artifacts {
    fn get(&self, key: &str) -> &str {
        self.0
            .get(key)
            .unwrap_or_else(|| panic!("qemu/prepare did not report {key}"))
    }
}

fn artifacts() -> &'static Artifacts {
    static A: OnceLock<Artifacts> = OnceLock::new();
    A.get_or_init(|| {
        let out = Command::new(root().join("qemu/prepare"))
            .stderr(Stdio::inherit())
            .output()
            .expect("run qemu/prepare");
        assert!(out.status.success(), "qemu/prepare failed");
        let text = String::from_utf8(out.stdout).unwrap();
        Artifacts(
            text.lines()
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    })
}

#[derive(Default)]
struct Boot<'a> {
    name: &'a str,
    /// The artifact naming the kernel to boot: `kernel` (cloud) or `std_kernel`.
    kernel: &'a str,
    image: &'a str,
    disk: bool,
    append: &'a str,
    /// Stop the VM a grace period after a line containing this text (a boot
    /// that halts on purpose never powers off by itself).
    until: Option<(&'a str, Duration)>,
    /// More arguments for qemu/boot (`--panic none`...).
    qemu: &'a [&'a str],
    /// What to type into the serial console, and after which line.
    script: &'a [(&'a str, &'a str)],
}

impl Boot<'_> {
    fn run(&self) -> Console {
        let a = artifacts();
        let mut cmd = Command::new(root().join("qemu/boot"));
        cmd.args([
            "--kernel",
            a.get(self.kernel),
            "--initrd",
            self.image,
            "--append",
            self.append,
            "--timeout",
            "240",
        ]);
        if self.disk {
            cmd.args(["--disk", a.get("rootfs")]);
        }
        cmd.args(self.qemu);
        if !self.script.is_empty() {
            cmd.arg("--serial-input");
        }
        let log =
            PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("boot-{}.log", self.name));
        common::run_boot_typing(cmd, log, self.until, Duration::from_secs(300), self.script)
    }
}

/// Every module modboot loaded came after all of its dependencies.
#[track_caller]
fn assert_dependency_order(c: &Console) {
    let a = artifacts();
    let tree = ModTree::open(Path::new(a.get("tree")), None).unwrap();
    let loaded = c.loaded();
    assert!(
        !loaded.is_empty(),
        "no module loaded; see {}",
        c.log.display()
    );
    for (pos, name) in loaded.iter().enumerate() {
        let i = tree
            .find(name)
            .unwrap_or_else(|| panic!("{name} is not in the tree"));
        for dep in tree.load_order(i) {
            let dep = &tree.modules[dep].name;
            let at = loaded.iter().position(|n| n == dep);
            assert!(
                at.is_some_and(|at| at < pos),
                "{name} loaded before its dependency {dep}: {loaded:?}"
            );
        }
    }
}

#[test]
fn boots_to_the_real_root_with_the_blob_in_the_image() {
    let a = artifacts();
    let c = Boot {
        name: "blob-file",
        kernel: "kernel",
        image: a.get("image_file"),
        disk: true,
        append: "root=/dev/vda virtio_blk.queue_depth=64 virtio_pci.force_legacy modboot_test=hello -- one \"two\"",
        until: None,
        ..Default::default()
    }
    .run();
    c.expect("GUEST: MARKER modboot-root-ok");
    c.expect("modboot: blob: /etc/modboot.blob, 6 modules");
    assert_dependency_order(&c);
    for m in [
        "virtio_ring",
        "virtio",
        "virtio_pci_modern_dev",
        "virtio_pci_legacy_dev",
        "virtio_pci",
        "virtio_blk",
    ] {
        assert!(
            c.loaded().iter().any(|l| l == m),
            "{m} not loaded; see {}",
            c.log.display()
        );
    }
    // Blob options (queue_depth=32 from initramfs/modprobe.d) first, the
    // command line's after them: the kernel keeps the last.
    c.expect("loaded virtio_blk in");
    assert!(
        c.after("modboot: loaded virtio_blk in")
            .unwrap()
            .ends_with("params queue_depth=32 queue_depth=64")
    );
    c.expect("GUEST: param virtio_blk/parameters/queue_depth 64");
    c.expect("GUEST: param virtio_pci/parameters/force_legacy Y");
    // /sbin/init is an absolute symlink on the root disk, resolved there.
    c.expect("GUEST: init /sbin/init");
    c.expect("GUEST: argv[1] one");
    c.expect("GUEST: argv[2] two");
    c.expect("GUEST: env modboot_test=hello");
    c.expect("GUEST: env HOME=/");
    c.expect("GUEST: env TERM=linux");
    c.expect("GUEST: pid 1");
    c.expect("GUEST: root /dev/vda ext4 ro");
    for m in ["/dev", "/proc", "/sys", "/run"] {
        c.expect(&format!("GUEST: mounted {m}"));
    }
    c.expect_not("modboot: cannot");
    c.expect_not("could not be deleted");
    c.expect_not("Attempted to kill init");
    boot_chart_of(&c);
}

/// `mkmodboot chart` of a real boot's console: a lane for each load that
/// ran at once (the default 4 workers at most), a box for each load the log
/// names, and the milestones.
fn boot_chart_of(c: &Console) {
    let svg = c.log.with_extension("svg");
    let out = Command::new(env!("CARGO_BIN_EXE_mkmodboot"))
        .arg("chart")
        .arg(&c.log)
        .arg("-o")
        .arg(&svg)
        .output()
        .expect("run mkmodboot chart");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&svg).unwrap();
    let lanes = text.matches("<g class=\"lane\"").count();
    assert!(
        (1..=4).contains(&lanes),
        "{lanes} lanes in {}",
        svg.display()
    );
    assert_eq!(
        text.matches("<rect class=\"load\"").count(),
        c.loaded().len()
    );
    for name in c.loaded() {
        assert!(
            text.contains(&format!("<title>{name} ")),
            "{name} not drawn"
        );
    }
    for m in [
        "kernel runs /init (0.0 ms)",
        "root device found (",
        "root mounted (",
        "hand-over to /sbin/init (",
        "real init runs (",
    ] {
        assert!(
            text.contains(m),
            "milestone {m:?} missing from {}",
            svg.display()
        );
    }
}

#[test]
fn boots_with_the_blob_embedded_and_honours_init() {
    let a = artifacts();
    let c = Boot {
        name: "embedded",
        kernel: "kernel",
        image: a.get("image_embedded"),
        disk: true,
        append: "root=/dev/vda init=/bin/alt-init rw",
        until: None,
        ..Default::default()
    }
    .run();
    c.expect("GUEST: MARKER modboot-root-ok");
    c.expect("modboot: blob: embedded, 6 modules");
    c.expect("modboot: starting /bin/alt-init after");
    c.expect("GUEST: init /bin/alt-init");
    c.expect("GUEST: root /dev/vda ext4 rw");
    // No command-line override: the blob's own option holds.
    c.expect("GUEST: param virtio_blk/parameters/queue_depth 32");
    c.expect("GUEST: param virtio_pci/parameters/force_legacy N");
    assert_dependency_order(&c);
}

/// A boot that cannot go on, without a root disk: the lines that say why,
/// then the policy's line.
#[track_caller]
fn expect_no_root(c: &Console, wait_s: u32) {
    c.expect(&format!(
        "modboot: root device /dev/vda did not appear within {wait_s} s"
    ));
    c.expect("modboot: no block device present at all");
    assert!(
        c.position("did not appear within") < c.position("modboot: cannot continue the boot"),
        "the policy's line must follow the reasons; see {}",
        c.log.display()
    );
    c.expect_not("Attempted to kill init");
    c.expect_not("Kernel panic");
    c.expect_not("GUEST:");
}

/// The kernel's `reboot:` line, or none: a VM that reboots or powers off
/// ends by itself (qemu/boot: -no-reboot); a halted one goes on.
#[track_caller]
fn expect_end(c: &Console, kernel_line: Option<&str>) {
    match kernel_line {
        Some(line) => {
            c.expect(line);
            assert!(
                c.exited,
                "the VM did not end by itself; see {}",
                c.log.display()
            );
        }
        None => {
            c.expect_not("reboot: ");
            assert!(!c.exited, "the VM ended; see {}", c.log.display());
        }
    }
}

/// Neither rd.emergency= nor panic= (qemu/boot --panic none) and no shell
/// in the image: PID 1 halts, alive, and the line says how to choose
/// otherwise.
#[test]
fn without_a_policy_a_failed_boot_halts_and_says_how_to_choose() {
    let a = artifacts();
    let c = Boot {
        name: "no-disk",
        kernel: "kernel",
        image: a.get("image_file"),
        append: "root=/dev/vda rootdelay=2",
        until: Some(("modboot: cannot continue the boot", Duration::from_secs(3))),
        qemu: &["--panic", "none"],
        ..Default::default()
    }
    .run();
    c.expect("modboot: waiting up to 2 s for root device /dev/vda");
    expect_no_root(&c, 2);
    c.expect(
        "modboot: cannot continue the boot: halting (this image has no shell; \
         rd.emergency=reboot|poweroff|halt or panic=N chooses what happens)",
    );
    expect_end(&c, None);
}

/// panic=3 after qemu/boot's panic=-1 (the last wins, as in the kernel): the
/// line, then a reboot 3 s later; an unknown rd.emergency= value is said
/// and changes nothing.
#[test]
fn panic_n_reboots_n_seconds_after_the_line() {
    let a = artifacts();
    let c = Boot {
        name: "panic-3",
        kernel: "kernel",
        image: a.get("image_file"),
        append: "root=/dev/vda rootdelay=1 rd.emergency=explode panic=3",
        until: Some(("modboot: cannot continue the boot", Duration::from_secs(10))),
        ..Default::default()
    }
    .run();
    c.expect("modboot: ignoring rd.emergency=explode: not reboot, poweroff or halt");
    expect_no_root(&c, 1);
    let line = "modboot: cannot continue the boot: rebooting in 3 s (panic=3)";
    c.expect(line);
    expect_end(&c, Some("reboot: Restarting system"));
    // On the guest's clock: 3 s after the line, and within the root wait
    // plus 3 s plus a margin of the wait's start.
    let waited = c.time_of("reboot: Restarting system") - c.time_of(line);
    assert!(
        (3.0..4.0).contains(&waited),
        "rebooted {waited:.3} s after the line; see {}",
        c.log.display()
    );
    let total =
        c.time_of("reboot: Restarting system") - c.time_of("modboot: modboot 0.1.0 starting");
    assert!(
        total < 1.0 + 3.0 + 2.0,
        "{total:.3} s after modboot started"
    );
}

/// rd.emergency=poweroff wins over qemu/boot's panic=-1: a power-off.
#[test]
fn rd_emergency_poweroff_powers_off() {
    let a = artifacts();
    let c = Boot {
        name: "emergency-poweroff",
        kernel: "kernel",
        image: a.get("image_file"),
        append: "root=/dev/vda rootdelay=1 rd.emergency=poweroff",
        until: Some(("modboot: cannot continue the boot", Duration::from_secs(10))),
        ..Default::default()
    }
    .run();
    expect_no_root(&c, 1);
    c.expect("modboot: cannot continue the boot: powering off now (rd.emergency=poweroff)");
    expect_end(&c, Some("reboot: Power down"));
}

/// rd.emergency=halt wins over panic=1: no reboot, PID 1 alive.
#[test]
fn rd_emergency_halt_wins_over_panic() {
    let a = artifacts();
    let c = Boot {
        name: "emergency-halt",
        kernel: "kernel",
        image: a.get("image_file"),
        append: "root=/dev/vda rootdelay=1 rd.emergency=halt panic=1",
        until: Some(("modboot: cannot continue the boot", Duration::from_secs(3))),
        ..Default::default()
    }
    .run();
    expect_no_root(&c, 1);
    c.expect("modboot: cannot continue the boot: halting (rd.emergency=halt)");
    expect_end(&c, None);
}

/// rd.break with a rescue image: the shell starts on the console with the
/// root mounted on /root, runs what is typed into it, and leaving it goes
/// on to the real init.
#[test]
fn rd_break_gives_the_rescue_shell_with_the_root_mounted() {
    let a = artifacts();
    let c = Boot {
        name: "rd-break",
        kernel: "kernel",
        image: a.get("image_rescue"),
        disk: true,
        append: "root=/dev/vda rd.break",
        // The echoed command has `$((6*7))`; only the shell prints 42.
        script: &[(
            "modboot: rd.break: starting the rescue shell",
            "echo RESCUE-$((6*7)) $(grep -c ' /root ext4 ' /proc/mounts) $(ls /root/bin/alt-init)\nexit\n",
        )],
        ..Default::default()
    }
    .run();
    c.expect(
        "modboot: rd.break: starting the rescue shell /bin/sh on the console, the root on /root; \
         leave it to go on with the boot",
    );
    c.expect("RESCUE-42 1 /root/bin/alt-init");
    assert!(
        c.position("RESCUE-42 1") < c.position("GUEST: MARKER modboot-root-ok"),
        "the boot went on before the shell ended; see {}",
        c.log.display()
    );
    c.expect("GUEST: init /sbin/init");
}

/// rd.shell on a failed boot: the rescue shell first, then the policy
/// (rd.emergency=poweroff) when it ends.
#[test]
fn rd_shell_on_a_failed_boot_then_the_policy() {
    let a = artifacts();
    let c = Boot {
        name: "rd-shell",
        kernel: "kernel",
        image: a.get("image_rescue"),
        append: "root=/dev/vda rootdelay=1 rd.shell rd.emergency=poweroff",
        until: Some((
            "modboot: cannot continue the boot: powering off",
            Duration::from_secs(10),
        )),
        script: &[(
            "modboot: cannot continue the boot: starting the rescue shell",
            "echo SHELL-$((2+3)) $(ls /bin/sh)\nexit\n",
        )],
        ..Default::default()
    }
    .run();
    expect_no_root(&c, 1);
    c.expect("modboot: cannot continue the boot: starting the rescue shell /bin/sh on the console");
    c.expect("SHELL-5 /bin/sh");
    let off = "modboot: cannot continue the boot: powering off now (rd.emergency=poweroff)";
    assert!(
        c.position("SHELL-5") < c.position(off),
        "the policy came before the shell ended; see {}",
        c.log.display()
    );
    expect_end(&c, Some("reboot: Power down"));
}

/// README.md's image ("Using it for your kernel": virtio.list and
/// modprobe.d) built for Debian's standard kernel, where ext4 is a module:
/// mkmodboot packs the root filesystem by its default rule, and the boot
/// reaches the real root.
#[test]
fn readme_image_boots_the_standard_kernel_where_ext4_is_a_module() {
    let a = artifacts();
    let c = Boot {
        name: "std-kernel",
        kernel: "std_kernel",
        image: a.get("image_std"),
        disk: true,
        append: "root=/dev/vda",
        until: None,
        ..Default::default()
    }
    .run();
    c.expect("GUEST: MARKER modboot-root-ok");
    c.expect("modboot: mounted /dev/vda on /root (ext4, ro)");
    let loaded = c.loaded();
    for m in ["ext4", "jbd2", "mbcache", "virtio_blk"] {
        assert!(
            loaded.iter().any(|l| l == m),
            "{m} not loaded: {loaded:?}; see {}",
            c.log.display()
        );
    }
}

/// The same image booted with another kernel (the cloud flavour of the same
/// version): the init refuses the blob, loads nothing, and says why.
#[test]
fn blob_for_another_kernel_release_is_refused_clearly() {
    let a = artifacts();
    let c = Boot {
        name: "wrong-release",
        kernel: "kernel",
        image: a.get("image_std"),
        disk: true,
        append: "root=/dev/vda rootdelay=2",
        until: Some(("modboot: cannot continue the boot", Duration::from_secs(2))),
        ..Default::default()
    }
    .run();
    c.expect(&format!(
        "modboot: blob (/etc/modboot.blob) was built for kernel {} but this kernel is {}: not loading any module",
        a.get("std_release"),
        a.get("release")
    ));
    assert!(
        c.loaded().is_empty(),
        "modules loaded from a mismatched blob"
    );
    // Without its driver the disk never shows up, and the line says so.
    c.expect("modboot: root device /dev/vda did not appear within 2 s");
    c.expect_not("Attempted to kill init");
}

/// A copy of the module tree's index files and the virtio modules, with
/// `virtio_ring.ko` cut in half: a module the kernel must reject.
fn tree_with_broken_virtio_ring() -> PathBuf {
    let a = artifacts();
    let src = Path::new(a.get("tree"));
    let dst = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("broken-tree")
        .join(a.get("release"));
    let _ = std::fs::remove_dir_all(&dst);
    for f in [
        "modules.dep",
        "modules.builtin",
        "modules.builtin.modinfo",
        "modules.order",
    ] {
        std::fs::create_dir_all(&dst).unwrap();
        std::fs::copy(src.join(f), dst.join(f)).unwrap();
    }
    let tree = ModTree::open(src, None).unwrap();
    for m in ["virtio_pci", "virtio_blk"] {
        let i = tree.find(m).unwrap();
        for j in tree.load_order(i).chain([i]) {
            let path = &tree.modules[j].path;
            let mut bytes = std::fs::read(src.join(path)).unwrap();
            if tree.modules[j].name == "virtio_ring" {
                bytes.truncate(bytes.len() / 2);
            }
            std::fs::create_dir_all(dst.join(path).parent().unwrap()).unwrap();
            std::fs::write(dst.join(path), bytes).unwrap();
        }
    }
    dst
}

fn mkimage(args: &[&str]) {
    let status = Command::new(root().join("initramfs/mkimage"))
        .args(args)
        .status()
        .expect("run initramfs/mkimage");
    assert!(status.success(), "initramfs/mkimage {args:?} failed");
}

#[test]
fn rejected_module_and_its_dependents_are_named() {
    let tree = tree_with_broken_virtio_ring();
    let image = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("broken.img");
    let list = root().join("initramfs/virtio.list");
    mkimage(&[
        "--tree",
        tree.to_str().unwrap(),
        "--list",
        list.to_str().unwrap(),
        "-o",
        image.to_str().unwrap(),
    ]);
    let c = Boot {
        name: "broken-module",
        kernel: "kernel",
        image: image.to_str().unwrap(),
        disk: true,
        append: "root=/dev/vda rootdelay=2",
        until: Some(("modboot: cannot continue the boot", Duration::from_secs(2))),
        ..Default::default()
    }
    .run();
    c.expect("modboot: cannot load module virtio_ring (kernel/drivers/virtio/virtio_ring.ko): the kernel refused it: ENOEXEC");
    c.expect("modboot: not loading virtio: it needs virtio_ring, which did not load");
    c.expect("modboot: not loading virtio_blk: it needs virtio_ring, which did not load");
    c.expect("modboot: modules: 2 loaded, 0 already present, 4 failed");
    c.expect("modboot: root device /dev/vda did not appear within 2 s");
    c.expect_not("Attempted to kill init");
}

#[test]
fn image_is_the_same_bytes_for_the_same_inputs() {
    let a = artifacts();
    let again = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("again.img");
    let list = root().join("initramfs/virtio.list");
    let conf = root().join("initramfs/modprobe.d");
    mkimage(&[
        "--tree",
        a.get("tree"),
        "--list",
        list.to_str().unwrap(),
        "--config",
        conf.to_str().unwrap(),
        "-o",
        again.to_str().unwrap(),
    ]);
    assert!(
        std::fs::read(&again).unwrap() == std::fs::read(a.get("image_file")).unwrap(),
        "image differs"
    );
}

/// Issue 3's resolution, in the real kernel: an alias-only `modules-load=`
/// request with its softdep and modprobe.d options, a blacklisted alias, a
/// blacklisted name asked for by name (loads), an `install /bin/true`.
#[test]
fn aliases_softdeps_options_and_blacklists_take_effect() {
    let a = artifacts();
    let c = Boot {
        name: "resolve",
        kernel: "kernel",
        image: a.get("image_resolve"),
        disk: true,
        append: "root=/dev/vda modules-load=block-major-7-0,fs-xfs rd.modules-load=fuse modules_load=fs-iso9660 \
                 guest_params=loop/parameters/max_part \
                 guest_modules=loop,cdrom,xfs,fuse,isofs",
        until: None,
        ..Default::default()
    }
    .run();
    c.expect("GUEST: MARKER modboot-root-ok");
    // The softdep's pre: module loads first, each with its modprobe.d options.
    let loaded = c.loaded();
    let at = |m: &str| {
        loaded
            .iter()
            .position(|l| l == m)
            .unwrap_or_else(|| panic!("{m} not loaded: {loaded:?}"))
    };
    assert!(
        at("cdrom") < at("loop"),
        "softdep pre: cdrom must load before loop: {loaded:?}"
    );
    assert!(
        c.after("modboot: loaded loop in")
            .unwrap()
            .ends_with("params max_part=7")
    );
    c.expect("GUEST: param loop/parameters/max_part 7");
    // cdrom does not show lockdoor in sysfs; the parameter as passed:
    assert!(
        c.after("modboot: loaded cdrom in")
            .unwrap()
            .ends_with("params lockdoor=0")
    );
    c.expect("GUEST: module loop present");
    c.expect("GUEST: module cdrom present");
    // blacklist xfs: the alias request fs-xfs loads nothing.
    c.expect("GUEST: module xfs absent");
    // blacklist fuse does not stop a request by name.
    c.expect("GUEST: module fuse present");
    // install isofs /bin/true: never loaded, and said so.
    c.expect("modboot: not loading isofs: modprobe.d says install /bin/true");
    c.expect("GUEST: module isofs absent");
    c.expect_not("modboot: cannot load");
}

/// The generic image of Debian's standard kernel (365 modules: every storage
/// and filesystem driver) boots in 128 MiB of RAM: its modules stay
/// compressed in an uncompressed archive, so the kernel's unpacking is a
/// copy and RAM holds them compressed (stored plain in a gzip archive, the
/// same image needs 192 MiB).
#[test]
fn generic_image_of_the_standard_kernel_boots_in_128_mib() {
    let a = artifacts();
    let image = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("std-generic.img");
    mkimage(&[
        "--tree",
        a.get("std_tree"),
        "--generic",
        "-o",
        image.to_str().unwrap(),
    ]);
    let mut cmd = Command::new(root().join("qemu/boot"));
    cmd.args(["--kernel", a.get("std_kernel"), "--initrd"])
        .arg(&image)
        .args([
            "--disk",
            a.get("rootfs"),
            "--memory",
            "128",
            "--append",
            "root=/dev/vda",
            "--timeout",
            "240",
        ]);
    let log = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("boot-std-generic-128.log");
    let c = common::run_boot(cmd, log, None, Duration::from_secs(300));
    c.expect("GUEST: MARKER modboot-root-ok");
    c.expect_not("Out of memory");
}
