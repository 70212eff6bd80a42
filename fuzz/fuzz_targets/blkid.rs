//! `blkid::probe` and `blkid::partitions` on arbitrary device heads, and
//! the md superblock probe the init runs on a device's tail: no panic; what
//! they return lies inside the input (labels, names), formats to text that
//! matches itself, and partitions have sectors; a container is one a layer
//! opens; extended boot records (read from the same bytes) never yield
//! partitions past `last`; md's tail offsets lie inside the device.

#![no_main]

use libfuzzer_sys::fuzz_target;
use modboot::blkid;

fuzz_target!(|data: &[u8]| {
    let inside = |s: &[u8]| s.is_empty() || data.as_ptr_range().contains(&s.as_ptr());
    for sb in [blkid::probe(data), blkid::probe_md(data)].into_iter().flatten() {
        assert!(inside(sb.label));
        if let Some(u) = sb.uuid {
            let mut buf = [0u8; 36];
            let n = u.format(&mut buf);
            assert!(u.matches(&buf[..n]));
        }
        let container = matches!(
            sb.fstype,
            blkid::FsType::CryptoLuks | blkid::FsType::Lvm2Member | blkid::FsType::LinuxRaidMember
        );
        assert_eq!(container, sb.fstype.layer().is_some());
    }
    let size = data.len() as u64 * 4096;
    for at in blkid::md_tail_offsets(size).into_iter().flatten() {
        assert!(at + 4096 <= size, "md superblock at {at} past a {size}-byte device");
    }
    // Extended boot records read from the same bytes, as from a disk
    // that holds them (a chain may loop: the walk must end anyway).
    let mut read = |at: u64, buf: &mut [u8; 512]| {
        let at = at as usize;
        match data.get(at..at.saturating_add(512)) {
            Some(b) => {
                buf.copy_from_slice(b);
                true
            }
            None => false,
        }
    };
    for sector in [512, 4096] {
        blkid::partitions(data, sector, &mut read, 64, &mut |p| {
            assert!(inside(p.name_utf16));
            assert!(p.number >= 1);
            if let blkid::Uuid::Mbr(_, n) = p.uuid {
                assert!(p.number <= 64 && n as u32 == p.number, "MBR partition {}", p.number);
            }
            let mut buf = [0u8; 36];
            let n = p.uuid.format(&mut buf);
            assert!(p.uuid.matches(&buf[..n]));
        });
    }
});
