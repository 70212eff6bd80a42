//! Host-only images, firmware and early microcode, on Debian's real kernels.
//!
//! The host-only images are built **inside QEMU guests, from each guest's
//! own `/sys`**: a static `mkmodboot` on the guest's root disk, run by its
//! init (`qemu/guest-init`, `guest_hostonly=`), writes the image to a
//! scratch disk; the test then boots the same machine with that image. Two
//! machines: virtio-blk on `pc` with the cloud kernel, and NVMe on `q35`
//! with the standard kernel (where `nvme` and `ext4` are modules). Each
//! image must hold the root's modules and none of the tree's other storage
//! drivers, though the guest that built it had those loaded (its first
//! boot was from a generic image).

mod common;

use common::{Kernel, root};
use modboot::compression::Format;
use modboot::host::modprobe_d::Config;
use modboot::host::modtree::{ModTree, name_from_path};
use modboot::host::{codec, cpio, select};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

fn scratch(name: &str) -> PathBuf {
    common::scratch_dir("hostonly", name)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// mkmodboot built static (glibc, `+crt-static`), release: it runs in the
/// guests, and builds the test's own images faster than the debug build.
fn static_mkmodboot() -> &'static Path {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| {
        let dir = root().join("target/build/static");
        let status = Command::new("cargo")
            .current_dir(root())
            .args([
                "build",
                "-q",
                "--release",
                "--bin",
                "mkmodboot",
                "--target",
                "x86_64-unknown-linux-gnu",
            ])
            .env("CARGO_TARGET_DIR", &dir)
            .env("RUSTFLAGS", "-C target-feature=+crt-static")
            .status()
            .expect("run cargo");
        assert!(status.success(), "static mkmodboot did not build");
        let bin = dir.join("x86_64-unknown-linux-gnu/release/mkmodboot");
        let o = Command::new("readelf")
            .arg("-d")
            .arg(&bin)
            .output()
            .unwrap();
        assert!(
            !String::from_utf8_lossy(&o.stdout).contains("NEEDED"),
            "mkmodboot is not static"
        );
        bin
    })
}

fn init() -> &'static Path {
    common::x86_init()
}

fn mkmodboot(args: &[&str]) -> Output {
    Command::new(static_mkmodboot())
        .args(args)
        .output()
        .expect("run mkmodboot")
}

#[track_caller]
fn ok(o: Output) -> String {
    assert!(o.status.success(), "mkmodboot failed: {}", stderr(&o));
    stderr(&o)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The module names an image packs, and its files.
fn image_modules(image: &Path) -> (BTreeSet<String>, Vec<cpio::Member>) {
    let bytes = std::fs::read(image).unwrap();
    let (members, _) = cpio::read_image(&bytes, &codec::decompress).unwrap();
    let names = members
        .iter()
        .filter(|m| m.path.starts_with("lib/modules/") && m.path.contains(".ko"))
        .map(|m| name_from_path(&m.path))
        .collect();
    (names, members)
}

/// A root disk for host-only builds: `qemu/rootfs`'s files, the static
/// mkmodboot, the init, and the kernel's tree (its index files and the
/// modules of a generic image: every storage and filesystem driver).
fn guest_disk(k: &Kernel, name: &str) -> PathBuf {
    let dir = scratch(name);
    let files = dir.join("root");
    let status = Command::new(root().join("qemu/rootfs"))
        .arg("--tree")
        .arg(&files)
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::create_dir_all(files.join("usr/bin")).unwrap();
    std::fs::copy(static_mkmodboot(), files.join("usr/bin/mkmodboot")).unwrap();
    std::fs::copy(init(), files.join("lib/modboot-test/modboot")).unwrap();
    let release = k.tree.file_name().unwrap().to_str().unwrap();
    let tree_dst = files.join("lib/modules").join(release);
    std::fs::create_dir_all(&tree_dst).unwrap();
    for e in std::fs::read_dir(&k.tree).unwrap() {
        let e = e.unwrap();
        if e.file_name().to_string_lossy().starts_with("modules.") {
            std::fs::copy(e.path(), tree_dst.join(e.file_name())).unwrap();
        }
    }
    let tree = ModTree::open(&k.tree, None).unwrap();
    let config = Config::load(&[], Some(&k.tree.join("modules.softdep"))).unwrap();
    let sel = select::select(&tree, &config, &[], &select::generic_names(&tree), false).unwrap();
    let mut bytes = 0u64;
    for m in &sel.spec.modules {
        let dst = tree_dst.join(&m.path);
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        bytes += std::fs::copy(k.tree.join(&m.path), dst).unwrap();
    }
    let disk = dir.join("root.img");
    let size = format!("{}M", bytes / (1 << 20) * 3 / 2 + 48);
    let status = Command::new("mke2fs")
        .args(["-q", "-t", "ext4", "-L", "modboot-root", "-d"])
        .arg(&files)
        .arg(&disk)
        .arg(&size)
        .status()
        .unwrap();
    assert!(status.success(), "mke2fs failed");
    std::fs::remove_dir_all(&files).unwrap();
    disk
}

/// One machine: its QEMU options and how it names its disks.
struct Machine<'a> {
    name: &'a str,
    kernel: &'static Kernel,
    machine: &'a str,
    /// `--disk` or `--disk-nvme`.
    root_flag: &'a str,
    /// What the scratch disk is in the guest.
    scratch_dev: &'a str,
}

fn boot(
    m: &Machine,
    image: &Path,
    disk: &Path,
    out: Option<&Path>,
    append: &str,
    log: &str,
) -> common::Console {
    let mut cmd = Command::new(root().join("qemu/boot"));
    cmd.arg("--kernel")
        .arg(&m.kernel.vmlinuz)
        .arg("--initrd")
        .arg(image)
        .args(["--machine", m.machine, m.root_flag])
        .arg(disk)
        .args(["--append", append, "--timeout", "400"]);
    if let Some(out) = out {
        cmd.arg("--disk-rw").arg(out);
    }
    let log = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("hostonly-{log}.log"));
    common::run_boot(cmd, log, None, Duration::from_secs(450))
}

/// Build a host-only image inside the guest, then boot the guest with it.
/// `want`: the modules the image must hold (`fs:NAME` for the root
/// filesystem's, which no device line names); of [`STORAGE`], it must hold
/// no other.
fn hostonly_in_guest(m: &Machine, want: &[&str]) {
    let other_storage: Vec<&str> = STORAGE
        .iter()
        .copied()
        .filter(|s| !want.iter().any(|w| w.trim_start_matches("fs:") == *s))
        .collect();
    let disk = guest_disk(m.kernel, m.name);
    let dir = disk.parent().unwrap().to_path_buf();
    // The first boot: a generic image (coldplug loads every driver the
    // machine has), uncompressed, so building it takes no time.
    let generic = dir.join("generic.img");
    ok(mkmodboot(&[
        "image",
        "--generic",
        "--tree",
        s(&m.kernel.tree),
        "--init",
        s(init()),
        "--compress",
        "none",
        "-o",
        s(&generic),
    ]));
    let out = dir.join("out.img");
    std::fs::write(&out, vec![0u8; 16 << 20]).unwrap();
    let c = boot(
        m,
        &generic,
        &disk,
        Some(&out),
        &format!("root=LABEL=modboot-root guest_hostonly={}", m.scratch_dev),
        &format!("{}-build", m.name),
    );
    c.expect("GUEST: MARKER modboot-root-ok");
    c.expect("GUEST: hostonly image written");
    // What was picked and why, one line a module.
    for w in want.iter().filter(|w| !w.starts_with("fs:")) {
        assert!(
            c.lines
                .iter()
                .any(|l| l.starts_with("GUEST: mkmodboot: host-only: devices/")
                    && l.ends_with(&format!(" -> {w}"))),
            "no host-only line picks {w}; see {}",
            c.log.display()
        );
    }
    let written = std::fs::read(&out).unwrap();
    let nl = written.iter().position(|&b| b == b'\n').unwrap();
    let size: usize = std::str::from_utf8(&written[..nl])
        .unwrap()
        .strip_prefix("modboot-image ")
        .unwrap()
        .parse()
        .unwrap();
    let image = dir.join("hostonly.img");
    std::fs::write(&image, &written[nl + 1..nl + 1 + size]).unwrap();

    let (packed, _) = image_modules(&image);
    for w in want {
        let w = w.trim_start_matches("fs:");
        assert!(
            packed.contains(w),
            "{w} not in the host-only image: {packed:?}"
        );
    }
    let wrong: Vec<_> = other_storage
        .iter()
        .filter(|o| packed.contains(**o))
        .collect();
    assert!(
        wrong.is_empty(),
        "host-only image packs other storage drivers {wrong:?}: {packed:?}"
    );
    // The image boots the machine it was made on.
    let c = boot(
        m,
        &image,
        &disk,
        None,
        "root=LABEL=modboot-root",
        &format!("{}-boot", m.name),
    );
    c.expect("GUEST: MARKER modboot-root-ok");
}

const STORAGE: &[&str] = &[
    "ahci",
    "ata_piix",
    "ata_generic",
    "libata",
    "nvme",
    "virtio_blk",
    "virtio_scsi",
    "sd_mod",
    "sr_mod",
    "usb_storage",
    "uas",
    "mptspi",
    "megaraid_sas",
    "xen_blkfront",
    "mmc_block",
    "pata_acpi",
];

#[test]
fn hostonly_image_built_in_a_pc_guest_on_virtio_blk_boots_it() {
    let want = ["virtio_blk", "virtio_pci"];
    hostonly_in_guest(
        &Machine {
            name: "pc-virtio",
            kernel: common::kernel(),
            machine: "pc",
            root_flag: "--disk",
            scratch_dev: "/dev/vdb",
        },
        &want,
    );
}

#[test]
fn hostonly_image_built_in_a_q35_guest_on_nvme_boots_it() {
    let want = ["nvme", "fs:ext4"];
    hostonly_in_guest(
        &Machine {
            name: "q35-nvme",
            kernel: common::std_kernel(),
            machine: "q35",
            root_flag: "--disk-nvme",
            scratch_dev: "/dev/vda",
        },
        &want,
    );
}

/// On the machine the tests run on, for Debian's cloud tree (not this
/// machine's kernel): the build succeeds and says what it picked and why.
#[test]
fn hostonly_on_this_machine_prints_what_it_picked() {
    let k = common::kernel();
    let out = scratch("this-machine").join("x.img");
    let e = ok(mkmodboot(&[
        "image",
        "--hostonly",
        "--tree",
        s(&k.tree),
        "--init",
        s(init()),
        "-o",
        s(&out),
    ]));
    assert!(
        e.contains("mkmodboot: host-only: the root is ")
            || e.contains("is on no block device: no storage driver to pick"),
        "{e}"
    );
    assert!(e.contains("mkmodboot: host-only: root filesystem "), "{e}");
    println!("{e}");
}

/// `mkmodboot image` of `k`'s tree with firmware and microcode from `fw`,
/// to `out`, with `args`; its messages.
fn image_with_firmware(k: &Kernel, fw: &Path, out: &Path, args: &[&str]) -> String {
    let base = ["image", "--tree", s(&k.tree), "--init", s(init())];
    let dirs = ["--firmware-dir", s(fw), "-o", s(out)];
    ok(mkmodboot(&[&base[..], &dirs[..], args].concat()))
}

/// Modules of a real tree that declare firmware: a file found (in
/// `updates/` before the directory itself; plain, `.xz` the kernel reads,
/// `.zst` it does not and so stored decompressed) lands at
/// `lib/firmware/...`; a missing one is warned about by module and name.
#[test]
fn firmware_of_packed_modules_is_packed_where_the_kernel_reads_it() {
    let k = common::kernel();
    let dir = scratch("firmware");
    let fw = dir.join("firmware");
    std::fs::create_dir_all(fw.join("comedi")).unwrap();
    std::fs::create_dir_all(fw.join("updates")).unwrap();
    std::fs::write(fw.join("comedi/jr3pci.idm"), b"jr3 firmware").unwrap();
    std::fs::write(fw.join("niscrb01.bin"), b"old").unwrap();
    let xz = codec::compress(Format::Xz, None, b"ni firmware 1").unwrap();
    std::fs::write(fw.join("updates/niscrb01.bin.xz"), &xz).unwrap();
    let zst = codec::compress(Format::Zstd, None, b"ni firmware 2").unwrap();
    std::fs::write(fw.join("niscrb02.bin.zst"), &zst).unwrap();
    let out = dir.join("x.img");
    let e = image_with_firmware(
        k,
        &fw,
        &out,
        &["--pack", "jr3_pci,ni_pcidio,daqboard2000", "virtio_blk"],
    );
    assert!(
        e.contains(&format!(
            "warning: possibly missing firmware daqboard2000_firmware.bin for module daqboard2000 (not in {})",
            fw.display()
        )),
        "{e}"
    );
    let (_, members) = image_modules(&out);
    let file = |p: &str| members.iter().find(|m| m.path == p).map(|m| m.data.clone());
    assert_eq!(
        file("lib/firmware/comedi/jr3pci.idm").as_deref(),
        Some(&b"jr3 firmware"[..])
    );
    assert_eq!(
        file("lib/firmware/niscrb01.bin.xz"),
        Some(xz),
        "updates/ first, kept as xz"
    );
    assert_eq!(
        file("lib/firmware/niscrb02.bin").as_deref(),
        Some(&b"ni firmware 2"[..]),
        "zstd stored plain"
    );
    assert!(file("lib/firmware/niscrb01.bin").is_none());
}

/// Debian's microcode packages (non-free-firmware, fetched and verified by
/// `fetch_deb`): the image starts with an uncompressed archive holding each
/// vendor's file at the kernel's path, the compressed main archive follows,
/// two builds give the same bytes, and the kernel boots it.
#[test]
fn early_microcode_comes_first_and_the_kernel_boots_it() {
    let k = common::kernel();
    let dir = scratch("microcode");
    let fw = dir.join("firmware");
    for pkg in ["intel-microcode", "amd64-microcode"] {
        let out = Command::new("bash")
            .arg("-c")
            .arg(format!(
                "source '{}/qemu/lib.sh' && fetch_deb bookworm non-free-firmware amd64 {pkg}",
                root().display()
            ))
            .stderr(Stdio::inherit())
            .output()
            .unwrap();
        assert!(out.status.success(), "fetch_deb {pkg} failed");
        let unpacked = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
        let status = Command::new("cp")
            .arg("-a")
            .arg(unpacked.join("lib/firmware/."))
            .arg(&fw)
            .status()
            .unwrap();
        assert!(status.success());
    }
    let concat = |sub: &str, keep: &dyn Fn(&str) -> bool| {
        let mut names: Vec<PathBuf> = std::fs::read_dir(fw.join(sub))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| keep(&p.file_name().unwrap().to_string_lossy()))
            .collect();
        names.sort();
        names
            .iter()
            .flat_map(|p| std::fs::read(p).unwrap())
            .collect::<Vec<u8>>()
    };
    let intel = concat("intel-ucode", &|_| true);
    let amd = concat("amd-ucode", &|n| n.ends_with(".bin"));
    assert!(
        intel.len() > 1 << 20 && amd.len() > 10_000,
        "microcode packages unpacked"
    );
    let image = |name: &str, extra: &str| {
        let out = dir.join(name);
        image_with_firmware(k, &fw, &out, &[extra, "virtio_pci", "virtio_blk"]);
        std::fs::read(out).unwrap()
    };
    let a = image("a.img", "--compress=zstd");
    assert_eq!(
        a,
        image("b.img", "--compress=zstd"),
        "two builds, the same bytes"
    );
    // The first archive is uncompressed and holds exactly the microcode.
    assert!(a.starts_with(b"070701"));
    let (members, forms) = cpio::read_image(&a, &codec::decompress).unwrap();
    assert_eq!(forms, [Format::Plain, Format::Zstd]);
    let file = |p: &str| members.iter().find(|m| m.path == p).map(|m| &m.data);
    assert_eq!(file("kernel/x86/microcode/GenuineIntel.bin"), Some(&intel));
    assert_eq!(file("kernel/x86/microcode/AuthenticAMD.bin"), Some(&amd));
    let early_paths: Vec<&str> = members.iter().take(5).map(|m| m.path.as_str()).collect();
    assert_eq!(
        early_paths,
        [
            "kernel",
            "kernel/x86",
            "kernel/x86/microcode",
            "kernel/x86/microcode/AuthenticAMD.bin",
            "kernel/x86/microcode/GenuineIntel.bin"
        ]
    );
    assert!(members[5..].iter().any(|m| m.path == "init"));
    // --no-microcode leaves it out.
    assert!(!image("plain.img", "--no-microcode").starts_with(b"070701"));
    // The kernel reads the early archive and unpacks the rest.
    let image_path = dir.join("a.img");
    let rootfs = dir.join("root.img");
    let status = Command::new(root().join("qemu/rootfs"))
        .arg(&rootfs)
        .status()
        .unwrap();
    assert!(status.success());
    let mut cmd = Command::new(root().join("qemu/boot"));
    cmd.arg("--kernel")
        .arg(&k.vmlinuz)
        .arg("--initrd")
        .arg(&image_path)
        .arg("--disk")
        .arg(&rootfs)
        .args(["--append", "root=/dev/vda", "--timeout", "200"]);
    let log = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("hostonly-microcode.log");
    let c = common::run_boot(cmd, log, None, Duration::from_secs(240));
    c.expect("GUEST: MARKER modboot-root-ok");
}
