//! Finding and mounting the real root on `/root`.
//!
//! `root=` names the device in any of the forms of [`modboot::rootdev`]. While
//! it is missing, the init loads drivers for the devices that appear (their
//! uevents' modaliases, see [`crate::modload`]) and looks at each new block
//! device: its name and number, its superblock ([`modboot::blkid`]) or its
//! disk's partition table. The wait is bounded by `rootdelay=N` seconds,
//! unbounded with `rootwait`, and [`DEFAULT_TIMEOUT_S`] otherwise; when it
//! gives up, the log lists the block devices present with what they hold,
//! and every device that has no driver because nothing in the blob matches
//! its modalias.
//!
//! The filesystem types tried are `rootfstype=` (comma-separated; a type that
//! is a module the kernel asks for itself, through `modprobe`), else the type
//! the superblock shows (its `fs-<type>` module loaded first when the kernel
//! does not know it yet), else every non-`nodev` type in `/proc/filesystems`.
//! `rootflags=` is the mount data, and the root is read-only unless `rw` is
//! given, as with the kernel's own root mount.
//!
//! A `root=` that names no block device, given `rootfstype=`, is a tag
//! (virtiofs, 9p), as the kernel's `mount_nodev_root()` takes it (dracut's
//! `root=virtiofs:TAG` is read as that, see [`BootParams`]). It is found by
//! mounting it once the loads started have finished (the type's `fs-`
//! module, and 9p's transport `9p-virtio`, loaded when the kernel asks),
//! again whenever uevents come, within the same time limit; when it gives
//! up, one line names the tag and the virtio driver that brings it.
//!
//! With `overlayroot=tmpfs` or `systemd.volatile=overlay`, the root is
//! mounted read-only and becomes the lower layer of an overlay whose upper
//! layer is on a tmpfs of its own under `/run` (`overlayroot=tmpfs:size=N`
//! its size, [`overlay`]): the real init finds the root itself at [`LOWER`].
//!
//! Without `root=` nothing is mounted: once its modules are loaded, the
//! program `init=` names (default `/sbin/init`) runs from the initramfs,
//! if the image packs it ([`crate::switch_root`]).

use crate::kmsg::{self, B, E, Ms};
use crate::modload::Loader;
use crate::stack::Stack;
use crate::uevents::Uevents;
use crate::{clock, coldplug, files};
use core::ffi::CStr;
use modboot::blkid::{self, FsType, Superblock};
use modboot::cmdline::BootParams;
use modboot::fstypes;
use modboot::rootdev::RootDev;
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::mount::MountFlags;

/// Seconds to wait for the root device without `rootwait` or `rootdelay=`.
pub const DEFAULT_TIMEOUT_S: u32 = 30;
/// Where the real root is mounted before the switch.
pub const NEW_ROOT: &CStr = c"/root";
/// Without uevents, how often the block devices are looked at again.
const RESCAN_MS: u64 = 10;
/// Longest device name kept (`/dev/` + the kernel's name).
const DEVNAME_MAX: usize = 64;

/// Where the overlay's read-only lower layer (the real root) is, then and
/// in the new root (`/run` moves there): dracut's path for it
/// (`dmsquash-live`'s overlayfs).
pub const LOWER: &CStr = c"/run/rootfsbase";
/// The overlay's own tmpfs: its upper layer (`upper`) and work directory.
const RW: &CStr = c"/run/overlayroot";

/// The root device, once seen.
pub struct Found {
    path: [u8; DEVNAME_MAX],
    len: usize,
    /// What its superblock says it holds, if anything modboot knows.
    pub fstype: Option<FsType>,
}

impl Found {
    /// Nothing left to mount (an empty path): a tag, mounted while it was
    /// looked for, or no `root=` (the initramfs's own init).
    const NONE: Found = Found {
        path: [0; DEVNAME_MAX],
        len: 0,
        fstype: None,
    };
}

impl Found {
    /// `/dev/NAME`.
    pub fn path(&self) -> &[u8] {
        self.path.get(..self.len).unwrap_or(&[])
    }
}

/// Wait for the root device named by `root=`, loading drivers for the devices
/// that appear meanwhile. Every failure is logged before `Err` is returned.
#[inline(never)]
pub fn find(
    bp: &BootParams<'_>,
    mut loader: Option<&mut Loader<'_>>,
    uevents: Option<&Uevents>,
    stack: &mut Stack<'_>,
) -> Result<Found, ()> {
    let Some(text) = bp.root else {
        // The initramfs's own init, if the image packs one (switch_root
        // says so if it does not).
        return Ok(Found::NONE);
    };
    let (root, tag) = match RootDev::parse(text) {
        Some(root) => (root, false),
        // A tag: a name no device has stands for the device.
        None if bp.rootfstype.is_some() => (RootDev::Name(b""), true),
        None => {
            error!(
                "root={}: not a form modboot knows (/dev/NAME, UUID=, LABEL=, PARTUUID=, PARTLABEL=, MAJ:MIN)",
                B(text)
            );
            return Err(());
        }
    };
    let timeout_s = if bp.rootwait {
        None
    } else {
        Some(bp.rootdelay.unwrap_or(DEFAULT_TIMEOUT_S))
    };
    let start = clock::now();
    let mut said_waiting = false;
    let mut rescan = true;
    loop {
        if let Some(l) = loader.as_deref_mut() {
            l.pump();
        }
        if rescan {
            if tag {
                if let Some(l) = loader.as_deref_mut() {
                    l.finish_all();
                }
                if mount_at(text, None, bp, loader.as_deref_mut()).is_ok() {
                    return Ok(Found::NONE);
                }
            } else if let Some(found) = scan_block_devices(&root, stack) {
                return Ok(announce(found, text, start));
            }
        }
        if stack.failed {
            return Err(());
        }
        // Time spent typing a passphrase is no time the device was late.
        let waited_ms = clock::since(start).saturating_sub(stack.asked_ns) / 1_000_000;
        let limit_ms = timeout_s.map(|s| s as u64 * 1000);
        if let Some(limit) = limit_ms.filter(|&l| waited_ms >= l) {
            match (tag, bp.rootfstype) {
                (true, Some(fstype)) => report_tag(text, fstype, limit / 1000),
                _ => report_missing(text, limit / 1000, loader.as_deref()),
            }
            return Err(());
        }
        // As initramfs-tools: md arrays still waiting for members are
        // started degraded when two thirds of the wait are over.
        if waited_ms * 3 >= limit_ms.unwrap_or(DEFAULT_TIMEOUT_S as u64 * 1000) * 2 {
            stack.waited_long();
        }
        if !said_waiting && waited_ms >= 100 {
            said_waiting = true;
            match timeout_s {
                Some(s) => info!("waiting up to {} s for root device {}", s, B(text)),
                None => info!(
                    "waiting for root device {} (rootwait: no time limit)",
                    B(text)
                ),
            }
        }
        // Sleep until a worker finishes, a uevent comes, or it is time to
        // look again or give up.
        let mut wake_ms = limit_ms.map_or(1000, |l| (l - waited_ms).min(1000));
        if uevents.is_none() {
            wake_ms = wake_ms.min(RESCAN_MS);
        }
        // Without a loader (no usable blob) only built-in drivers can bring
        // the device: look again every few milliseconds.
        let (readable, events) = match (loader.as_deref_mut(), uevents) {
            (Some(l), Some(u)) => (l.wait(Some(u.fd()), Some(wake_ms)), true),
            (Some(l), None) => (l.wait(None, Some(wake_ms)), false),
            (None, _) => {
                clock::sleep_ms(RESCAN_MS);
                (false, false)
            }
        };
        // A tag is tried again when uevents come (a device, a driver);
        // without them, only once. (A device a layer makes comes with its
        // uevents too.)
        rescan = if tag { readable } else { !events };
        if let (true, Some(u)) = (readable, uevents) {
            let mut found = None;
            let lost = u.drain(&mut |ev| {
                if ev.action == b"add" {
                    if let (Some(m), Some(l)) = (ev.modalias, loader.as_deref_mut()) {
                        l.request_modalias(m);
                    }
                }
                // device-mapper and md devices are empty at `add`: their
                // `change` says they are ready.
                if ev.is_block_ready() && found.is_none() {
                    let name = ev.devpath.rsplit(|&b| b == b'/').next().unwrap_or(&[]);
                    found = check_device(&root, name, stack);
                }
            });
            if let Some(found) = found {
                return Ok(announce(found, text, start));
            }
            if lost {
                if let Some(l) = loader.as_deref_mut() {
                    coldplug::walk(&mut |d| {
                        l.request_modalias(d.modalias);
                    });
                }
                rescan = true;
            }
        }
    }
}

/// The line that says a tag did not appear: the tag, and the virtio
/// driver that brings it (the filesystem's own for virtiofs, the
/// transport's for 9p); the mount's error was said before it.
fn report_tag(tag: &[u8], fstype: &[u8], waited_s: u64) {
    // 9p is the one type starting with a digit.
    let driver: &[u8] = if fstype.first() == Some(&b'9') {
        b"9pnet_virtio"
    } else {
        fstype
    };
    error!(
        "no virtio tag {} for driver {} within {} s",
        B(tag),
        B(driver),
        waited_s
    );
}

fn announce(found: Found, text: &[u8], start: u64) -> Found {
    info!(
        "root device {} is {} ({}), found after {}",
        B(text),
        B(found.path()),
        found.fstype.map_or("unknown", FsType::name),
        Ms(clock::since(start))
    );
    found
}

/// Look at every block device present.
fn scan_block_devices(root: &RootDev<'_>, stack: &mut Stack<'_>) -> Option<Found> {
    let mut found = None;
    let dir = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    if let Ok(d) = rustix::fs::open(c"/sys/class/block", dir, Mode::empty()) {
        coldplug::each_entry(&d, &mut |name| {
            if found.is_none() {
                found = check_device(root, name.to_bytes(), stack);
            }
        });
    }
    found
}

/// Whether block device `name` (its name in `/sys/class/block`) is the root.
/// A container (LUKS, LVM, md) is never the root: it goes to its layer
/// ([`Stack::open`]), which makes the device that may be.
fn check_device(root: &RootDev<'_>, name: &[u8], stack: &mut Stack<'_>) -> Option<Found> {
    let mut found = Found::NONE;
    found.len = files::join(&mut found.path, &[b"/dev/", name])?.len();
    // sysfs says '!' where the node's name has '/' (cciss!c0d0).
    for b in found.path.iter_mut().filter(|b| **b == b'!') {
        *b = b'/';
    }
    let mut head = [0u8; blkid::PROBE_LEN];
    let mut buf = [0u8; 24];
    let devno = files::block_attr(name, b"dev", &mut buf).and_then(parse_devno);
    let by_name = if root.by_partition() {
        is_root_partition(root, name, &mut head)
    } else if root.is_device(found.path().get(5..)?, devno) {
        true
    } else if let RootDev::Name(n) = root {
        // A name the layers' tools made (/dev/mapper/NAME, /dev/VG/LV,
        // /dev/md/NAME): the root is mounted by it, as named.
        let same = devno.is_some_and(|d| node_devno(n) == Some(d));
        if same {
            found.len = files::join(&mut found.path, &[b"/dev/", n])?.len();
        }
        same
    } else {
        false
    };
    let sb = probe(found.path(), &mut head);
    if let (Some(sb), Some(devno)) = (&sb, devno) {
        if sb.fstype.layer().is_some() {
            stack.open(name, devno, sb);
            return None;
        }
    }
    if !by_name && !root.by_filesystem() {
        return None;
    }
    if root.by_filesystem() && !sb.is_some_and(|sb| root.is_filesystem(&sb)) {
        return None;
    }
    found.fstype = sb.map(|sb| sb.fstype);
    Some(found)
}

/// The device number of the block device node `/dev/NAME`, if there is one.
fn node_devno(name: &[u8]) -> Option<(u32, u32)> {
    let mut path = [0u8; DEVNAME_MAX];
    let path = files::join(&mut path, &[b"/dev/", name, b"\0"])?;
    let st = rustix::fs::stat(CStr::from_bytes_with_nul(path).ok()?).ok()?;
    let is_block = rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::BlockDevice;
    is_block.then(|| (rustix::fs::major(st.st_rdev), rustix::fs::minor(st.st_rdev)))
}

/// Read a block device's first bytes and what filesystem or container
/// they hold; an md superblock at the device's end (1.0, 0.90) comes
/// first, as the filesystem inside a RAID1 member shows there too.
fn probe<'h>(path: &[u8], head: &'h mut [u8; blkid::PROBE_LEN]) -> Option<Superblock<'h>> {
    let fd = rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).ok()?;
    let size = rustix::fs::seek(&fd, rustix::fs::SeekFrom::End(0)).unwrap_or(0);
    for at in blkid::md_tail_offsets(size) {
        let mut block = [0u8; 4096];
        let Some(at) = at else { continue };
        if rustix::io::pread(&fd, &mut block, at) == Ok(block.len()) {
            if let Some(sb) = blkid::probe_md(&block) {
                // Its UUID, its label (the name) would point into `block`:
                // only the UUID is kept.
                return Some(Superblock { label: &[], ..sb });
            }
        }
    }
    let n = rustix::io::pread(&fd, &mut head[..], 0).ok()?;
    blkid::probe(head.get(..n)?)
}

/// Whether partition `name` is the root, by its disk's partition table.
fn is_root_partition(root: &RootDev<'_>, name: &[u8], head: &mut [u8; blkid::PROBE_LEN]) -> bool {
    let mut buf = [0u8; 16];
    let Some(number) =
        files::block_attr(name, b"partition", &mut buf).and_then(modboot::cmdline::parse_u32)
    else {
        return false; // a whole disk
    };
    // /sys/class/block/vda1 -> ../../devices/.../block/vda/vda1: the disk is
    // the parent directory.
    let mut link = [0u8; 256];
    let mut path = [0u8; 96];
    let Some(p) = files::join(&mut path, &[b"/sys/class/block/", name]) else {
        return false;
    };
    let Ok(n) = rustix::fs::readlinkat_raw(rustix::fs::CWD, p, &mut link[..]) else {
        return false;
    };
    let target = link.get(..n).unwrap_or(&[]);
    let mut parts = target.rsplit(|&b| b == b'/');
    let (_, Some(disk)) = (parts.next(), parts.next()) else {
        return false;
    };
    let mut disk_path = [0u8; DEVNAME_MAX];
    let Some(dev) = files::join(&mut disk_path, &[b"/dev/", disk]) else {
        return false;
    };
    let mut hit = false;
    with_table(dev, head, number, &mut |p| {
        hit |= p.number == number && root.is_partition(&p)
    });
    hit
}

/// Read the partition table of disk `dev` (`/dev/NAME`): `f` gets each of
/// its partitions numbered up to `last`. The table is at the start; a
/// logical partition's extended boot records are read one sector each, up
/// to its own.
fn with_table(
    dev: &[u8],
    head: &mut [u8; blkid::PROBE_LEN],
    last: u32,
    f: &mut dyn FnMut(blkid::Partition<'_>),
) {
    let mut sector_buf = [0u8; 16];
    let sector = files::block_attr(
        dev.get(5..).unwrap_or(b""),
        b"queue/logical_block_size",
        &mut sector_buf,
    )
    .and_then(modboot::cmdline::parse_u32)
    .unwrap_or(512);
    let Ok(fd) = rustix::fs::open(dev, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()) else {
        return;
    };
    let Ok(n) = rustix::io::pread(&fd, &mut head[..], 0) else {
        return;
    };
    let mut ebr = |at: u64, buf: &mut [u8; 512]| rustix::io::pread(&fd, buf, at) == Ok(512);
    blkid::partitions(
        head.get(..n).unwrap_or(&[]),
        sector as usize,
        &mut ebr,
        last,
        f,
    );
}

/// `MAJ:MIN`.
fn parse_devno(s: &[u8]) -> Option<(u32, u32)> {
    match RootDev::parse(s)? {
        RootDev::Devno(major, minor) => Some((major, minor)),
        _ => None,
    }
}

/// The lines that say the root device did not appear, and why that may be:
/// what each block device holds, and which devices found no driver.
#[inline(never)]
fn report_missing(text: &[u8], waited_s: u64, loader: Option<&Loader<'_>>) {
    error!(
        "root device {} did not appear within {} s",
        B(text),
        waited_s
    );
    let mut any = false;
    let dir = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    if let Ok(d) = rustix::fs::open(c"/sys/class/block", dir, Mode::empty()) {
        coldplug::each_entry(&d, &mut |name| {
            any = true;
            let mut path = [0u8; DEVNAME_MAX];
            let mut head = [0u8; blkid::PROBE_LEN];
            let Some(p) = files::join(&mut path, &[b"/dev/", name.to_bytes()]) else {
                return;
            };
            let mut uuid = [0u8; 36];
            match probe(p, &mut head) {
                Some(sb) => {
                    let n = sb.uuid.map_or(0, |u| u.format(&mut uuid));
                    error!(
                        "block device {}: {} UUID={} LABEL={}",
                        p,
                        sb.fstype.name(),
                        uuid.get(..n).unwrap_or(&[]),
                        sb.label
                    );
                }
                None => error!("block device {}: no filesystem modboot recognises", p),
            }
        });
    }
    if !any {
        error!("no block device present at all");
    }
    // Devices without a driver: those that can lead to storage named, the
    // others counted (ACPI objects, the PC speaker... rarely have a driver
    // in an initramfs).
    let mut others = 0u32;
    coldplug::walk(&mut |d| {
        let r = loader.map(|l| l.resolved(d.modalias));
        if let Some(driver) = r.as_ref().and_then(|r| r.blacklisted) {
            return error!(
                "no driver for {} device {}: its driver {} is blacklisted (modprobe.blacklist=, rd.driver.blacklist= or modprobe.d)",
                B(d.bus),
                B(d.name),
                driver
            );
        }
        if r.is_some_and(|r| r.objects > 0) {
            return; // its driver loaded, or its failure was said
        }
        if !modboot::devices::leads_to_storage(d.modalias) {
            others += 1;
            return;
        }
        error!(
            "no driver for {} device {}: nothing in the blob matches its modalias {}",
            B(d.bus),
            B(d.name),
            B(d.modalias)
        );
    });
    if others > 0 {
        error!(
            "{} more devices have no driver in the blob, none of them a way to storage",
            others
        );
    }
}

/// Mount the root found on [`NEW_ROOT`], trying each candidate filesystem
/// type until one mounts. Every failure is logged before `Err` is returned:
/// each type tried and why it failed, in one line (`ENODEV`: the kernel has
/// no such filesystem, and the line says whether the image has its
/// `fs-TYPE` module), then what the device holds if it is no filesystem
/// ([`not_a_filesystem`]).
#[inline(never)]
pub fn mount(
    found: &Found,
    bp: &BootParams<'_>,
    mut loader: Option<&mut Loader<'_>>,
) -> Result<(), ()> {
    let root = found.path();
    if !root.is_empty() {
        mount_at(root, found.fstype, bp, loader.as_deref_mut())?;
    }
    // Without root=, the initramfs's own init: switch_root loads every
    // module before it runs it.
    if bp.root.is_some() && bp.overlay {
        overlay(bp.overlay_size).map_err(|e| error!("cannot mount the overlay: {}", E(e)))?;
    }
    Ok(())
}

/// [`mount`]'s work: `root` (a device, or a tag) on [`NEW_ROOT`], its
/// superblock's type `fstype` first.
fn mount_at(
    root: &[u8],
    fstype: Option<FsType>,
    bp: &BootParams<'_>,
    mut loader: Option<&mut Loader<'_>>,
) -> Result<(), ()> {
    let _ = rustix::fs::mkdir(NEW_ROOT, Mode::from_raw_mode(0o755));
    let mut data_buf = [0u8; 1024];
    let data = match files::cstr(bp.rootflags.unwrap_or(b""), &mut data_buf) {
        Some(d) => d,
        None => {
            error!("rootflags= is longer than {} bytes", data_buf.len() - 1);
            return Err(());
        }
    };
    let mut fs_buf = [0u8; 4096];
    let known = match files::read(b"/proc/filesystems", &mut fs_buf) {
        Ok(t) => t,
        Err(e) => {
            error!("cannot read /proc/filesystems: {}", E(e));
            &[]
        }
    };
    // The superblock's type first; a module if the kernel lacks it.
    let detected = fstype
        .filter(|_| bp.rootfstype.is_none())
        .map(|fs| fs.name().as_bytes());
    let mut name = [0u8; 64];
    if let (Some(fs), Some(l)) = (detected, loader.as_deref_mut()) {
        if !fstypes::candidates(known, false).any(|k| k == fs) {
            if let Some(alias) = files::join(&mut name, &[b"fs-", fs]) {
                l.request(alias);
                l.settle();
            }
        }
    }
    let (types, from_cmdline) = match bp.rootfstype {
        Some(t) => (t, true),
        None => (known, false),
    };
    let candidates = detected
        .into_iter()
        .chain(fstypes::candidates(types, from_cmdline).filter(|&t| Some(t) != detected));
    let mut read_only = !bp.read_write;
    let mut why = kmsg::Line::start(kmsg::ERR);
    why.push(b"cannot mount root ");
    why.push(root);
    why.push(b":");
    let mut sep: &[u8] = b" ";
    for fstype in candidates {
        loop {
            let mut flags = MountFlags::SILENT;
            if read_only {
                flags |= MountFlags::RDONLY;
            }
            // C strings first: rustix's conversion of byte slices costs
            // the init more than these copies.
            let (mut src, mut ty) = ([0u8; DEVNAME_MAX + 1], [0u8; 64]);
            let mounted = match (files::cstr(root, &mut src), files::cstr(fstype, &mut ty)) {
                (Some(src), Some(ty)) => rustix::mount::mount(src, NEW_ROOT, ty, flags, data),
                _ => Err(Errno::NAMETOOLONG),
            };
            match mounted {
                Ok(()) => {
                    info!(
                        "mounted {} on /root ({}, {}{}{})",
                        B(root),
                        B(fstype),
                        if read_only { "ro" } else { "rw" },
                        if data.is_empty() { "" } else { ", " },
                        B(data.to_bytes())
                    );
                    return Ok(());
                }
                // As the kernel does: a device that refuses writes is mounted read-only.
                Err(Errno::ACCESS | Errno::ROFS) if !read_only => {
                    warn!(
                        "{} refuses read-write mounting; mounting it read-only",
                        B(root)
                    );
                    read_only = true;
                }
                Err(e) => {
                    why.push(sep);
                    sep = b", ";
                    why.push(fstype);
                    why.push(b": ");
                    why.arg(E(e).into());
                    let alias = files::join(&mut name, &[b"fs-", fstype]).unwrap_or(b"");
                    if e == Errno::NODEV
                        && !loader
                            .as_deref()
                            .is_some_and(|l| l.resolved(alias).objects > 0)
                    {
                        why.push(b" (no ");
                        why.push(alias);
                        why.push(b" module in the image)");
                    }
                    break;
                }
            }
        }
    }
    if sep == b" " {
        why.push(b" no filesystem type to try");
    }
    why.finish();
    if fstype.is_none() {
        not_a_filesystem(root);
    }
    Err(())
}

/// The real root (read-only, on [`NEW_ROOT`]) under an overlay: the root
/// moved to [`LOWER`] (dracut's live images' path for it), a tmpfs of its
/// own (`size` as `overlayroot=tmpfs:size=` gives it) on [`RW`] holding the
/// upper layer and the work directory (as Ubuntu's overlayroot keeps them),
/// the overlay (its `fs-overlay` module loaded when the kernel asks)
/// mounted on [`NEW_ROOT`]. The overlay keeps its layers by reference:
/// `/run` moves into the new root with both on it.
fn overlay(size: Option<&[u8]>) -> Result<(), Errno> {
    let mut buf = [0u8; 96];
    let data = match size {
        None => c"mode=0755",
        Some(size) => files::join(&mut buf, &[b"mode=0755,size=", size, b"\0"])
            .and_then(|d| CStr::from_bytes_with_nul(d).ok())
            .ok_or(Errno::INVAL)?,
    };
    for d in [LOWER, RW] {
        rustix::fs::mkdir(d, Mode::from_raw_mode(0o755))?;
    }
    rustix::mount::mount(c"tmpfs", RW, c"tmpfs", MountFlags::empty(), data)?;
    for d in [c"/run/overlayroot/upper", c"/run/overlayroot/work"] {
        rustix::fs::mkdir(d, Mode::from_raw_mode(0o755))?;
    }
    rustix::mount::mount_move(NEW_ROOT, LOWER)?;
    rustix::mount::mount(
        c"overlay",
        NEW_ROOT,
        c"overlay",
        MountFlags::empty(),
        c"lowerdir=/run/rootfsbase,upperdir=/run/overlayroot/upper,workdir=/run/overlayroot/work",
    )
}

/// What a root device with no filesystem modboot recognises holds, when
/// that says what `root=` should have been: a partition table (its
/// partitions by name and PARTUUID).
fn not_a_filesystem(dev: &[u8]) {
    let name = dev.get(5..).unwrap_or(b"");
    let mut head = [0u8; blkid::PROBE_LEN];
    let mut l = kmsg::Line::start(kmsg::ERR);
    l.push(dev);
    l.push(b" holds a partition table, not a filesystem: root= names one of its partitions:");
    let mut any = false;
    with_table(dev, &mut head, u32::MAX, &mut |p| {
        // The kernel's partition names: a `p` before the number when the
        // disk's name ends in a digit (nvme0n1p1, mmcblk0p1).
        l.push(if any { b", " } else { b" " });
        any = true;
        l.push(dev);
        if name.last().is_some_and(u8::is_ascii_digit) {
            l.push(b"p");
        }
        l.push_u64(p.number as u64);
        l.push(b" PARTUUID=");
        let mut uuid = [0u8; 36];
        let n = p.uuid.format(&mut uuid);
        l.push(uuid.get(..n).unwrap_or(&[]));
    });
    if any {
        l.finish();
    }
}
