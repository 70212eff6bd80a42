//! What a block device holds, read from its first bytes as blkid reads it:
//! the filesystem (type, UUID, label) for `root=UUID=`/`LABEL=` and for
//! mounting without `rootfstype=`, and the partition table (GPT or MBR) for
//! `root=PARTUUID=`/`PARTLABEL=`.
//!
//! Filesystems: ext2/ext3/ext4 (told apart by their feature flags as blkid
//! does), xfs, btrfs, vfat (FAT12/16/32), squashfs, erofs, iso9660 (its
//! volume identifier as the label; no UUID). Containers, which a tool opens
//! into a new block device ([`Layer`]): LUKS1 and LUKS2 (`crypto_LUKS`, its
//! UUID, a LUKS2 label), LVM2 physical volumes (`LVM2_member`; their UUID is
//! not kept) and md RAID members (`linux_raid_member`, the array's UUID and,
//! for 1.x, its name as label; superblocks 1.1 and 1.2 in the head, 1.0 and
//! 0.90 at the end of the device, [`md_tail_offsets`]). Partition tables:
//! GPT (unique GUID and name per entry) and MBR (the disk signature and the
//! partition number, `SSSSSSSS-PP`; primary partitions, and logical ones in
//! their extended partition, numbered as the kernel numbers them).
//!
//! Pure and allocation-free: the caller reads [`PROBE_LEN`] bytes from the
//! start of the device (fewer for a smaller device) and hands them in, and
//! reads the extended boot records of logical partitions when asked
//! ([`ReadAt`]).

/// Bytes from the start of a device that the probes look at: btrfs keeps
/// its superblock at 64 KiB; a GPT on 4 KiB sectors ends within it too.
pub const PROBE_LEN: usize = 68 * 1024;

/// Filesystem types, by the names the kernel mounts them with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FsType {
    Ext2,
    Ext3,
    Ext4,
    Xfs,
    Btrfs,
    Vfat,
    Squashfs,
    Erofs,
    Iso9660,
    /// A LUKS1 or LUKS2 container (`cryptsetup open`).
    CryptoLuks,
    /// An LVM2 physical volume (`lvm vgchange -ay`).
    Lvm2Member,
    /// A member of an md RAID array (`mdadm --incremental`).
    LinuxRaidMember,
}

/// The layers a container belongs to: which tool opens it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layer {
    Luks,
    Lvm,
    Md,
}

impl FsType {
    /// The name for mount(2) and `rootfstype=` (also blkid's TYPE); for a
    /// container, blkid's TYPE.
    pub fn name(self) -> &'static str {
        match self {
            FsType::Ext2 => "ext2",
            FsType::Ext3 => "ext3",
            FsType::Ext4 => "ext4",
            FsType::Xfs => "xfs",
            FsType::Btrfs => "btrfs",
            FsType::Vfat => "vfat",
            FsType::Squashfs => "squashfs",
            FsType::Erofs => "erofs",
            FsType::Iso9660 => "iso9660",
            FsType::CryptoLuks => "crypto_LUKS",
            FsType::Lvm2Member => "LVM2_member",
            FsType::LinuxRaidMember => "linux_raid_member",
        }
    }

    /// The layer that opens a container; `None` for a filesystem.
    pub fn layer(self) -> Option<Layer> {
        match self {
            FsType::CryptoLuks => Some(Layer::Luks),
            FsType::Lvm2Member => Some(Layer::Lvm),
            FsType::LinuxRaidMember => Some(Layer::Md),
            _ => None,
        }
    }
}

/// A filesystem or partition UUID, in the form blkid prints it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Uuid {
    /// 16 bytes in order: `01234567-89ab-cdef-0123-456789abcdef`.
    Bytes([u8; 16]),
    /// A GPT GUID: the first three fields little-endian.
    Guid([u8; 16]),
    /// A FAT volume serial: `ABCD-1234`.
    Fat(u32),
    /// An MBR partition: the disk signature and the partition number,
    /// `1234abcd-01`.
    Mbr(u32, u8),
}

impl Uuid {
    /// The text form, into `out`; returns its length.
    pub fn format(&self, out: &mut [u8; 36]) -> usize {
        // The bytes in print order, how many, a `-` before the bytes whose
        // bit is set, and the letter the digits above 9 start from.
        let (bytes, len, dashes, letters) = match *self {
            Uuid::Bytes(b) => (b, 16, 0b101_0101_0000u32, b'a'),
            Uuid::Guid(mut b) => {
                b[..4].reverse();
                b[4..6].reverse();
                b[6..8].reverse();
                (b, 16, 0b101_0101_0000, b'a')
            }
            Uuid::Fat(serial) => (pad(&serial.to_be_bytes()), 4, 0b100, b'A'),
            Uuid::Mbr(disk, part) => {
                let mut b = pad(&disk.to_be_bytes());
                b[4] = part;
                (b, 5, 0b1_0000, b'a')
            }
        };
        let mut n = 0;
        let mut put = |c: u8| {
            if let Some(slot) = out.get_mut(n) {
                *slot = c;
                n += 1;
            }
        };
        for (i, &b) in bytes.iter().take(len).enumerate() {
            if dashes & (1 << i) != 0 {
                put(b'-');
            }
            for d in [b >> 4, b & 15] {
                put(if d < 10 { b'0' + d } else { letters + d - 10 });
            }
        }
        n
    }

    /// Whether `text` (from `root=UUID=...`, `rd.md.uuid=`...) names this
    /// UUID: the same digits in the same order; letter case does not
    /// matter, as in the kernel's own `PARTUUID=` matching, nor do the
    /// separators (mdadm writes an array's UUID `01234567:89abcdef:...`).
    pub fn matches(&self, text: &[u8]) -> bool {
        let mut buf = [0u8; 36];
        let n = self.format(&mut buf);
        let digit = |c: &&u8| **c != b'-' && **c != b':';
        let mut ours = buf.get(..n).unwrap_or(&[]).iter().filter(digit);
        let mut theirs = text.iter().filter(digit);
        loop {
            match (ours.next(), theirs.next()) {
                (None, None) => return n > 0,
                (Some(a), Some(b)) if a.eq_ignore_ascii_case(b) => {}
                _ => return false,
            }
        }
    }
}

/// What a filesystem's superblock says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Superblock<'a> {
    pub fstype: FsType,
    pub uuid: Option<Uuid>,
    /// The label, without padding; empty for none.
    pub label: &'a [u8],
}

fn le16(b: &[u8], at: usize) -> u16 {
    match b.get(at..at + 2) {
        Some(&[x, y]) => u16::from_le_bytes([x, y]),
        _ => 0,
    }
}

fn le32(b: &[u8], at: usize) -> u32 {
    match b.get(at..at + 4) {
        Some(&[a, c, d, e]) => u32::from_le_bytes([a, c, d, e]),
        _ => 0,
    }
}

fn le64(b: &[u8], at: usize) -> u64 {
    (le32(b, at) as u64) | ((le32(b, at + 4) as u64) << 32)
}

/// Four bytes at the start of sixteen.
fn pad(b: &[u8; 4]) -> [u8; 16] {
    let mut out = [0; 16];
    out[..4].copy_from_slice(b);
    out
}

fn bytes16(b: &[u8], at: usize) -> Option<[u8; 16]> {
    b.get(at..at + 16)?.try_into().ok()
}

/// A label field: up to the first NUL, trailing spaces cut.
fn label(b: &[u8], at: usize, len: usize) -> &[u8] {
    let field = b.get(at..at + len).unwrap_or(&[]);
    let field = field.split(|&c| c == 0).next().unwrap_or(&[]);
    let end = field.iter().rposition(|&c| c != b' ').map_or(0, |i| i + 1);
    field.get(..end).unwrap_or(&[])
}

/// A UUID of all zeros means "none" to blkid.
fn nonzero(u: [u8; 16]) -> Option<Uuid> {
    u.iter().any(|&b| b != 0).then_some(Uuid::Bytes(u))
}

/// The filesystem or container at the start of `head`, if it is one of
/// ours. Containers come first, as blkid tries them first: an md 1.1/1.2
/// member may still show a filesystem's old superblock.
pub fn probe(head: &[u8]) -> Option<Superblock<'_>> {
    // A table of functions, not a chain of `or_else`: each step of a
    // chain moves a whole `Superblock` (600 bytes of the init's code).
    type Probe = for<'h> fn(&'h [u8]) -> Option<Superblock<'h>>;
    const PROBES: [Probe; 11] = [
        probe_luks,
        probe_lvm2,
        probe_md,
        probe_md_4k,
        probe_ext,
        probe_xfs,
        probe_btrfs,
        probe_erofs,
        probe_squashfs,
        probe_vfat,
        probe_iso9660,
    ];
    PROBES.iter().find_map(|p| p(head))
}

/// md 1.2: 4 KiB into the device.
fn probe_md_4k(head: &[u8]) -> Option<Superblock<'_>> {
    probe_md(head.get(4096..)?)
}

fn probe_luks(head: &[u8]) -> Option<Superblock<'_>> {
    // "LUKS\xba\xbe", a big-endian version (1 or 2); both keep the UUID as
    // text at 168 (40 bytes); LUKS2 has a label at 24 (48 bytes).
    if head.get(0..6)? != b"LUKS\xba\xbe" {
        return None;
    }
    let version = u16::from_be_bytes([*head.get(6)?, *head.get(7)?]);
    if !(1..=2).contains(&version) {
        return None;
    }
    Some(Superblock {
        fstype: FsType::CryptoLuks,
        uuid: uuid_text(label(head, 168, 40)).and_then(nonzero),
        label: if version == 2 { label(head, 24, 48) } else { &[] },
    })
}

fn probe_lvm2(head: &[u8]) -> Option<Superblock<'_>> {
    // The label is in one of the first four sectors: "LABELONE", its own
    // sector number (u64 at 8), then the type "LVM2 001" at 24.
    (0..4u64).find_map(|sector| {
        let at = sector as usize * 512;
        let ok = head.get(at..at + 8)? == b"LABELONE"
            && le64(head, at + 8) == sector
            && head.get(at + 24..at + 32)? == b"LVM2 001";
        ok.then_some(Superblock {
            fstype: FsType::Lvm2Member,
            uuid: None,
            label: &[],
        })
    })
}

/// An md superblock at the start of `block`: 1.x (the array's UUID at 16,
/// its name at 32) or 0.90 (the UUID's words 0 at 20 and 1-3 at 52,
/// little-endian on x86 and arm; no name).
pub fn probe_md(block: &[u8]) -> Option<Superblock<'_>> {
    if le32(block, 0) != 0xa92b_4efc {
        return None;
    }
    let (uuid, name) = match le32(block, 4) {
        1 => (bytes16(block, 16)?, label(block, 32, 32)),
        0 => {
            let mut u = bytes16(block, 48)?;
            u.get_mut(..4)?.copy_from_slice(block.get(20..24)?);
            (u, &[][..])
        }
        _ => return None,
    };
    Some(Superblock {
        fstype: FsType::LinuxRaidMember,
        uuid: nonzero(uuid),
        label: name,
    })
}

/// Where md keeps a superblock at the end of a device of `size` bytes,
/// for [`probe_md`]: 1.0 (8 KiB before the end, 4 KiB aligned) and 0.90
/// (the last 64 KiB-aligned 64 KiB). `None` for a device too small.
pub fn md_tail_offsets(size: u64) -> [Option<u64>; 2] {
    [
        size.checked_sub(8192).map(|o| o & !4095),
        (size & !65535).checked_sub(65536),
    ]
}

/// Sixteen bytes from a UUID's text form (`01234567-89ab-...`, 36
/// characters, either case); `None` for anything else.
fn uuid_text(text: &[u8]) -> Option<[u8; 16]> {
    let mut out = [0u8; 16];
    let mut digits = 0;
    for (i, &c) in text.iter().enumerate() {
        if matches!(i, 8 | 13 | 18 | 23) {
            if c != b'-' {
                return None;
            }
            continue;
        }
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => return None,
        };
        let byte = out.get_mut(digits / 2)?;
        *byte = *byte << 4 | d;
        digits += 1;
    }
    (text.len() == 36).then_some(out)
}

fn probe_ext(head: &[u8]) -> Option<Superblock<'_>> {
    const SB: usize = 1024;
    if le16(head, SB + 56) != 0xEF53 {
        return None;
    }
    let (compat, incompat, ro_compat) = (
        le32(head, SB + 92),
        le32(head, SB + 96),
        le32(head, SB + 100),
    );
    // A journal device (INCOMPAT_JOURNAL_DEV) is not a filesystem to mount.
    if incompat & 0x8 != 0 {
        return None;
    }
    // blkid: features ext3 does not know make it ext4; a journal, ext3.
    const EXT3_INCOMPAT: u32 = 0x2 | 0x4 | 0x10; // filetype, recover, meta_bg
    const EXT3_RO_COMPAT: u32 = 0x1 | 0x2 | 0x4; // sparse_super, large_file, btree_dir
    let fstype = if incompat & !EXT3_INCOMPAT != 0 || ro_compat & !EXT3_RO_COMPAT != 0 {
        FsType::Ext4
    } else if compat & 0x4 != 0 {
        FsType::Ext3
    } else {
        FsType::Ext2
    };
    Some(Superblock {
        fstype,
        uuid: nonzero(bytes16(head, SB + 104)?),
        label: label(head, SB + 120, 16),
    })
}

fn probe_xfs(head: &[u8]) -> Option<Superblock<'_>> {
    if head.get(0..4)? != b"XFSB" {
        return None;
    }
    Some(Superblock {
        fstype: FsType::Xfs,
        uuid: nonzero(bytes16(head, 32)?),
        label: label(head, 108, 12),
    })
}

fn probe_btrfs(head: &[u8]) -> Option<Superblock<'_>> {
    const SB: usize = 64 * 1024;
    if head.get(SB + 64..SB + 72)? != b"_BHRfS_M" {
        return None;
    }
    Some(Superblock {
        fstype: FsType::Btrfs,
        uuid: nonzero(bytes16(head, SB + 32)?),
        label: label(head, SB + 299, 256),
    })
}

fn probe_erofs(head: &[u8]) -> Option<Superblock<'_>> {
    const SB: usize = 1024;
    if le32(head, SB) != 0xE0F5_E1E2 {
        return None;
    }
    Some(Superblock {
        fstype: FsType::Erofs,
        uuid: nonzero(bytes16(head, SB + 48)?),
        label: label(head, SB + 64, 16),
    })
}

fn probe_iso9660(head: &[u8]) -> Option<Superblock<'_>> {
    // The primary volume descriptor: sector 16 of 2048 bytes, type 1,
    // "CD001"; its volume identifier (32 bytes, space-padded) is blkid's
    // LABEL. Its UUID (blkid's, from the creation date) is not read.
    const PVD: usize = 16 * 2048;
    (head.get(PVD..PVD + 6)? == b"\x01CD001").then(|| Superblock {
        fstype: FsType::Iso9660,
        uuid: None,
        label: label(head, PVD + 40, 32),
    })
}

fn probe_squashfs(head: &[u8]) -> Option<Superblock<'_>> {
    // Version 4 ("hsqs", little-endian); squashfs has no UUID or label.
    (head.get(0..4)? == b"hsqs" && le16(head, 28) == 4).then_some(Superblock {
        fstype: FsType::Squashfs,
        uuid: None,
        label: &[],
    })
}

fn probe_vfat(head: &[u8]) -> Option<Superblock<'_>> {
    // A FAT boot sector: a jump, a power-of-two sector size, the 55 AA
    // signature, and a FAT name at the place of its kind.
    let jump = matches!(head.first(), Some(0xEB | 0xE9));
    let sector = le16(head, 11);
    if !jump
        || !sector.is_power_of_two()
        || !(512..=4096).contains(&sector)
        || le16(head, 510) != 0xAA55
    {
        return None;
    }
    let (serial_at, label_at) = if head.get(82..87)? == b"FAT32" {
        (67, 71)
    } else if head.get(54..57)? == b"FAT" {
        (39, 43)
    } else {
        return None;
    };
    let label = label(head, label_at, 11);
    let label = if label == b"NO NAME" { &[][..] } else { label };
    Some(Superblock {
        fstype: FsType::Vfat,
        uuid: Some(Uuid::Fat(le32(head, serial_at))),
        label,
    })
}

/// One partition of a table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Partition<'a> {
    /// 1-based, as in `/dev/vda1`.
    pub number: u32,
    /// First sector and number of sectors (of the table's sector size).
    pub start: u64,
    pub sectors: u64,
    /// `PARTUUID`.
    pub uuid: Uuid,
    /// `PARTLABEL`, as UTF-16LE bytes (GPT only; empty otherwise).
    pub name_utf16: &'a [u8],
}

impl Partition<'_> {
    /// Whether `text` (from `root=PARTLABEL=...`) is this partition's name;
    /// GPT names are UTF-16, compared here for ASCII text.
    pub fn name_is(&self, text: &[u8]) -> bool {
        let units = self
            .name_utf16
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]));
        let name = units.take_while(|&u| u != 0);
        !text.is_empty() && name.eq(text.iter().map(|&b| b as u16))
    }
}

/// Reads the disk at a byte offset into the whole buffer; false if it
/// cannot. The extended boot records of an MBR disk's logical partitions lie
/// anywhere on it, most often beyond [`PROBE_LEN`].
pub type ReadAt<'r> = dyn FnMut(u64, &mut [u8; 512]) -> bool + 'r;

/// The partition table of a disk, given its first bytes and sector size:
/// calls `f` for each partition in table order. Returns false when there is
/// no table (or an MBR that only protects a GPT out of reach).
///
/// An MBR's logical partitions are numbered from 5 in the order of their
/// extended boot records, as the kernel numbers them (`parse_extended()` of
/// `block/partitions/msdos.c`): `read` fetches each record, one sector, and
/// none is read for partitions numbered above `last`.
pub fn partitions<'a>(
    head: &'a [u8],
    sector: usize,
    read: &mut ReadAt<'_>,
    last: u32,
    f: &mut dyn FnMut(Partition<'a>),
) -> bool {
    if le16(head, 510) != 0xAA55 {
        return false;
    }
    let entries = || (0..4).map(|i| 446 + 16 * i);
    let protective = entries().any(|e| head.get(e + 4) == Some(&0xEE));
    if protective {
        return gpt(head, sector, f);
    }
    // A FAT boot sector also ends in 55 AA: a partition table has only
    // 0x00/0x80 status bytes and at least one entry.
    let valid = entries().all(|e| matches!(head.get(e), Some(0x00 | 0x80)));
    if !valid || probe_vfat(head).is_some() {
        return false;
    }
    let disk = le32(head, 440);
    let mut any = false;
    let mut next = 5;
    let mut ebr = [0u8; 512];
    for i in 0..4 {
        let Some((first, size, extended)) = mbr_entry(head, 446 + 16 * i) else {
            continue;
        };
        any = true;
        if !extended {
            mbr_partition(f, disk, i as u32 + 1, first, size);
            continue;
        }
        // The extended container itself is no partition to mount; its
        // logical partitions, as `parse_extended()` finds them: in each
        // extended boot record every non-extended entry is a partition
        // (the third and fourth only inside the record's extent), relative
        // to that record; the first extended entry links to the next
        // record, relative to the extended partition. Sector arithmetic
        // wraps, as the kernel's `sector_t` does. The kernel gives up after
        // 100 records without a partition.
        let (mut this, mut this_size, mut barren) = (first, size, 0);
        while barren < 100
            && next <= last
            && read(this.wrapping_mul(sector as u64), &mut ebr)
            && le16(&ebr, 510) == 0xAA55
        {
            barren += 1;
            let mut link = None;
            for j in 0..4 {
                let Some((offs, sectors, extended)) = mbr_entry(&ebr, 446 + 16 * j) else {
                    continue;
                };
                let start = this.wrapping_add(offs);
                if extended {
                    link = link.or(Some((offs, sectors)));
                } else if next <= last
                    && (j < 2
                        || offs.wrapping_add(sectors) <= this_size
                            && start >= first
                            && start.wrapping_add(sectors) <= first.wrapping_add(size))
                {
                    mbr_partition(f, disk, next, start, sectors);
                    next += 1;
                    barren = 0;
                }
            }
            let Some((offs, sectors)) = link else {
                break;
            };
            (this, this_size) = (first.wrapping_add(offs), sectors);
        }
    }
    any
}

/// The MBR entry at `at` of `table`: its start, its size, and whether it
/// is an extended partition (DOS, Windows or Linux); `None` for an empty one.
fn mbr_entry(table: &[u8], at: usize) -> Option<(u64, u64, bool)> {
    let kind = *table.get(at + 4)?;
    let (start, sectors) = (le32(table, at + 8) as u64, le32(table, at + 12) as u64);
    (kind != 0 && sectors != 0).then_some((start, sectors, matches!(kind, 0x05 | 0x0f | 0x85)))
}

/// Hand MBR partition `number` to `f` (one call site for primary and
/// logical partitions).
#[inline(never)]
fn mbr_partition<'a>(
    f: &mut dyn FnMut(Partition<'a>),
    disk: u32,
    number: u32,
    start: u64,
    sectors: u64,
) {
    f(Partition {
        number,
        start,
        sectors,
        uuid: Uuid::Mbr(disk, number as u8),
        name_utf16: &[],
    })
}

fn gpt<'a>(head: &'a [u8], sector: usize, f: &mut dyn FnMut(Partition<'a>)) -> bool {
    let Some(hdr) = head.get(sector..sector + 92) else {
        return false;
    };
    if hdr.get(0..8) != Some(&b"EFI PART"[..]) {
        return false;
    }
    let (entries_lba, count, size) = (
        le64(hdr, 72),
        le32(hdr, 80) as usize,
        le32(hdr, 84) as usize,
    );
    if size < 128 || count > 4096 {
        return false;
    }
    let Some(base) = (entries_lba as usize).checked_mul(sector) else {
        return false;
    };
    for i in 0..count {
        let Some(e) = base
            .checked_add(i * size)
            .and_then(|at| head.get(at..at + 128))
        else {
            break;
        };
        let Some(unique) = bytes16(e, 16) else { break };
        if e.get(0..16).is_some_and(|t| t.iter().all(|&b| b == 0)) {
            continue; // unused entry
        }
        let (first, last) = (le64(e, 32), le64(e, 40));
        if last < first {
            continue; // a bogus entry: ends before it starts
        }
        f(Partition {
            number: i as u32 + 1,
            start: first,
            sectors: (last - first).saturating_add(1),
            uuid: Uuid::Guid(unique),
            name_utf16: e.get(56..128).unwrap_or(&[]),
        });
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(u: Uuid) -> std::string::String {
        let mut buf = [0u8; 36];
        let n = u.format(&mut buf);
        std::string::String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    #[test]
    fn uuid_forms() {
        let b: [u8; 16] = core::array::from_fn(|i| i as u8 * 0x11);
        assert_eq!(text(Uuid::Bytes(b)), "00112233-4455-6677-8899-aabbccddeeff");
        assert_eq!(text(Uuid::Guid(b)), "33221100-5544-7766-8899-aabbccddeeff");
        assert_eq!(text(Uuid::Fat(0x1234_abcd)), "1234-ABCD");
        assert_eq!(text(Uuid::Mbr(0x1234_abcd, 1)), "1234abcd-01");
        assert!(Uuid::Fat(0x1234_abcd).matches(b"1234-abcd"));
        // mdadm's spelling of an array's UUID.
        let md = Uuid::Bytes(b);
        assert!(md.matches(b"00112233:44556677:8899AABB:CCDDEEFF"));
        assert!(!md.matches(b"00112233:44556677:8899AABB:CCDDEEF"));
        assert!(!md.matches(b"00112233-4455-6677-8899-aabbccddeeff0"));
        assert!(!md.matches(b""));
    }

    /// md superblocks as mdadm lays them out (`super1.c`, `super0.c`):
    /// 1.2 at 4 KiB into the head, 1.0 and 0.90 at the end.
    #[test]
    fn md_superblocks() {
        let uuid: [u8; 16] = core::array::from_fn(|i| 0xa0 + i as u8);
        let mut v1 = [0u8; 4096];
        v1[0..4].copy_from_slice(&0xa92b_4efcu32.to_le_bytes());
        v1[4] = 1;
        v1[16..32].copy_from_slice(&uuid);
        v1[32..42].copy_from_slice(b"host:root0");
        let mut head = [0u8; 8192];
        head[4096..].copy_from_slice(&v1);
        let sb = probe(&head).unwrap();
        assert_eq!(sb.fstype, FsType::LinuxRaidMember);
        assert_eq!(sb.fstype.layer(), Some(Layer::Md));
        assert_eq!(text(sb.uuid.unwrap()), "a0a1a2a3-a4a5-a6a7-a8a9-aaabacadaeaf");
        assert_eq!(sb.label, b"host:root0");

        let mut v0 = [0u8; 4096];
        v0[0..4].copy_from_slice(&0xa92b_4efcu32.to_le_bytes());
        v0[20..24].copy_from_slice(&uuid[..4]);
        v0[52..64].copy_from_slice(&uuid[4..]);
        let sb = probe_md(&v0).unwrap();
        assert_eq!(text(sb.uuid.unwrap()), "a0a1a2a3-a4a5-a6a7-a8a9-aaabacadaeaf");
        assert_eq!(sb.label, b"");
        v0[4] = 2;
        assert_eq!(probe_md(&v0), None, "an unknown major version");

        // A 100 MiB + 10 KiB member: 1.0 at the last 4 KiB boundary 8 KiB
        // or more before the end; 0.90 64 KiB before the last 64 KiB one.
        let mib100 = 100 * 1024 * 1024;
        assert_eq!(
            md_tail_offsets(mib100 + 10 * 1024),
            [Some(mib100), Some(mib100 - 65536)]
        );
        assert_eq!(md_tail_offsets(4096), [None, None]);
    }

    #[test]
    fn luks_uuid_text() {
        let u = uuid_text(b"0F1E2D3C-4b5a-6978-8796-a5b4c3d2e1f0").unwrap();
        assert_eq!(text(Uuid::Bytes(u)), "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");
        for bad in [
            &b"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f"[..],
            b"0f1e2d3c+4b5a-6978-8796-a5b4c3d2e1f0",
            b"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1fg",
            b"",
        ] {
            assert_eq!(uuid_text(bad), None);
        }
    }
}
