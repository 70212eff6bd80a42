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
//! A root on a stacked device (device-mapper, md: a `slaves/` directory) is
//! not supported yet and stops the build with its name.

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

/// Where the root is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RootDevice {
    /// A block device (the disk's name, `vda`), and the devices it sits
    /// on, nearest first.
    Block { disk: String, chain: Vec<Device> },
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

/// The root's device, from the `/sys` at `sys` (`/sys` on a machine).
pub fn root_device(sys: &Path, root: &RootMount) -> Result<RootDevice, String> {
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
            _ => return Ok(RootDevice::None),
        }
    }
    let link = sys.join(format!("dev/block/{}:{}", dev.0, dev.1));
    let dir = std::fs::canonicalize(&link).map_err(|e| format!("{}: {e}", link.display()))?;
    let name = |d: &Path| {
        d.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    // A stacked device says what it is made of.
    let slaves: Vec<String> = std::fs::read_dir(dir.join("slaves"))
        .map(|r| {
            r.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    if !slaves.is_empty() || name(&dir).starts_with("dm-") || name(&dir).starts_with("md") {
        let mut what = name(&dir);
        if let Ok(n) = std::fs::read_to_string(dir.join("dm/name")) {
            what += &format!(" ({})", n.trim());
        }
        return Err(format!(
            "the root ({}) is on {what}, a stacked device (device-mapper or md, over {}): \
             host-only images do not support that yet; build a generic image (--generic)",
            root.source,
            if slaves.is_empty() {
                "?".to_string()
            } else {
                slaves.join(" ")
            }
        ));
    }
    let disk = if dir.join("partition").is_file() {
        dir.parent().map(Path::to_path_buf).unwrap_or(dir.clone())
    } else {
        dir.clone()
    };
    let devices = std::fs::canonicalize(sys.join("devices"))
        .map_err(|e| format!("{}: {e}", sys.display()))?;
    let sys_real = devices.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut chain = Vec::new();
    let mut d: PathBuf = disk.clone();
    while d.starts_with(&devices) && d != devices {
        let modalias = std::fs::read_to_string(d.join("modalias"))
            .ok()
            .map(|m| m.trim().to_string())
            .filter(|m| !m.is_empty());
        let driver = link_name(&d.join("driver"));
        let driver_module = link_name(&d.join("driver/module"));
        if modalias.is_some() || driver.is_some() {
            chain.push(Device {
                path: d
                    .strip_prefix(&sys_real)
                    .unwrap_or(&d)
                    .display()
                    .to_string(),
                modalias,
                driver,
                driver_module,
            });
        }
        if !d.pop() {
            break;
        }
    }
    Ok(RootDevice::Block {
        disk: name(&disk),
        chain,
    })
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

/// What this machine's root needs: its mount table and `/sys` read, the
/// devices resolved against `tree` (the whole tree's blob, with `config`),
/// told one line a module; the names to pack.
pub fn this_machine(tree: &ModTree, config: &Config) -> Result<Vec<String>, String> {
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
    match &device {
        RootDevice::Block { disk, .. } => note(&format!(
            "host-only: the root is {} ({}) on disk {disk}",
            root.source, root.fstype
        )),
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
    Ok(picked.names)
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
}
