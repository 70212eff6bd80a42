//! mkmodboot as a machine's image generator, on Debian's real kernel trees:
//! the images it refuses to write and what it says, atomic output on a full
//! filesystem, the configuration file, every unknown name at once, the image
//! compressions (read back by `inspect --image`), the layers under a root
//! (LUKS, LVM, md: their modules, tools and libraries), and the command
//! line's exit statuses.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn mkmodboot(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mkmodboot"))
        .args(args)
        .output()
        .expect("run mkmodboot")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A data error: exit status 1, the message, and no usage text.
#[track_caller]
fn refused(o: &Output, message: &str) {
    let e = stderr(o);
    assert_eq!(o.status.code(), Some(1), "exit status; stderr: {e}");
    assert!(e.contains(message), "stderr lacks {message:?}: {e}");
    assert!(!e.contains("Usage:"), "a data error printed the usage: {e}");
}

#[track_caller]
fn ok(o: &Output) -> String {
    assert!(o.status.success(), "mkmodboot failed: {}", stderr(o));
    stderr(o)
}

fn tmp(name: &str) -> PathBuf {
    common::scratch_dir("generator", name)
}

fn x86_init() -> PathBuf {
    common::x86_init().to_path_buf()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A copy of a tree's index files under another directory name, its module
/// files reached through a symbolic link (`kernel/`); without `skip`.
fn renamed_tree(src: &Path, name: &str, skip: &[&str]) -> PathBuf {
    let dst = tmp(name).join(name);
    std::fs::create_dir_all(&dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let n = e.file_name().to_string_lossy().into_owned();
        if n.starts_with("modules.") && !skip.contains(&n.as_str()) {
            std::fs::copy(e.path(), dst.join(&n)).unwrap();
        }
    }
    std::os::unix::fs::symlink(src.join("kernel"), dst.join("kernel")).unwrap();
    dst
}

#[test]
fn release_comes_from_vermagic_not_the_directory_name() {
    let k = common::kernel();
    let release = k.tree.file_name().unwrap().to_str().unwrap();
    let tree = renamed_tree(&k.tree, "not-a-release", &[]);
    let blob = tree.parent().unwrap().join("blob");
    let e = ok(&mkmodboot(&[
        "blob",
        "--tree",
        s(&tree),
        "-o",
        s(&blob),
        "virtio_blk",
    ]));
    assert!(
        e.contains(&format!(
            "is named not-a-release, but its modules were built for {release}"
        )),
        "{e}"
    );
    let info = stdout(&mkmodboot(&["inspect", "--blob", s(&blob)]));
    assert!(info.contains(&format!("release {release}\n")), "{info}");
    let o = mkmodboot(&[
        "blob",
        "--tree",
        s(&tree),
        "--release",
        "6.1.0-1-other",
        "-o",
        s(&blob),
        "virtio_blk",
    ]);
    refused(
        &o,
        &format!(
            "--release 6.1.0-1-other contradicts the modules of {}: they were built for {release}",
            tree.display()
        ),
    );
}

#[test]
fn an_init_that_cannot_run_the_image_is_refused() {
    let k = common::kernel();
    let out = tmp("init").join("x.img");
    let image = |init: &Path| {
        mkmodboot(&[
            "image",
            "--tree",
            s(&k.tree),
            "--init",
            s(init),
            "-o",
            s(&out),
            "virtio_blk",
        ])
    };
    refused(
        &image(Path::new("/etc/passwd")),
        "/etc/passwd: not an ELF file; --init takes modboot's init binary",
    );
    // A static executable, but not modboot's.
    let busybox = Path::new("/bin/busybox");
    refused(
        &image(busybox),
        "/bin/busybox: an executable, but not modboot's init",
    );
    let arm = common::init_for("aarch64-unknown-linux-musl");
    refused(
        &image(&arm),
        &format!(
            "{} is an init for aarch64, but the modules are for x86_64",
            arm.display()
        ),
    );
    assert!(!out.exists(), "a refused image was written");
    ok(&image(&x86_init()));
}

/// --rescue packs the build machine's busybox at /bin/sh; a shell that is
/// not static, or for another machine, is refused in one line and nothing
/// is written; the configuration's `rescue` key does what the flag does.
#[test]
fn rescue_shell_static_and_for_the_modules_machine() {
    let k = common::kernel();
    let out = tmp("rescue").join("r.img");
    let image = |rescue: &str| {
        let init = x86_init();
        mkmodboot(&[
            "image",
            "--no-conf",
            "--tree",
            s(&k.tree),
            "--init",
            s(&init),
            rescue,
            "-o",
            s(&out),
            "virtio_blk",
        ])
    };
    // A dynamic executable: this test itself.
    let me = std::env::current_exe().unwrap();
    refused(
        &image(&format!("--rescue={}", me.display())),
        "linked dynamically (it needs a program interpreter and libraries the initramfs \
         does not have); --rescue takes a static shell",
    );
    let arm = common::init_for("aarch64-unknown-linux-musl");
    refused(
        &image(&format!("--rescue={}", arm.display())),
        &format!(
            "{} is a shell for aarch64, but the modules are for x86_64",
            arm.display()
        ),
    );
    assert!(!out.exists(), "a refused image was written");
    ok(&image("--rescue"));
    let listing = stdout(&mkmodboot(&["inspect", "--image", s(&out)]));
    let bb = std::fs::metadata("/bin/busybox").unwrap().len();
    assert!(
        listing.contains(&format!("-0755 {bb:>9} bin/sh")),
        "no busybox at /bin/sh: {listing}"
    );
    // The key: `rescue = no` in a configuration file packs none.
    let conf = tmp("rescue").join("no.conf");
    std::fs::write(&conf, "rescue = no\n").unwrap();
    let init = x86_init();
    ok(&mkmodboot(&[
        "image",
        "--conf",
        s(&conf),
        "--tree",
        s(&k.tree),
        "--init",
        s(&init),
        "-o",
        s(&out),
        "virtio_blk",
    ]));
    let listing = stdout(&mkmodboot(&["inspect", "--image", s(&out)]));
    assert!(!listing.contains(" bin/sh"), "{listing}");
}

#[test]
fn missing_config_and_index_files_are_told() {
    let k = common::kernel();
    let blob = tmp("config").join("blob");
    let o = mkmodboot(&[
        "blob",
        "--tree",
        s(&k.tree),
        "--config",
        "/nonexistent.d",
        "-o",
        s(&blob),
        "virtio_blk",
    ]);
    refused(&o, "/nonexistent.d: no such modprobe.d directory or file");
    let tree = renamed_tree(
        &k.tree,
        &k.tree.file_name().unwrap().to_string_lossy(),
        &[
            "modules.alias",
            "modules.alias.bin",
            "modules.builtin",
            "modules.builtin.bin",
        ],
    );
    let e = ok(&mkmodboot(&[
        "blob",
        "--tree",
        s(&tree),
        "-o",
        s(&blob),
        "virtio_blk",
    ]));
    assert!(
        e.contains("has no modules.alias: coldplug will find no module for any device"),
        "{e}"
    );
    assert!(
        e.contains("has no modules.builtin: names built into the kernel will be unknown"),
        "{e}"
    );
    let o = mkmodboot(&[
        "blob",
        "--tree",
        "/nonexistent/6.1.0-1-amd64",
        "-o",
        s(&blob),
        "virtio_blk",
    ]);
    refused(
        &o,
        "/nonexistent/6.1.0-1-amd64: no such module tree (is that kernel's package installed?",
    );
}

#[test]
fn an_image_that_can_mount_no_root_is_refused() {
    let k = common::std_kernel();
    let out = tmp("rootfs").join("x.img");
    let init = x86_init();
    let base = [
        "image",
        "--tree",
        s(&k.tree),
        "--init",
        s(&init),
        "-o",
        s(&out),
    ];
    // ext4 is a module in this kernel: with no root filesystem packed, no root.
    let o = mkmodboot(&[&base[..], &["--rootfs", "", "virtio_blk"]].concat());
    refused(
        &o,
        "this image could mount no root: no block filesystem is built into kernel",
    );
    assert!(!out.exists());
    // The default packs ext4 (and this machine's root filesystem).
    let e = ok(&mkmodboot(&[&base[..], &["virtio_blk"]].concat()));
    assert!(
        e.contains("root filesystems it can mount: ext4 ext3 ext2"),
        "{e}"
    );
    let info = stdout(&mkmodboot(&["inspect", "--image", s(&out)]));
    assert!(info.contains("/kernel/fs/ext4/ext4.ko\n"), "{info}");
    // A named one instead, and one the tree does not have.
    let e = ok(&mkmodboot(
        &[&base[..], &["--rootfs", "btrfs", "virtio_blk"]].concat(),
    ));
    assert!(e.contains("root filesystems it can mount: btrfs\n"), "{e}");
    let o = mkmodboot(&[&base[..], &["--rootfs", "zfs", "virtio_blk"]].concat());
    refused(&o, "fs-zfs (--rootfs or rootfs)");
}

#[test]
fn every_unknown_name_is_reported_with_where_it_was_given() {
    let k = common::kernel();
    let dir = tmp("unknown");
    let list = dir.join("boot.list");
    std::fs::write(
        &list,
        "virtio_blk\n# a comment\nnosuch_a virtio_pci\nnosuch_b\n",
    )
    .unwrap();
    let o = mkmodboot(&[
        "blob",
        "--tree",
        s(&k.tree),
        "-o",
        s(&dir.join("blob")),
        "--list",
        s(&list),
        "--pack",
        "nosuch_c",
        "--",
        "nosuch_d",
    ]);
    let l = list.display();
    refused(&o, "4 names match no module, alias or built-in in");
    for line in [
        format!("  nosuch_a ({l}:3)"),
        format!("  nosuch_b ({l}:4)"),
        "  nosuch_c (the command line)".into(),
        "  nosuch_d (the command line)".into(),
    ] {
        assert!(
            stderr(&o).contains(&line),
            "{line:?} missing: {}",
            stderr(&o)
        );
    }
    assert!(!dir.join("blob").exists());
}

#[test]
fn usage_errors_print_the_usage_and_exit_2() {
    let o = mkmodboot(&["image", "--bogus"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("Usage: mkmodboot image"),
        "{}",
        stderr(&o)
    );
    let o = mkmodboot(&["--version"]);
    assert_eq!(
        stdout(&o),
        format!("mkmodboot {}\n", env!("CARGO_PKG_VERSION"))
    );
    let o = mkmodboot(&["update", "--help"]);
    assert!(o.status.success() && stdout(&o).contains("--kernel <VERSION|all>"));
}

#[test]
fn configuration_file_sets_what_flags_do_and_bad_lines_stop_the_build() {
    let k = common::kernel();
    let dir = tmp("conf");
    let conf = dir.join("modboot.conf");
    let blob = dir.join("blob");
    std::fs::write(
        &conf,
        "# test\nmodules = virtio_pci\nmodules += virtio_blk\npack = loop\n",
    )
    .unwrap();
    ok(&mkmodboot(&[
        "blob",
        "--conf",
        s(&conf),
        "--tree",
        s(&k.tree),
        "-o",
        s(&blob),
    ]));
    let info = stdout(&mkmodboot(&["inspect", "--blob", s(&blob)]));
    assert!(info.contains("load virtio_pci virtio_blk\n"), "{info}");
    assert!(info.contains("module loop "), "{info}");
    // A flag replaces the key.
    ok(&mkmodboot(&[
        "blob",
        "--conf",
        s(&conf),
        "--tree",
        s(&k.tree),
        "-o",
        s(&blob),
        "virtio_scsi",
    ]));
    let info = stdout(&mkmodboot(&["inspect", "--blob", s(&blob)]));
    assert!(info.contains("load virtio_scsi\n"), "{info}");
    std::fs::write(&conf, "modules = virtio_blk\ncompress = lz4\n").unwrap();
    let o = mkmodboot(&[
        "blob",
        "--conf",
        s(&conf),
        "--tree",
        s(&k.tree),
        "-o",
        s(&blob),
    ]);
    refused(
        &o,
        &format!(
            "{}:2: compress = lz4: zstd, gzip, xz or none",
            conf.display()
        ),
    );
}

/// Each compression makes an image `inspect --image` reads back with the
/// same files; an image the kernel could not unpack is refused.
#[test]
fn image_compressions_and_inspect() {
    let k = common::kernel();
    let dir = tmp("compress");
    let init = x86_init();
    let mut listings = Vec::new();
    for (format, level) in [("gzip", "9"), ("zstd", "19"), ("xz", "6"), ("none", "0")] {
        let out = dir.join(format!("{format}.img"));
        ok(&mkmodboot(&[
            "image",
            "--tree",
            s(&k.tree),
            "--init",
            s(&init),
            "-o",
            s(&out),
            "--compress",
            format,
            "--compress-level",
            level,
            "--add",
            "etc/motd=/etc/hostname",
            "virtio_pci",
            "virtio_blk",
        ]));
        let o = mkmodboot(&["inspect", "--image", s(&out)]);
        let info = ok_stdout(&o);
        let label = if format == "none" {
            "uncompressed"
        } else {
            format
        };
        assert!(info.contains(&format!(", {label}, ")), "{info}");
        assert!(
            info.contains("init: 64-bit static executable for x86_64"),
            "{info}"
        );
        assert!(info.contains("blob: /etc/modboot.blob, kernel "), "{info}");
        assert!(
            info.contains("boot list: virtio_pci virtio_blk\n"),
            "{info}"
        );
        assert!(
            info.contains("/virtio_blk.ko \n") || info.contains("virtio_blk.ko"),
            "{info}"
        );
        assert!(info.contains(" etc/motd\n"), "{info}");
        listings.push(info.split_once("files:").unwrap().1.to_string());
    }
    assert!(
        listings.windows(2).all(|w| w[0] == w[1]),
        "the same files in every form"
    );
    let o = mkmodboot(&[
        "image",
        "--tree",
        s(&k.tree),
        "--init",
        s(&init),
        "-o",
        s(&dir.join("x")),
        "--compress",
        "zstd",
        "--compress-level",
        "30",
        "virtio_blk",
    ]);
    refused(&o, "zstd takes levels 1 to 19, not 30");
}

/// `--layers luks,lvm,md` packs the build machine's cryptsetup, lvm and
/// mdadm at /sbin with every library ldd names, libgcc_s and OpenSSL's
/// legacy provider, and the layers' modules (packed, not in the boot
/// list); `layers =` in the configuration does the same, `--no-layers`
/// and an image that asks for none pack no tool.
#[test]
fn layers_pack_their_tools_libraries_and_modules() {
    let k = common::kernel();
    let dir = tmp("layers");
    let init = x86_init();
    let out = dir.join("l.img");
    let image = |extra: &[&str]| {
        let base = [
            "image",
            "--tree",
            s(&k.tree),
            "--init",
            s(&init),
            "-o",
            s(&out),
        ];
        mkmodboot(&[&base[..], extra, &["virtio_blk"]].concat())
    };
    let e = ok(&image(&["--no-conf", "--layers", "luks,lvm,md"]));
    assert!(
        e.contains("layers luks lvm md: packing dm_crypt algif_skcipher dm_mod md_mod"),
        "{e}"
    );
    let info = ok_stdout(&mkmodboot(&["inspect", "--image", s(&out)]));
    assert!(info.contains("boot list: virtio_blk\n"), "{info}");
    let files: Vec<&str> = info
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix('-'))
        .filter_map(|l| l.split_whitespace().nth(2))
        .collect();
    let has = |suffix: &str| files.iter().any(|f| f.ends_with(suffix));
    for tool in ["cryptsetup", "lvm", "mdadm"] {
        assert!(
            files.contains(&&*format!("sbin/{tool}")),
            "no /sbin/{tool}: {info}"
        );
        // Every library ldd names for the build machine's tool.
        let ldd = Command::new("ldd")
            .arg(format!("/sbin/{tool}"))
            .output()
            .expect("run ldd");
        for lib in stdout(&ldd).lines().filter_map(|l| {
            let name = l.split_whitespace().next()?;
            name.starts_with("lib").then(|| format!("/{name}"))
        }) {
            assert!(has(&lib), "{tool}: {lib} not packed: {info}");
        }
    }
    for f in [
        "/libgcc_s.so.1",
        "/ossl-modules/legacy.so",
        "/dm-crypt.ko",
        "/algif_skcipher.ko",
        "/xts.ko",
        "/dm-mod.ko",
        "/dm-snapshot.ko",
        "/md-mod.ko",
        "/raid1.ko",
        "/raid456.ko",
    ] {
        assert!(has(f), "{f} not packed: {info}");
    }
    // The configuration's key; the flag over it; an unknown layer.
    let conf = dir.join("layers.conf");
    std::fs::write(&conf, "layers = lvm\n").unwrap();
    ok(&image(&["--conf", s(&conf)]));
    let info = ok_stdout(&mkmodboot(&["inspect", "--image", s(&out)]));
    assert!(
        info.contains(" sbin/lvm\n") && info.contains("/dm-mod.ko"),
        "{info}"
    );
    assert!(
        !info.contains("sbin/cryptsetup")
            && !info.contains("sbin/mdadm")
            && !info.contains("dm-crypt.ko"),
        "{info}"
    );
    ok(&image(&["--conf", s(&conf), "--no-layers"]));
    let info = ok_stdout(&mkmodboot(&["inspect", "--image", s(&out)]));
    assert!(
        !info.contains(" sbin/lvm\n") && !info.contains("dm-mod.ko"),
        "{info}"
    );
    refused(
        &image(&["--no-conf", "--layers", "zfs"]),
        "--layers zfs: luks, lvm or md",
    );
    std::fs::write(&conf, "layers = luks raid\n").unwrap();
    refused(
        &image(&["--conf", s(&conf)]),
        &format!("{}:1: layers = raid: luks, lvm or md", conf.display()),
    );
}

fn ok_stdout(o: &Output) -> String {
    assert!(o.status.success(), "failed: {}", stderr(o));
    stdout(o)
}

/// A full filesystem: the image in place survives byte for byte, the
/// command fails naming the file, and no temporary file is left. Runs in a
/// private mount namespace with a small tmpfs.
#[test]
fn a_full_disk_leaves_the_old_image_untouched() {
    let k = common::kernel();
    let dir = tmp("full");
    let init = x86_init();
    let good = dir.join("good.img");
    ok(&mkmodboot(&[
        "image",
        "--tree",
        s(&k.tree),
        "--init",
        s(&init),
        "-o",
        s(&good),
        "virtio_blk",
    ]));
    let script = r#"
        set -e
        mount -t tmpfs -o size=1m tmpfs "$MNT"
        cp "$GOOD" "$MNT/initrd.img"
        # Fill what is left but 64 KiB.
        dd if=/dev/zero of="$MNT/filler" bs=4k 2>/dev/null || true
        rm "$MNT/filler"
        avail=$(df -k --output=avail "$MNT" | tail -1)
        dd if=/dev/zero of="$MNT/filler" bs=1k count=$((avail - 64)) 2>/dev/null
        set +e
        "$MKMODBOOT" image --tree "$TREE" --init "$INIT" --generic -o "$MNT/initrd.img" 2>"$DIR/stderr"
        echo "rc=$?"
        cmp "$GOOD" "$MNT/initrd.img" && echo same
        ls -A "$MNT"
    "#;
    let mnt = dir.join("mnt");
    std::fs::create_dir_all(&mnt).unwrap();
    let o = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", script])
        .env("MNT", &mnt)
        .env("GOOD", &good)
        .env("DIR", &dir)
        .env("TREE", &k.tree)
        .env("INIT", &init)
        .env("MKMODBOOT", env!("CARGO_BIN_EXE_mkmodboot"))
        .output()
        .expect("run unshare (root and util-linux needed)");
    let out = stdout(&o);
    assert_eq!(
        out,
        "rc=1\nsame\nfiller\ninitrd.img\n",
        "stderr: {}",
        stderr(&o)
    );
    let e = std::fs::read_to_string(dir.join("stderr")).unwrap();
    assert!(e.contains("initrd.img: No space left on device"), "{e}");
}
