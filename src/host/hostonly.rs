//! Host-only images: what the running machine's root needs, read from its
//! `/sys` and mount table (dracut's `--hostonly`, mkinitcpio's
//! `autodetect`).
//!
//! The root's block device is the one the mount table gives for `/`
//! (`/proc/self/mountinfo`: its `MAJ:MIN`, or its source device for a
//! filesystem like btrfs that reports an anonymous device number). Its
//! directory under `/sys/devices` (through `/sys/dev/block/MAJ:MIN`) and
//! every directory above it are the devices it sits on: the partition's
//! disk, the disk's driver's device (`virtio1`), the controller
//! (`0000:00:04.0`), the bridges up to the root of `/sys/devices`. Each one
//! with a `modalias` is resolved as coldplug resolves it at boot (kmod's
//! rules, through the blob's resolver), against the tree the image is for,
//! which need not be the running kernel's. A modalias that matches nothing
//! is normal (bridges, platform devices) and is only counted. The root
//! filesystem's type adds `fs-<type>`. A driver bound to one of these
//! devices whose module is not picked is a warning naming both.
//!
//! A root on a stacked device (device-mapper, md: a `slaves/` directory)
//! is followed down through `/sys/class/block/NAME/slaves/` to the disks
//! ([`walk`]): each device-mapper device's kind from its `dm/uuid` (LUKS,
//! LVM), each md array's level from `md/level`; what they are made of, in
//! turn, down to the devices without slaves, whose drivers are picked as a
//! plain root's are. The stacked devices tell [`super::layers`] which
//! layers the image packs.

use super::emit::{self, Deflate};
use super::modprobe_d::Config;
use super::modtree::ModTree;
use super::notes::note;
use super::select;
use crate::resolve::{self, Action, Resolver};
use std::path::{Path, PathBuf};

/// The `/` mount of a mount table (`/proc/self/mountinfo`): the last one,
/// the one in effect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RootMount {
    /// `st_dev` of the root: `(major, minor)`.
    pub dev: (u32, u32),
    pub fstype: String,
    /// The mount source (`/dev/vda1`).
    pub source: String,
}

/// Read `mountinfo`: `ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [TAGS] - TYPE SOURCE SUPER`.
pub fn root_mount(mountinfo: &str) -> Option<RootMount> {
    mountinfo.lines().rev().find_map(|l| {
        let (head, tail) = l.split_once(" - ")?;
        let f: Vec<&str> = head.split_whitespace().collect();
        if f.get(4) != Some(&"/") {
            return None;
        }
        let (maj, min) = f.get(2)?.split_once(':')?;
        let mut t = tail.split_whitespace();
        Some(RootMount {
            dev: (maj.parse().ok()?, min.parse().ok()?),
            fstype: t.next()?.to_string(),
            source: t.next()?.to_string(),
        })
    })
}

/// One device on the root's path: its directory relative to `/sys`, its
/// modalias, and the driver bound to it (`driver`) with that driver's
/// module (`driver/module`, present for modules and for built-in drivers
/// with parameters).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    pub path: String,
    pub modalias: Option<String>,
    pub driver: Option<String>,
    pub driver_module: Option<String>,
}

/// What a device-mapper or md device is, as `/sys` tells it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StackKind {
    /// A LUKS container opened (`dm/uuid` `CRYPT-LUKS1-...`, `CRYPT-LUKS2-...`).
    Luks,
    /// An LVM logical volume (`dm/uuid` `LVM-...`).
    Lvm,
    /// An md array, with its `md/level` (`raid1`, `linear`, `container`).
    Md(String),
    /// Another device-mapper target (plain dm-crypt, multipath, ...): its
    /// `dm/uuid`, maybe empty.
    OtherDm(String),
}

/// A stacked device on the way from a mounted device to its disks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stacked {
    /// Its kernel name: `dm-0`, `md127`.
    pub name: String,
    pub kind: StackKind,
    /// Its device-mapper name (`dm/name`: `cryptroot`, `vg-root`).
    pub dm_name: Option<String>,
    /// The kernel names of the devices it is made of (`slaves/`), sorted.
    pub slaves: Vec<String>,
}

/// A block device followed down to its disks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Walk {
    /// The stacked devices met, from the top down (each once).
    pub stacked: Vec<Stacked>,
    /// The devices without slaves under them: partitions or disks.
    pub leaves: Vec<String>,
}

fn read_trimmed(p: &Path) -> Option<String> {
    std::fs::read_to_string(p)
        .ok()
        .map(|t| t.trim().to_string())
}

/// Follow the block device `name` (a kernel name) down through
/// `sys/class/block/*/slaves/` to the devices without slaves. A pure walk
/// over the directory `sys` (`/sys` on a machine).
pub fn walk(sys: &Path, name: &str) -> Result<Walk, String> {
    fn visit(sys: &Path, name: &str, depth: u32, w: &mut Walk) -> Result<(), String> {
        if w.stacked.iter().any(|s| s.name == name) || w.leaves.iter().any(|l| l == name) {
            return Ok(());
        }
        let dir = sys.join("class/block").join(name);
        if !dir.exists() {
            return Err(format!("{}: no such block device", dir.display()));
        }
        let mut slaves: Vec<String> = std::fs::read_dir(dir.join("slaves"))
            .map(|r| {
                r.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        slaves.sort();
        if slaves.is_empty() {
            w.leaves.push(name.to_string());
            return Ok(());
        }
        if depth >= 16 {
            return Err(format!(
                "{}: devices stacked too deep (a loop?)",
                dir.display()
            ));
        }
        let kind = match (
            read_trimmed(&dir.join("dm/uuid")),
            read_trimmed(&dir.join("md/level")),
        ) {
            (Some(u), _) if u.starts_with("CRYPT-LUKS1-") || u.starts_with("CRYPT-LUKS2-") => {
                StackKind::Luks
            }
            (Some(u), _) if u.starts_with("LVM-") => StackKind::Lvm,
            (Some(u), _) => StackKind::OtherDm(u),
            (None, Some(level)) => StackKind::Md(level),
            (None, None) => StackKind::OtherDm(String::new()),
        };
        w.stacked.push(Stacked {
            name: name.to_string(),
            kind,
            dm_name: read_trimmed(&dir.join("dm/name")),
            slaves: slaves.clone(),
        });
        for s in &slaves {
            visit(sys, s, depth + 1, w)?;
        }
        Ok(())
    }
    let mut w = Walk::default();
    visit(sys, name, 0, &mut w)?;
    Ok(w)
}

/// Where the root is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RootDevice {
    /// On block devices: the disks (`vda`; more than one under md or LVM
    /// over several disks), the devices they sit on, nearest first, each
    /// once, and the stacked devices between them and the root.
    Block {
        disks: Vec<String>,
        chain: Vec<Device>,
        stacked: Vec<Stacked>,
    },
    /// No block device: the root filesystem has none (overlay, tmpfs,
    /// virtiofs, NFS).
    None,
}

fn link_name(p: &Path) -> Option<String> {
    std::fs::read_link(p)
        .ok()?
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
}

/// The directory in `sys` of the root's block device; `None` when the
/// root is on none.
fn root_dir(sys: &Path, root: &RootMount) -> Result<Option<PathBuf>, String> {
    let mut dev = root.dev;
    if dev.0 == 0 {
        // btrfs and others report an anonymous device: take the source's.
        use std::os::unix::fs::MetadataExt;
        match std::fs::metadata(&root.source) {
            Ok(m) if m.rdev() != 0 => {
                let r = m.rdev();
                dev = (
                    ((r >> 32) & 0xffff_f000 | (r >> 8) & 0xfff) as u32,
                    ((r >> 12) & 0xffff_ff00 | r & 0xff) as u32,
                );
            }
            _ => return Ok(None),
        }
    }
    let link = sys.join(format!("dev/block/{}:{}", dev.0, dev.1));
    std::fs::canonicalize(&link)
        .map(Some)
        .map_err(|e| format!("{}: {e}", link.display()))
}

fn name_of(d: &Path) -> String {
    d.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The stacked devices under the root (none for a root on a plain
/// partition or disk, or on no block device), from the `/sys` at `sys`.
pub fn root_stack(sys: &Path, root: &RootMount) -> Result<Vec<Stacked>, String> {
    match root_dir(sys, root)? {
        Some(dir) => Ok(walk(sys, &name_of(&dir))?.stacked),
        None => Ok(Vec::new()),
    }
}

/// The root's device, from the `/sys` at `sys` (`/sys` on a machine).
pub fn root_device(sys: &Path, root: &RootMount) -> Result<RootDevice, String> {
    let Some(dir) = root_dir(sys, root)? else {
        return Ok(RootDevice::None);
    };
    let w = walk(sys, &name_of(&dir))?;
    let devices = std::fs::canonicalize(sys.join("devices"))
        .map_err(|e| format!("{}: {e}", sys.display()))?;
    let sys_real = devices.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut disks = Vec::new();
    let mut chain: Vec<Device> = Vec::new();
    for leaf in &w.leaves {
        let link = sys.join("class/block").join(leaf);
        let dir = std::fs::canonicalize(&link).map_err(|e| format!("{}: {e}", link.display()))?;
        let disk = if dir.join("partition").is_file() {
            dir.parent().map(Path::to_path_buf).unwrap_or(dir.clone())
        } else {
            dir.clone()
        };
        if !disks.contains(&name_of(&disk)) {
            disks.push(name_of(&disk));
        }
        let mut d: PathBuf = disk.clone();
        while d.starts_with(&devices) && d != devices {
            let modalias = std::fs::read_to_string(d.join("modalias"))
                .ok()
                .map(|m| m.trim().to_string())
                .filter(|m| !m.is_empty());
            let driver = link_name(&d.join("driver"));
            let driver_module = link_name(&d.join("driver/module"));
            let path = d
                .strip_prefix(&sys_real)
                .unwrap_or(&d)
                .display()
                .to_string();
            if (modalias.is_some() || driver.is_some()) && !chain.iter().any(|c| c.path == path) {
                chain.push(Device {
                    path,
                    modalias,
                    driver,
                    driver_module,
                });
            }
            if !d.pop() {
                break;
            }
        }
    }
    Ok(RootDevice::Block {
        disks,
        chain,
        stacked: w.stacked,
    })
}

/// How a stacked device is told: `dm-0 (cryptroot, LUKS)`.
pub fn describe(s: &Stacked) -> String {
    let kind = match &s.kind {
        StackKind::Luks => "LUKS".to_string(),
        StackKind::Lvm => "LVM".to_string(),
        StackKind::Md(level) => format!("md {level}"),
        StackKind::OtherDm(u) if u.is_empty() => "device-mapper".to_string(),
        StackKind::OtherDm(u) => format!("device-mapper {}", u.split('-').next().unwrap_or(u)),
    };
    match &s.dm_name {
        Some(n) => format!("{} ({n}, {kind})", s.name),
        None => format!("{} ({kind})", s.name),
    }
}

/// What host-only detection picked, and why, for the blob's selection.
#[derive(Clone, Debug, Default)]
pub struct Picked {
    /// Names to pack (the modaliases that matched, `fs-<type>`): the
    /// selection resolves them again, as coldplug and the mount do at boot.
    pub names: Vec<String>,
    /// `device -> modalias -> modules` lines, one a module.
    pub report: Vec<String>,
    /// Modaliases on the path that match nothing.
    pub unmatched: usize,
    pub warnings: Vec<String>,
}

/// The modules `name` resolves to itself, not those loaded as their
/// dependencies (what `modprobe name` would load, less what the others
/// need), and whether it names a built-in.
fn modules_of(resolver: &Resolver<'_>, name: &str) -> (Vec<String>, bool) {
    let mut buf = [0u8; 4096];
    let Some(key) = resolve::normalise(name.as_bytes(), &mut buf) else {
        return (Vec::new(), false);
    };
    let mut loaded = Vec::new();
    let mut builtin = false;
    let _ = resolver.modprobe(key, &mut |step| match step.action {
        Action::Insmod(m) => loaded.push(m),
        Action::Builtin => builtin = true,
        _ => {}
    });
    let needed: Vec<u16> = loaded.iter().flat_map(|m| m.deps()).collect();
    let out = loaded
        .iter()
        .filter(|m| !needed.contains(&m.index()))
        .map(|m| m.name().to_string())
        .collect();
    (out, builtin)
}

/// Resolve the root's devices and filesystem against `resolver` (the whole
/// tree's blob).
pub fn pick(resolver: &Resolver<'_>, root: &RootMount, device: &RootDevice) -> Picked {
    let mut p = Picked::default();
    let mut picked_modules = Vec::new();
    if let RootDevice::Block { chain, .. } = device {
        for d in chain {
            let Some(alias) = &d.modalias else { continue };
            let (mods, builtin) = modules_of(resolver, alias);
            if mods.is_empty() && !builtin {
                p.unmatched += 1;
                continue;
            }
            if builtin && mods.is_empty() {
                p.report
                    .push(format!("{} -> {alias} -> built into the kernel", d.path));
            }
            for m in &mods {
                p.report.push(format!("{} -> {alias} -> {m}", d.path));
            }
            picked_modules.extend(mods);
            p.names.push(alias.clone());
        }
    }
    let fs = format!("fs-{}", root.fstype);
    let (mods, builtin) = modules_of(resolver, &fs);
    for m in &mods {
        p.report
            .push(format!("root filesystem {} -> {fs} -> {m}", root.fstype));
    }
    if builtin && mods.is_empty() {
        p.report.push(format!(
            "root filesystem {} -> {fs} -> built into the kernel",
            root.fstype
        ));
    }
    if mods.is_empty() && !builtin {
        p.warnings.push(format!(
            "the root filesystem {} has no module or built-in {fs} in this tree",
            root.fstype
        ));
    } else {
        p.names.push(fs);
    }
    picked_modules.extend(mods);
    if let RootDevice::Block { chain, .. } = device {
        for d in chain {
            if let (Some(driver), Some(module)) = (&d.driver, &d.driver_module) {
                let (mods, builtin) = modules_of(resolver, module);
                let known = builtin || mods.iter().any(|m| picked_modules.contains(m));
                if !known {
                    p.warnings.push(format!(
                        "{} is driven by {driver} (module {module}) now, but the image does not pick {module}",
                        d.path
                    ));
                }
            }
        }
    }
    p
}

/// What host-only detection found on this machine: the names to pack for
/// its devices and root filesystem, and the stacked devices under its root.
#[derive(Clone, Debug, Default)]
pub struct ThisMachine {
    pub names: Vec<String>,
    pub stacked: Vec<Stacked>,
}

/// What this machine's root needs: its mount table and `/sys` read, the
/// devices resolved against `tree` (the whole tree's blob, with `config`),
/// told one line a module; the names to pack, and the stacked devices.
pub fn this_machine(tree: &ModTree, config: &Config) -> Result<ThisMachine, String> {
    let mountinfo = "/proc/self/mountinfo";
    let text = std::fs::read_to_string(mountinfo).map_err(|e| format!("{mountinfo}: {e}"))?;
    let root = root_mount(&text).ok_or_else(|| format!("{mountinfo}: no mount on /"))?;
    let device = root_device(Path::new("/sys"), &root)?;
    let spec = select::full_spec(tree, config, &[]);
    let bytes = emit::emit_with(&spec, Deflate::Never)?;
    let payload = emit::payload_of(&bytes)?;
    let picked = pick(
        &Resolver::new(emit::checked(&payload)?, b""),
        &root,
        &device,
    );
    let mut stack = Vec::new();
    match &device {
        RootDevice::Block { disks, stacked, .. } => {
            let on: Vec<String> = stacked.iter().map(describe).collect();
            note(&format!(
                "host-only: the root is {} ({}){} on disk{} {}",
                root.source,
                root.fstype,
                if on.is_empty() {
                    String::new()
                } else {
                    format!(" on {}", on.join(" on "))
                },
                if disks.len() == 1 { "" } else { "s" },
                disks.join(" ")
            ));
            stack = stacked.clone();
        }
        RootDevice::None => note(&format!(
            "host-only: the root ({} on {}) is on no block device: no storage driver to pick",
            root.fstype, root.source
        )),
    }
    for line in &picked.report {
        note(&format!("host-only: {line}"));
    }
    if picked.unmatched > 0 {
        note(&format!(
            "host-only: {} device{} on the root's path match{} no module (bridges and the like need none)",
            picked.unmatched,
            if picked.unmatched == 1 { "" } else { "s" },
            if picked.unmatched == 1 { "es" } else { "" }
        ));
    }
    for w in &picked.warnings {
        note(&format!("warning: host-only: {w}"));
    }
    Ok(ThisMachine {
        names: picked.names,
        stacked: stack,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_mount_is_the_last_mount_on_slash() {
        let text = "\
22 1 8:2 / / rw,relatime shared:1 - ext4 /dev/sda2 rw
25 22 0:21 / /proc rw - proc proc rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
30 27 0:33 /@ / rw,relatime shared:5 - btrfs /dev/nvme0n1p2 rw,ssd,subvol=/@
";
        assert_eq!(
            root_mount(text),
            Some(RootMount {
                dev: (0, 33),
                fstype: "btrfs".into(),
                source: "/dev/nvme0n1p2".into()
            })
        );
        assert_eq!(
            root_mount(&text[..text.find("30 27").unwrap()])
                .unwrap()
                .dev,
            (254, 0)
        );
        assert_eq!(root_mount("25 22 0:21 / /proc rw - proc proc rw\n"), None);
        assert_eq!(root_mount("garbage\n1 2 x / / rw - ext4 /dev/x rw\n"), None);
    }

    /// A directory laid out as `/sys/class/block` is for the Debian
    /// installer's layout on a RAID1: LVM (dm-1) on LUKS2 (dm-0) on md0 over
    /// two partitions; only the files the walk reads.
    #[test]
    fn walks_the_slaves_down_to_the_disks() {
        let sys = std::env::temp_dir().join(format!("modboot-walk-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&sys);
        let put = |path: &str, text: &str| {
            let p = sys.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        let dir = |path: &str| std::fs::create_dir_all(sys.join(path)).unwrap();
        put("class/block/dm-1/dm/uuid", "LVM-abcdefABCDEF\n");
        put("class/block/dm-1/dm/name", "modboot--vg-root\n");
        dir("class/block/dm-1/slaves/dm-0");
        put(
            "class/block/dm-0/dm/uuid",
            "CRYPT-LUKS2-0f1e2d3c4b5a69788796a5b4c3d2e1f0-cryptroot\n",
        );
        put("class/block/dm-0/dm/name", "cryptroot\n");
        dir("class/block/dm-0/slaves/md0");
        put("class/block/md0/md/level", "raid1\n");
        dir("class/block/md0/slaves/vdb1");
        dir("class/block/md0/slaves/vda1");
        dir("class/block/vda1");
        dir("class/block/vdb1");
        dir("class/block/vdc");
        let w = walk(&sys, "dm-1").unwrap();
        let kinds: Vec<(&str, &StackKind)> = w
            .stacked
            .iter()
            .map(|s| (s.name.as_str(), &s.kind))
            .collect();
        assert_eq!(
            kinds,
            [
                ("dm-1", &StackKind::Lvm),
                ("dm-0", &StackKind::Luks),
                ("md0", &StackKind::Md("raid1".into()))
            ]
        );
        assert_eq!(w.stacked[1].dm_name.as_deref(), Some("cryptroot"));
        assert_eq!(w.stacked[2].slaves, ["vda1", "vdb1"]);
        assert_eq!(w.leaves, ["vda1", "vdb1"]);
        assert_eq!(describe(&w.stacked[0]), "dm-1 (modboot--vg-root, LVM)");
        // A plain disk is its own leaf; a missing device is named.
        assert_eq!(
            walk(&sys, "vdc").unwrap(),
            Walk {
                stacked: vec![],
                leaves: vec!["vdc".into()]
            }
        );
        let e = walk(&sys, "sdz").unwrap_err();
        assert!(e.ends_with("class/block/sdz: no such block device"), "{e}");
        // A loop ends.
        dir("class/block/vda1/slaves/dm-1");
        assert!(walk(&sys, "dm-1").is_ok());
        std::fs::remove_dir_all(&sys).unwrap();
    }
}
