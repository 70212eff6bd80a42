//! modboot installed on a machine: `initramfs/install` into a private
//! prefix, run from `/`; the installed mkmodboot with its own init and
//! configuration; the man pages against the tool's `--help`; and the kernel
//! hooks run for real by `run-parts` and systemd's `kernel-install` in a
//! scratch root (a private mount namespace with its own `/boot` and
//! `/lib/modules`). Every image made is booted in QEMU to the real root.

mod common;

use common::{Console, kernel, root};
use modboot::host::modtree::ModTree;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

fn scratch() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("install");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `initramfs/install --prefix PREFIX`, run once from `/`: the prefix.
fn prefix() -> &'static Path {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| {
        let prefix = scratch().join("prefix");
        let _ = std::fs::remove_dir_all(&prefix);
        let out = Command::new(root().join("initramfs/install"))
            .arg("--prefix")
            .arg(&prefix)
            .current_dir("/")
            .stderr(Stdio::inherit())
            .output()
            .expect("run initramfs/install");
        assert!(out.status.success(), "initramfs/install failed");
        let said = String::from_utf8(out.stdout).unwrap();
        eprint!("{said}");
        assert!(
            said.contains(&format!("installed {}/bin/mkmodboot\n", prefix.display())),
            "initramfs/install did not say where mkmodboot went: {said}"
        );
        prefix
    })
}

fn mkmodboot() -> PathBuf {
    prefix().join("bin/mkmodboot")
}

/// Run `cmd` and return its output; fail the test with its stderr if it fails.
#[track_caller]
fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The test root disk (`qemu/rootfs`: busybox and qemu/guest-init, ext4
/// labelled modboot-root).
fn rootfs() -> &'static Path {
    static R: OnceLock<PathBuf> = OnceLock::new();
    R.get_or_init(|| {
        let img = scratch().join("root.img");
        run(Command::new(root().join("qemu/rootfs")).arg(&img));
        img
    })
}

/// Boot `image` with `vmlinuz` and the root disk; the console.
fn boot(name: &str, vmlinuz: &Path, image: &Path, append: &str) -> Console {
    let mut cmd = Command::new(root().join("qemu/boot"));
    cmd.arg("--kernel")
        .arg(vmlinuz)
        .arg("--initrd")
        .arg(image)
        .arg("--disk")
        .arg(rootfs())
        .args(["--append", append, "--timeout", "240"]);
    let log = scratch().join(format!("boot-{name}.log"));
    common::run_boot(cmd, log, None, Duration::from_secs(300))
}

/// How many modules the blob holds, from modboot's `blob:` line.
#[track_caller]
fn blob_modules(c: &Console) -> usize {
    let rest = c
        .after("modboot: blob: /etc/modboot.blob, ")
        .unwrap_or_else(|| panic!("no blob line; see {}", c.log.display()));
    rest.trim_end_matches(" modules").parse().unwrap()
}

/// virtio_pci and virtio_blk with their dependencies: what the hooks' test
/// configuration selects.
fn virtio_closure() -> usize {
    let tree = ModTree::open(&kernel().tree, None).unwrap();
    let mut set = BTreeSet::new();
    for m in ["virtio_pci", "virtio_blk"] {
        let i = tree.find(m).unwrap();
        set.extend(tree.load_order(i).chain([i]));
    }
    set.len()
}

#[track_caller]
fn expect_root_reached(c: &Console) {
    c.expect("GUEST: MARKER modboot-root-ok");
    c.expect("modboot: loaded virtio_blk in");
    c.expect_not("modboot: cannot");
    c.expect_not("Kernel panic");
}

#[test]
fn installs_every_file_from_any_directory() {
    let p = prefix();
    for (file, mode) in [
        ("bin/mkmodboot", 0o755),
        ("lib/modboot/init-x86_64", 0o755),
        ("etc/kernel/postinst.d/modboot", 0o755),
        ("etc/kernel/postrm.d/modboot", 0o755),
        ("etc/kernel/install.d/50-modboot.install", 0o755),
        ("etc/modboot.conf", 0o644),
        ("share/man/man8/mkmodboot.8", 0o644),
        ("share/man/man7/modboot.7", 0o644),
    ] {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(p.join(file))
            .unwrap_or_else(|e| panic!("{}: {e}", p.join(file).display()));
        assert!(meta.is_file(), "{file} is not a file");
        assert_eq!(meta.permissions().mode() & 0o7777, mode, "{file}'s mode");
    }
    assert!(p.join("etc/modboot.conf.d").is_dir());
    // The installed configuration is the one in the checkout.
    assert_eq!(
        std::fs::read(p.join("etc/modboot.conf")).unwrap(),
        std::fs::read(root().join("initramfs/modboot.conf")).unwrap()
    );
    // The hooks run the installed mkmodboot by its absolute path.
    for hook in [
        "etc/kernel/postinst.d/modboot",
        "etc/kernel/install.d/50-modboot.install",
    ] {
        let text = std::fs::read_to_string(p.join(hook)).unwrap();
        assert!(
            !text.contains("@MKMODBOOT@"),
            "{hook} still has @MKMODBOOT@"
        );
        assert!(
            text.contains(&format!("exec {} ", mkmodboot().display())),
            "{hook} does not run {}",
            mkmodboot().display()
        );
    }
    // The init is the static x86_64 binary.
    let init = std::fs::read(p.join("lib/modboot/init-x86_64")).unwrap();
    assert_eq!(&init[..4], b"\x7fELF");
    assert_eq!(
        u16::from_le_bytes([init[18], init[19]]),
        62,
        "e_machine x86_64"
    );

    let out = run(Command::new(mkmodboot()).arg("--version").current_dir("/"));
    let version = String::from_utf8(out.stdout).unwrap();
    assert!(
        version.contains(env!("CARGO_PKG_VERSION")),
        "mkmodboot --version said {version:?}"
    );
}

/// A second install over an existing configuration, staged with --destdir:
/// the administrator's modboot.conf stays, the new one goes beside it.
#[test]
fn an_existing_configuration_is_kept_and_the_new_one_put_beside_it() {
    let p = prefix();
    let dest = scratch().join("destdir");
    let _ = std::fs::remove_dir_all(&dest);
    let staged = dest.join(p.strip_prefix("/").unwrap());
    std::fs::create_dir_all(staged.join("etc")).unwrap();
    let mine = "# the administrator's\ngeneric = no\nmodules = nvme\n";
    std::fs::write(staged.join("etc/modboot.conf"), mine).unwrap();
    let out = run(Command::new(root().join("initramfs/install"))
        .arg("--prefix")
        .arg(p)
        .arg("--destdir")
        .arg(&dest)
        .current_dir("/"));
    let said = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        std::fs::read_to_string(staged.join("etc/modboot.conf")).unwrap(),
        mine
    );
    assert_eq!(
        std::fs::read(staged.join("etc/modboot.conf.new")).unwrap(),
        std::fs::read(root().join("initramfs/modboot.conf")).unwrap()
    );
    assert!(
        said.contains("modboot.conf.new"),
        "install did not say where the new configuration went: {said}"
    );
    // Staged files name the final paths, not the staging directory.
    let hook = std::fs::read_to_string(staged.join("etc/kernel/postinst.d/modboot")).unwrap();
    assert!(hook.contains(&format!("exec {} update", mkmodboot().display())));
    assert!(staged.join("bin/mkmodboot").is_file());
    assert!(staged.join("lib/modboot/init-x86_64").is_file());
}

#[test]
fn unsupported_targets_are_refused_in_one_line_before_any_build() {
    let dir = scratch().join("never-built");
    let _ = std::fs::remove_dir_all(&dir);
    let bogus = "armv7-unknown-linux-gnueabihf";
    let runs: [(&str, Vec<&str>); 3] = [
        (
            "initramfs/build-init",
            vec!["--target", bogus, "--dir", dir.to_str().unwrap()],
        ),
        (
            "initramfs/install",
            vec!["--prefix", dir.to_str().unwrap(), "--target", bogus],
        ),
        (
            "initramfs/mkimage",
            vec![
                "--tree",
                kernel().tree.to_str().unwrap(),
                "--target",
                bogus,
                "-o",
                "never.img",
            ],
        ),
    ];
    for (script, args) in runs {
        let out = Command::new(root().join(script))
            .args(&args)
            .current_dir("/")
            .output()
            .unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(2), "{script}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{script} said: {stderr}");
        assert!(stderr.contains(bogus) && stderr.contains("x86_64-unknown-linux-musl"));
        assert!(!dir.exists(), "{script} built something");
    }
    assert!(!Path::new("/never.img").exists());
}

/// mkimage from `/`, every path relative to it: cargo must still find the
/// checkout's .cargo/config.toml (the init's linker), and the paths must
/// stay the caller's.
#[test]
fn mkimage_takes_paths_relative_to_any_directory() {
    let rel = |p: &Path| p.strip_prefix("/").unwrap().to_str().unwrap().to_string();
    let out = scratch().join("from-root.img");
    let _ = std::fs::remove_file(&out);
    run(Command::new(root().join("initramfs/mkimage"))
        .args(["--tree", &rel(&kernel().tree)])
        .args(["--list", &rel(&root().join("initramfs/virtio.list"))])
        .args(["--config", &rel(&root().join("initramfs/modprobe.d"))])
        .args(["-o", &rel(&out)])
        .current_dir("/"));
    let gz = std::fs::read(&out).unwrap();
    let newc = run(Command::new("gzip").arg("-dc").arg(&out)).stdout;
    assert!(gz.len() < newc.len());
    let files = common::read_newc(&newc);
    assert!(files.contains_key("init"), "no /init: {:?}", files.keys());
    assert!(files.contains_key("etc/modboot.blob"));
    assert!(files.keys().any(|f| f.ends_with("/virtio_blk.ko")));
}

/// The installed mkmodboot run from `/` with no --init and no --conf: its
/// own init and the installed configuration (generic = yes: every storage
/// and filesystem driver) make an image that boots the machine.
#[test]
fn installed_mkmodboot_builds_a_bootable_image_with_the_default_configuration() {
    let image = scratch().join("installed-default.img");
    let _ = std::fs::remove_file(&image);
    run(Command::new(mkmodboot())
        .arg("image")
        .arg("--tree")
        .arg(&kernel().tree)
        .arg("-o")
        .arg(&image)
        .args(["virtio_pci", "virtio_blk"])
        .current_dir("/"));
    let c = boot(
        "installed-default",
        &kernel().vmlinuz,
        &image,
        "root=LABEL=modboot-root",
    );
    expect_root_reached(&c);
    c.expect("modboot: root device LABEL=modboot-root is /dev/vda (ext4)");
    let n = blob_modules(&c);
    assert!(
        n > 3 * virtio_closure(),
        "{n} modules: the installed configuration's generic = yes was not applied"
    );
}

fn rendered(page: &Path) -> String {
    let out = Command::new("man")
        .arg("-l")
        .arg(page)
        .env("MANWIDTH", "80")
        .env("LC_ALL", "C.UTF-8")
        .output()
        .expect("run man");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.is_empty(),
        "man -l {}: {}\n{stderr}",
        page.display(),
        out.status
    );
    // groff may render \- as a Unicode minus or hyphen.
    String::from_utf8(out.stdout)
        .unwrap()
        .replace(['\u{2212}', '\u{2010}'], "-")
}

#[test]
fn man_pages_render_cleanly_and_document_every_option() {
    let p = prefix();
    let pages = [
        p.join("share/man/man8/mkmodboot.8"),
        p.join("share/man/man7/modboot.7"),
    ];
    for page in &pages {
        let out = run(Command::new("groff")
            .args(["-man", "-ww", "-z"])
            .arg(page)
            .env("LC_ALL", "C.UTF-8"));
        let said = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(
            said.is_empty(),
            "groff warns about {}:\n{said}",
            page.display()
        );
    }
    let page = rendered(&pages[0]);
    for section in [
        "SYNOPSIS",
        "COMMANDS",
        "OPTIONS",
        "CONFIGURATION",
        "FILES",
        "EXIT STATUS",
        "EXAMPLES",
        "SEE ALSO",
    ] {
        assert!(
            page.lines().any(|l| l == section),
            "mkmodboot.8 has no {section}"
        );
    }
    // Every long option any command's --help prints is in the page.
    let mut options = BTreeSet::new();
    for cmd in [
        &[][..],
        &["image"][..],
        &["blob"],
        &["update"],
        &["show-depends"],
        &["inspect"],
    ] {
        let out = run(Command::new(mkmodboot()).args(cmd).arg("--help"));
        let help = String::from_utf8(out.stdout).unwrap();
        for word in help.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')) {
            if let Some(name) = word.strip_prefix("--") {
                if name.starts_with(|c: char| c.is_ascii_lowercase()) {
                    options.insert(word.to_string());
                }
            }
        }
    }
    for o in [
        "--tree",
        "--conf",
        "--no-conf",
        "--kernel",
        "--bootdir",
        "--image",
    ] {
        assert!(
            options.contains(o),
            "--help no longer prints {o}: {options:?}"
        );
    }
    let missing: Vec<_> = options
        .iter()
        .filter(|o| {
            !page
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .any(|w| w == o.as_str())
        })
        .collect();
    assert!(
        missing.is_empty(),
        "mkmodboot.8 does not document {missing:?}"
    );
    // modboot(7): the parameters the init reads.
    let page = rendered(&pages[1]);
    for param in [
        "root=",
        "rootfstype=",
        "rootflags=",
        "rootwait",
        "rootdelay=",
        "init=",
        "modules-load=",
        "rd.driver.pre=",
        "modprobe.blacklist=",
        "rd.driver.blacklist=",
        "module_blacklist=",
        "modboot.jobs=",
    ] {
        assert!(page.contains(param), "modboot.7 does not mention {param}");
    }
}

/// What the scratch root's hooks left, copied out of the namespace.
struct HookRun {
    out: PathBuf,
}

const MACHINE_ID: &str = "0123456789abcdef0123456789abcdef";

/// Run the installed hooks in a private mount namespace: tmpfs on `/boot`
/// and `/lib/modules` (an overlay provides `/lib/modules` on a machine that
/// has none), the kernel's tree bound at `/lib/modules/<release>`, its
/// vmlinuz copied into `/boot`, and a drop-in in `modboot.conf.d` selecting
/// just the virtio disk (the installed `modboot.conf` stays as it is).
/// `run-parts` runs the postinst.d and postrm.d hooks as Debian's kernel
/// packages do; the real `kernel-install` runs the plugin with systemd's
/// `90-loaderentry.install`, which copies what the plugin staged into the
/// boot entry.
fn hook_run() -> &'static HookRun {
    static H: OnceLock<HookRun> = OnceLock::new();
    H.get_or_init(|| {
        let work = scratch().join("hooks");
        let _ = std::fs::remove_dir_all(&work);
        let out = work.join("out");
        std::fs::create_dir_all(&out).unwrap();
        let release = kernel().tree.file_name().unwrap().to_str().unwrap();
        let status = Command::new("unshare")
            .args([
                "--mount",
                "--propagation",
                "private",
                "sh",
                "-c",
                HOOKS_SCRIPT,
                "hooks",
            ])
            .env("P", prefix())
            .env("R", release)
            .env("TREE", &kernel().tree)
            .env("VMLINUZ", &kernel().vmlinuz)
            .env("WORK", &work)
            .env("OUT", &out)
            .env("MID", MACHINE_ID)
            .env_remove("DEB_MAINT_PARAMS")
            .env_remove("INITRD")
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit())
            .status()
            .expect("run unshare");
        assert!(status.success(), "the hooks' scratch root failed: {status}");
        HookRun { out }
    })
}

const HOOKS_SCRIPT: &str = r#"
set -eu
fail() { echo "hooks: $*" >&2; exit 1; }
mount -t tmpfs scratch-boot /boot
lib=$(readlink -f /lib)
if [ ! -d "$lib/modules" ]; then
    mkdir -p "$WORK/overlay"
    mount -t tmpfs overlay-upper "$WORK/overlay"
    mkdir "$WORK/overlay/upper" "$WORK/overlay/work"
    mount -t overlay scratch-lib \
        -o "lowerdir=$lib,upperdir=$WORK/overlay/upper,workdir=$WORK/overlay/work" "$lib"
    mkdir "$lib/modules"
fi
mount -t tmpfs scratch-modules /lib/modules
mkdir "/lib/modules/$R"
mount --bind "$TREE" "/lib/modules/$R"
cp "$VMLINUZ" "/boot/vmlinuz-$R"
mount -t tmpfs scratch-conf "$P/etc/modboot.conf.d"
printf '%s\n' 'generic = no' 'modules = virtio_pci virtio_blk' > "$P/etc/modboot.conf.d/50-test.conf"

# Debian's kernel packages: run-parts --arg=VERSION --arg=IMAGE.
INITRD=No run-parts --exit-on-error --arg="$R" --arg="/boot/vmlinuz-$R" "$P/etc/kernel/postinst.d"
[ ! -e "/boot/initrd.img-$R" ] || fail "INITRD=No, yet the postinst hook wrote an image"
run-parts --report --exit-on-error --arg="$R" --arg="/boot/vmlinuz-$R" "$P/etc/kernel/postinst.d"
cp "/boot/initrd.img-$R" "$OUT/postinst.img"
ls -A /boot > "$OUT/boot-after-postinst"
run-parts --report --exit-on-error --arg="$R" --arg="/boot/vmlinuz-$R" "$P/etc/kernel/postrm.d"
ls -A /boot > "$OUT/boot-after-postrm"

# systemd's kernel-install, BLS layout, with the plugin and 90-loaderentry.
export KERNEL_INSTALL_CONF_ROOT="$WORK/kernel-install" BOOT_ROOT=/boot MACHINE_ID="$MID"
export KERNEL_INSTALL_PLUGINS="$P/etc/kernel/install.d/50-modboot.install /usr/lib/kernel/install.d/90-loaderentry.install"
mkdir -p "$KERNEL_INSTALL_CONF_ROOT"
printf '%s\n' layout=bls initrd_generator=modboot > "$KERNEL_INSTALL_CONF_ROOT/install.conf"
entry="/boot/$MID/$R"
kernel-install --verbose add "$R" "/boot/vmlinuz-$R"
cp "$entry/initrd" "$OUT/kernel-install.img"
cp "$entry/linux" "$OUT/kernel-install.linux"
cp "/boot/loader/entries/$MID-$R.conf" "$OUT/kernel-install.conf"
kernel-install remove "$R"
[ ! -e "$entry" ] || fail "kernel-install remove left $entry"
# An initrd given to kernel-install: the plugin stays out of the way.
echo given > "$WORK/given.img"
kernel-install add "$R" "/boot/vmlinuz-$R" "$WORK/given.img"
cmp "$WORK/given.img" "$entry/given.img"
[ ! -e "$entry/initrd" ] || fail "the plugin made an initrd though one was given"
kernel-install remove "$R"
# Another generator chosen in install.conf: the plugin does nothing.
printf '%s\n' layout=bls initrd_generator=dracut > "$KERNEL_INSTALL_CONF_ROOT/install.conf"
kernel-install add "$R" "/boot/vmlinuz-$R"
[ -e "$entry/linux" ] || fail "kernel-install made no entry"
[ ! -e "$entry/initrd" ] || fail "the plugin ran though initrd_generator=dracut"
echo "hooks: done"
"#;

#[test]
fn postinst_hook_writes_a_bootable_image_and_postrm_removes_it() {
    let h = hook_run();
    let release = kernel().tree.file_name().unwrap().to_str().unwrap();
    let listing = |f: &str| -> BTreeSet<String> {
        std::fs::read_to_string(h.out.join(f))
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    };
    let vmlinuz = format!("vmlinuz-{release}");
    let initrd = format!("initrd.img-{release}");
    assert_eq!(
        listing("boot-after-postinst"),
        BTreeSet::from([vmlinuz.clone(), initrd]),
        "/boot after the postinst.d hook"
    );
    assert_eq!(
        listing("boot-after-postrm"),
        BTreeSet::from([vmlinuz]),
        "/boot after the postrm.d hook"
    );
    let c = boot(
        "postinst",
        &kernel().vmlinuz,
        &h.out.join("postinst.img"),
        "root=/dev/vda",
    );
    expect_root_reached(&c);
    assert_eq!(
        blob_modules(&c),
        virtio_closure(),
        "the test configuration's selection"
    );
}

#[test]
fn kernel_install_plugin_stages_a_bootable_initrd() {
    let h = hook_run();
    let release = kernel().tree.file_name().unwrap().to_str().unwrap();
    let entry = std::fs::read_to_string(h.out.join("kernel-install.conf")).unwrap();
    assert!(
        entry.lines().any(|l| l
            .split_whitespace()
            .eq(["initrd", &format!("/{MACHINE_ID}/{release}/initrd")])),
        "the loader entry names no initrd of ours:\n{entry}"
    );
    // The kernel and initrd kernel-install put in the entry, booted as the
    // boot loader would.
    let c = boot(
        "kernel-install",
        &h.out.join("kernel-install.linux"),
        &h.out.join("kernel-install.img"),
        "root=LABEL=modboot-root",
    );
    expect_root_reached(&c);
    assert_eq!(
        blob_modules(&c),
        virtio_closure(),
        "the test configuration's selection"
    );
}
