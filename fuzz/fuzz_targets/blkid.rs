//! `blkid::probe` and `blkid::partitions` on arbitrary device heads: no
//! panic; what they return lies inside the input (labels, names), formats
//! to text that matches itself, and partitions have sectors; extended boot
//! records (read from the same bytes) never yield partitions past `last`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use modboot::blkid;

fuzz_target!(|data: &[u8]| {
    let inside = |s: &[u8]| s.is_empty() || data.as_ptr_range().contains(&s.as_ptr());
    if let Some(sb) = blkid::probe(data) {
        assert!(inside(sb.label));
        if let Some(u) = sb.uuid {
            let mut buf = [0u8; 36];
            let n = u.format(&mut buf);
            assert!(u.matches(&buf[..n]));
        }
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
