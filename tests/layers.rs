//! Roots under LUKS, LVM and md RAID, booted in QEMU on Debian's cloud
//! kernel: the disks come from `qemu/layerdisk` (made by the real
//! cryptsetup, lvm and mdadm inside a guest, cached), the image from
//! `mkmodboot image --layers`, which packs the build machine's tools with
//! their libraries; the init opens each layer as its device appears.
//!
//! - LUKS2 with a passphrase typed on the serial console, a wrong one
//!   first; LUKS2 with argon2id; LUKS1 with a key file in the image;
//! - the Debian installer's layout: LUKS in a logical partition, LVM in
//!   it, a volume group whose name has a dash, root and swap volumes;
//! - LVM alone; RAID1 with both members, and with one (started degraded
//!   after two thirds of the wait); LVM on RAID1; LUKS on LVM;
//! - failures: three wrong passphrases, a volume group missing one of its
//!   two physical volumes, an image without cryptsetup.

mod common;

use common::{Console, kernel, root, scratch_dir, x86_init};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// Host seconds one boot may take (cryptsetup's start under TCG takes a
/// few seconds; argon2id's 64 MiB more).
const BOOT_TIMEOUT_S: u64 = 180;

/// What `qemu/layerdisk LAYOUT DIR` printed: the disks, the UUIDs, the
/// passphrase and key file, a `root=`.
struct Disk(HashMap<String, String>);

impl Disk {
    fn get(&self, key: &str) -> &str {
        self.0
            .get(key)
            .unwrap_or_else(|| panic!("qemu/layerdisk said no {key}: {:?}", self.0))
    }

    /// The same layout with its first disk only (the others missing).
    fn first_only(&self) -> Disk {
        let mut facts = self.0.clone();
        facts.insert("disks".into(), "1".into());
        Disk(facts)
    }

    /// `--disk FILE` for each of its disks.
    fn qemu_args(&self) -> Vec<String> {
        let n: usize = self.get("disks").parse().unwrap();
        (1..=n)
            .flat_map(|i| ["--disk".to_string(), self.get(&format!("disk{i}")).to_string()])
            .collect()
    }
}

/// The disks of a layout, built (or taken from the cache) once per test
/// run; layouts are built one at a time.
fn disk(layout: &str) -> &'static Disk {
    static DISKS: OnceLock<Mutex<HashMap<String, &'static Disk>>> = OnceLock::new();
    let mut disks = DISKS.get_or_init(Default::default).lock().unwrap();
    disks.entry(layout.to_string()).or_insert_with(|| {
        let dir = scratch_dir("layers", &format!("disk-{layout}"));
        let out = Command::new(root().join("qemu/layerdisk"))
            .arg(layout)
            .arg(&dir)
            .output()
            .expect("run qemu/layerdisk");
        assert!(
            out.status.success(),
            "qemu/layerdisk {layout} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let facts = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Box::leak(Box::new(Disk(facts)))
    })
}

/// An image of the virtio drivers and ext4 with the tools and modules of
/// `layers` (`mkmodboot image --layers`), and `more` arguments.
fn image(name: &str, layers: &str, more: &[&str]) -> PathBuf {
    let out = scratch_dir("layers", &format!("image-{name}")).join("initrd.img");
    let k = kernel();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mkmodboot"));
    cmd.args(["image", "--no-conf", "--tree"])
        .arg(&k.tree)
        .arg("--init")
        .arg(x86_init())
        .args(["--no-microcode", "virtio_pci", "virtio_blk", "ext4"]);
    if !layers.is_empty() {
        cmd.args(["--layers", layers]);
    }
    let status = cmd.args(more).arg("-o").arg(&out).status().expect("run mkmodboot");
    assert!(status.success(), "mkmodboot image --layers {layers:?} {more:?} failed");
    out
}

/// Boot `image` with `disk`'s disks, typing `script` into the console.
fn boot(name: &str, image: &Path, d: &Disk, append: &str, script: &[(&str, &str)]) -> Console {
    let k = kernel();
    let mut cmd = Command::new(root().join("qemu/boot"));
    cmd.args(["--kernel", k.vmlinuz.to_str().unwrap()])
        .args(["--initrd", image.to_str().unwrap()])
        .args(["--append", append, "--timeout", &BOOT_TIMEOUT_S.to_string()])
        .args(d.qemu_args());
    if !script.is_empty() {
        cmd.arg("--serial-input");
    }
    let log = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("layers-{name}.log"));
    common::run_boot_typing(cmd, log, None, Duration::from_secs(BOOT_TIMEOUT_S + 30), script)
}

/// The real init was reached, the root mounted from `root` (as `root=`
/// named it, or the kernel's name).
#[track_caller]
fn reached(c: &Console, root: &str) {
    c.expect("GUEST: MARKER modboot-root-ok");
    c.expect(&format!("GUEST: root {root} ext4"));
    c.expect_not("modboot: cannot continue the boot");
}

/// The boot could not go on: `line`, then the failure policy (qemu/boot's
/// `panic=-1`), and no real init.
#[track_caller]
fn ended_with(c: &Console, line: &str) {
    c.expect(line);
    let policy = c.position("modboot: cannot continue the boot: rebooting now (panic=-1)");
    assert!(c.position(line) < policy, "the policy came first; see {}", c.log.display());
    c.expect_not("GUEST: started");
}

#[test]
fn luks2_asks_again_after_a_wrong_passphrase() {
    let d = disk("luks2");
    let img = image("luks", "luks", &[]);
    let uuid = d.get("luks_uuid");
    let c = boot(
        "luks2-passphrase",
        &img,
        d,
        &format!("root=/dev/mapper/cryptroot rd.luks.name={uuid}=cryptroot"),
        &[
            ("Please unlock disk cryptroot (/dev/vda):", "wrong\n"),
            ("with the passphrase typed: cryptsetup exit status 2", "modboot-test\n"),
        ],
    );
    
    let wrong = c.position("cannot open LUKS device /dev/vda as cryptroot with the passphrase typed");
    let opened = c.position("opened LUKS device /dev/vda as /dev/mapper/cryptroot with the passphrase typed");
    assert!(wrong < opened, "see {}", c.log.display());
    reached(&c, "/dev/mapper/cryptroot");
    // Neither passphrase reached the console.
    c.expect_not("modboot-test");
}

#[test]
fn luks2_argon2id_by_the_inner_filesystems_uuid() {
    let d = disk("luks2-argon2id");
    let img = image("luks", "luks", &[]);
    let c = boot(
        "luks2-argon2id",
        &img,
        d,
        &format!("root=UUID={}", d.get("fs_uuid")),
        &[("Please unlock disk luks-", "modboot-test\n")],
    );
    c.expect(&format!(
        "opened LUKS device /dev/vda as /dev/mapper/luks-{} with the passphrase typed",
        d.get("luks_uuid")
    ));
    c.expect("GUEST: MARKER modboot-root-ok");
}

#[test]
fn luks1_with_a_key_file_in_the_image() {
    let d = disk("luks1");
    let key = format!("etc/keys/root.key={}", d.get("keyfile"));
    let img = image("luks1-key", "luks", &["--add", &key]);
    let uuid = d.get("luks_uuid");
    let c = boot(
        "luks1-key",
        &img,
        d,
        &format!("root=/dev/mapper/cryptroot rd.luks.name={uuid}=cryptroot rd.luks.key=/etc/keys/root.key"),
        &[],
    );
    c.expect("opened LUKS device /dev/vda as /dev/mapper/cryptroot with its key file");
    c.expect_not("Please unlock disk");
    reached(&c, "/dev/mapper/cryptroot");
}

/// The Debian installer's "encrypted LVM": LUKS2 in logical partition 5,
/// a volume group `modboot-vg` (a dash, doubled in device-mapper's names)
/// with `root` and `swap_1`; the name, key and options by UUID in the
/// image's own command line, as mkmodboot writes it for a crypttab line
/// `vda5_crypt UUID=... /etc/keys/root.key luks,discard`.
#[test]
fn debian_installer_layout_luks_then_lvm() {
    let d = disk("debian");
    let u = d.get("luks_uuid");
    let dir = scratch_dir("layers", "debian-cmdline");
    let own = dir.join("modboot.conf");
    std::fs::write(
        &own,
        format!(
            "rd.luks.name={u}=vda5_crypt rd.luks.options={u}=luks,discard \
             rd.luks.key={u}=/etc/keys/root.key\n"
        ),
    )
    .unwrap();
    let img = image(
        "debian",
        "luks,lvm",
        &[
            "--add",
            &format!("etc/keys/root.key={}", d.get("keyfile")),
            "--add",
            &format!("etc/cmdline.d/modboot.conf={}", own.display()),
        ],
    );
    let c = boot("debian", &img, d, "root=/dev/mapper/modboot--vg-root", &[]);
    c.expect("opened LUKS device /dev/vda5 as /dev/mapper/vda5_crypt with its key file");
    // lvm's own line: root and swap_1.
    c.expect("2 logical volume(s) in volume group \"modboot-vg\" now active");
    reached(&c, "/dev/mapper/modboot--vg-root");
}

#[test]
fn lvm_root_by_its_group_and_volume() {
    let d = disk("lvm");
    let img = image("lvm", "lvm", &[]);
    let c = boot("lvm", &img, d, "root=/dev/modboot-vg/root", &[]);
    reached(&c, "/dev/modboot-vg/root");
}

#[test]
fn raid1_with_both_members_and_with_one() {
    let d = disk("raid1");
    let img = image("md", "md", &[]);
    let root = format!("root=UUID={}", d.get("fs_uuid"));
    let c = boot("raid1", &img, d, &root, &[]);
    c.expect("md/raid1:md127: active with 2 out of 2 mirrors");
    reached(&c, "/dev/md127");
    c.expect_not("started degraded");

    // One member: started degraded after two thirds of rootdelay=6.
    let one = d.first_only();
    let c = boot("raid1-degraded", &img, &one, &format!("{root} rootdelay=6"), &[]);
    let said = c.position("modboot: starting the md arrays still waiting for members, degraded");
    assert!(said < c.position("md/raid1:md127: active with 1 out of 2 mirrors"));
    reached(&c, "/dev/md127");
}

#[test]
fn lvm_on_raid1_and_luks_on_lvm() {
    let d = disk("lvm-on-raid1");
    let img = image("all", "luks,lvm,md", &[]);
    let c = boot("lvm-on-raid1", &img, d, "root=/dev/mapper/modboot--vg-root", &[]);
    c.expect("md/raid1:md127: active with 2 out of 2 mirrors");
    reached(&c, "/dev/mapper/modboot--vg-root");

    let d = disk("luks-on-lvm");
    let u = d.get("luks_uuid");
    let c = boot(
        "luks-on-lvm",
        &img,
        d,
        &format!("root=/dev/mapper/cryptroot rd.luks.name={u}=cryptroot"),
        &[("Please unlock disk cryptroot", "modboot-test\n")],
    );
    // The volume's device-mapper node, named as it appeared.
    c.expect("opened LUKS device /dev/dm-0 as /dev/mapper/cryptroot with the passphrase typed");
    reached(&c, "/dev/mapper/cryptroot");
}

#[test]
fn three_wrong_passphrases_end_in_the_failure_policy() {
    let d = disk("luks2");
    let img = image("luks", "luks", &[]);
    let u = d.get("luks_uuid");
    let c = boot(
        "luks2-wrong",
        &img,
        d,
        &format!("root=/dev/mapper/cryptroot rd.luks.name={u}=cryptroot"),
        // All three at once: the console keeps what the init has not read.
        &[("Please unlock disk cryptroot", "one\ntwo\nthree\n")],
    );
    ended_with(
        &c,
        "modboot: cannot open LUKS device /dev/vda as cryptroot: 3 wrong passphrases (tries=3)",
    );
}

/// A volume group over two disks: with both the root comes up; with one,
/// lvm refuses the partial volume (its own lines name the missing physical
/// volume), modboot says lvm failed, and the root's absence ends in the
/// report and the failure policy.
#[test]
fn a_missing_physical_volume_is_said() {
    let d = disk("lvm-2pv");
    let img = image("lvm", "lvm", &[]);
    let root = "root=/dev/mapper/modboot--vg-root";
    let c = boot("lvm-2pv", &img, d, root, &[]);
    reached(&c, "/dev/mapper/modboot--vg-root");

    let one = d.first_only();
    let c = boot("lvm-2pv-missing", &img, &one, &format!("{root} rootdelay=3"), &[]);
    // lvm's own line names the missing volume, then modboot's says lvm failed.
    let lvm = c.position("WARNING: VG modboot-vg is missing PV");
    c.expect("(last written to /dev/vdc)");
    assert!(lvm < c.position("modboot: lvm vgchange failed: exit status 5"));
    c.expect("modboot: block device /dev/vda: LVM2_member");
    ended_with(&c, "modboot: root device /dev/mapper/modboot--vg-root did not appear within 3 s");
}

#[test]
fn an_image_without_cryptsetup_says_so() {
    let d = disk("luks2");
    let img = image("plain", "", &[]);
    let c = boot("luks2-no-tool", &img, d, "root=/dev/mapper/cryptroot rootdelay=3", &[]);
    c.expect(&format!(
        "modboot: not opening LUKS device /dev/vda (UUID={}): the image has no /sbin/cryptsetup",
        d.get("luks_uuid")
    ));
    c.expect(&format!("modboot: block device /dev/vda: crypto_LUKS UUID={} LABEL=", d.get("luks_uuid")));
    ended_with(&c, "modboot: root device /dev/mapper/cryptroot did not appear within 3 s");
}
