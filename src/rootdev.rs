//! `root=`: which block device holds the real root, in the forms the kernel
//! (`name_to_dev_t`) and util-linux accept:
//!
//! ```text
//! root=/dev/vda2                      a device node name
//! root=UUID=… LABEL=…                 the filesystem's, from its superblock
//! root=PARTUUID=… PARTLABEL=…         the partition's, from the GPT (or MBR
//!                                     SSSSSSSS-PP) of its disk
//! root=259:3                          the device number, MAJ:MIN
//! root=/dev/disk/by-uuid/… (by-label, by-partuuid, by-partlabel)
//!                                     udev's names, read as the forms above
//! ```
//!
//! Pure: the init hands in what it read from sysfs and the device itself
//! ([`crate::blkid`]), and asks whether it is the one.

use crate::blkid::{Partition, Superblock};

/// A parsed `root=` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RootDev<'a> {
    /// `/dev/NAME`: the name under `/dev` (may contain `/`).
    Name(&'a [u8]),
    Uuid(&'a [u8]),
    Label(&'a [u8]),
    PartUuid(&'a [u8]),
    PartLabel(&'a [u8]),
    /// `MAJ:MIN`.
    Devno(u32, u32),
}

impl<'a> RootDev<'a> {
    /// `None` for a form modboot does not know (the boot says so and stops).
    pub fn parse(s: &'a [u8]) -> Option<Self> {
        let tagged: [(&[u8], fn(&'a [u8]) -> Self); 8] = [
            (b"UUID=", RootDev::Uuid),
            (b"LABEL=", RootDev::Label),
            (b"PARTUUID=", RootDev::PartUuid),
            (b"PARTLABEL=", RootDev::PartLabel),
            (b"/dev/disk/by-uuid/", RootDev::Uuid),
            (b"/dev/disk/by-label/", RootDev::Label),
            (b"/dev/disk/by-partuuid/", RootDev::PartUuid),
            (b"/dev/disk/by-partlabel/", RootDev::PartLabel),
        ];
        for (prefix, make) in tagged {
            if let Some(v) = s.strip_prefix(prefix) {
                return (!v.is_empty()).then(|| make(v));
            }
        }
        if let Some(name) = s.strip_prefix(b"/dev/") {
            return (!name.is_empty()).then_some(RootDev::Name(name));
        }
        let colon = s.iter().position(|&b| b == b':')?;
        let (major, minor) = s.split_at(colon);
        Some(RootDev::Devno(decimal(major)?, decimal(minor.get(1..)?)?))
    }

    /// Whether finding it needs the device's partition table.
    pub fn by_partition(&self) -> bool {
        matches!(self, RootDev::PartUuid(_) | RootDev::PartLabel(_))
    }

    /// Whether finding it needs the device's superblock.
    pub fn by_filesystem(&self) -> bool {
        matches!(self, RootDev::Uuid(_) | RootDev::Label(_))
    }

    /// Whether a device with this node name and number is it, as far as the
    /// name and number tell.
    pub fn is_device(&self, devname: &[u8], devno: Option<(u32, u32)>) -> bool {
        match *self {
            RootDev::Name(n) => n == devname,
            RootDev::Devno(major, minor) => devno == Some((major, minor)),
            _ => false,
        }
    }

    /// Whether the filesystem with this superblock is it.
    pub fn is_filesystem(&self, sb: &Superblock<'_>) -> bool {
        match *self {
            RootDev::Uuid(u) => sb.uuid.is_some_and(|id| id.matches(u)),
            RootDev::Label(l) => sb.label == l,
            _ => false,
        }
    }

    /// Whether this partition (from its disk's table) is it.
    pub fn is_partition(&self, p: &Partition<'_>) -> bool {
        match *self {
            RootDev::PartUuid(u) => p.uuid.matches(u),
            RootDev::PartLabel(l) => p.name_is(l),
            _ => false,
        }
    }
}

/// A decimal number of at most 9 digits.
fn decimal(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 9 {
        return None;
    }
    s.iter().try_fold(0u32, |n, &c| {
        c.is_ascii_digit().then(|| n * 10 + (c - b'0') as u32)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blkid::{FsType, Uuid};

    #[test]
    fn parses_every_form() {
        let p = |s: &'static str| RootDev::parse(s.as_bytes());
        assert_eq!(p("/dev/vda2"), Some(RootDev::Name(b"vda2")));
        assert_eq!(p("/dev/mapper/root"), Some(RootDev::Name(b"mapper/root")));
        assert_eq!(p("UUID=abc"), Some(RootDev::Uuid(b"abc")));
        assert_eq!(p("LABEL=my root"), Some(RootDev::Label(b"my root")));
        assert_eq!(
            p("PARTUUID=1234abcd-02"),
            Some(RootDev::PartUuid(b"1234abcd-02"))
        );
        assert_eq!(p("PARTLABEL=root"), Some(RootDev::PartLabel(b"root")));
        assert_eq!(p("/dev/disk/by-uuid/abc"), Some(RootDev::Uuid(b"abc")));
        assert_eq!(
            p("/dev/disk/by-partlabel/r"),
            Some(RootDev::PartLabel(b"r"))
        );
        assert_eq!(p("259:3"), Some(RootDev::Devno(259, 3)));
        for bad in [
            "",
            "UUID=",
            "/dev/",
            "vda",
            "8:",
            ":1",
            "8:1x",
            "1234567890:1",
            "nfs",
        ] {
            assert_eq!(p(bad), None, "{bad}");
        }
    }

    #[test]
    fn matches_devices_filesystems_and_partitions() {
        let name = RootDev::parse(b"/dev/vda").unwrap();
        assert!(name.is_device(b"vda", Some((254, 0))));
        assert!(!name.is_device(b"vda1", Some((254, 1))));
        let devno = RootDev::parse(b"254:1").unwrap();
        assert!(devno.is_device(b"vda1", Some((254, 1))));
        assert!(!devno.is_device(b"vda1", None));

        let mut id = [0u8; 16];
        id[0] = 0xAB;
        let sb = Superblock {
            fstype: FsType::Ext4,
            uuid: Some(Uuid::Bytes(id)),
            label: b"root",
        };
        let uuid = RootDev::parse(b"UUID=AB000000-0000-0000-0000-000000000000").unwrap();
        assert!(uuid.by_filesystem() && !uuid.by_partition());
        assert!(uuid.is_filesystem(&sb));
        assert!(RootDev::parse(b"LABEL=root").unwrap().is_filesystem(&sb));
        assert!(!RootDev::parse(b"LABEL=roo").unwrap().is_filesystem(&sb));
        assert!(!name.is_filesystem(&sb));

        let part = Partition {
            number: 2,
            start: 2048,
            sectors: 100,
            uuid: Uuid::Mbr(0x1234abcd, 2),
            name_utf16: b"r\0o\0o\0t\0\0\0",
        };
        assert!(
            RootDev::parse(b"PARTUUID=1234ABCD-02")
                .unwrap()
                .is_partition(&part)
        );
        assert!(
            RootDev::parse(b"PARTLABEL=root")
                .unwrap()
                .is_partition(&part)
        );
        assert!(
            !RootDev::parse(b"PARTLABEL=roo")
                .unwrap()
                .is_partition(&part)
        );
    }
}
