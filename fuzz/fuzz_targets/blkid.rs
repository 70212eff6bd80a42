//! `blkid::probe` and `blkid::partitions` on arbitrary device heads: no
//! panic; what they return lies inside the input (labels, names), formats
//! to text that matches itself, and partitions have sectors.

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
    for sector in [512, 4096] {
        blkid::partitions(data, sector, &mut |p| {
            assert!(inside(p.name_utf16));
            assert!(p.number >= 1);
            let mut buf = [0u8; 36];
            let n = p.uuid.format(&mut buf);
            assert!(p.uuid.matches(&buf[..n]));
        });
    }
});
