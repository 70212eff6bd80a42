//! Device-mapper names of LVM's logical volumes, split as
//! `dmsetup splitname` splits them: LVM writes `/dev/mapper/VG-LV` with
//! every `-` inside a name doubled, so `my-vg/root` is `my--vg-root`, and
//! the first lone `-` separates the volume group from the volume.
//! Also the `root=` forms that name a volume group: `/dev/VG/LV` and
//! `/dev/mapper/VG-LV`. Pure and allocation-free.

/// The volume group and logical volume of a device-mapper name, each with
/// its doubled dashes made single, into `vg` and `lv`; `None` when the
/// name has no lone dash (not an LVM volume) or a part does not fit.
pub fn split<'v, 'l>(
    name: &[u8],
    vg: &'v mut [u8],
    lv: &'l mut [u8],
) -> Option<(&'v [u8], &'l [u8])> {
    let mut i = 0;
    let mut at = None;
    while i < name.len() {
        if name.get(i) == Some(&b'-') {
            if name.get(i + 1) == Some(&b'-') {
                i += 2;
                continue;
            }
            at = Some(i);
            break;
        }
        i += 1;
    }
    let at = at.filter(|&a| a > 0 && a + 1 < name.len())?;
    let vg = undouble(name.get(..at)?, vg)?;
    let lv = undouble(name.get(at + 1..)?, lv)?;
    Some((vg, lv))
}

/// `a--b` as `a-b`, into `out`.
fn undouble<'o>(s: &[u8], out: &'o mut [u8]) -> Option<&'o [u8]> {
    let mut n = 0;
    let mut i = 0;
    while let Some(&c) = s.get(i) {
        *out.get_mut(n)? = c;
        n += 1;
        i += if c == b'-' && s.get(i + 1) == Some(&b'-') { 2 } else { 1 };
    }
    out.get(..n)
}

/// The volume group a `root=` names: `/dev/VG/LV` or `/dev/mapper/VG-LV`;
/// into `buf`.
pub fn root_vg<'b>(root: &[u8], buf: &'b mut [u8]) -> Option<&'b [u8]> {
    let name = root.strip_prefix(b"/dev/")?;
    if let Some(dm) = name.strip_prefix(b"mapper/") {
        let mut lv = [0u8; 128];
        return split(dm, buf, &mut lv).map(|(vg, _)| vg);
    }
    let slash = name.iter().position(|&c| c == b'/')?;
    let (vg, lv) = (name.get(..slash)?, name.get(slash + 1..)?);
    // /dev/disk/..., /dev/md/... are no volume groups.
    if lv.is_empty() || lv.contains(&b'/') || matches!(vg, b"disk" | b"md" | b"mapper") {
        return None;
    }
    let out = buf.get_mut(..vg.len())?;
    out.copy_from_slice(vg);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(name: &str) -> Option<(String, String)> {
        let (mut vg, mut lv) = ([0u8; 64], [0u8; 64]);
        split(name.as_bytes(), &mut vg, &mut lv).map(|(v, l)| {
            (
                String::from_utf8(v.to_vec()).unwrap(),
                String::from_utf8(l.to_vec()).unwrap(),
            )
        })
    }

    /// As `dmsetup splitname NAME LVM` prints them.
    #[test]
    fn splits_as_dmsetup() {
        let p = |v: &str, l: &str| Some((v.to_string(), l.to_string()));
        assert_eq!(s("vg-root"), p("vg", "root"));
        assert_eq!(s("modboot--vg-root"), p("modboot-vg", "root"));
        assert_eq!(s("modboot--vg-swap_1"), p("modboot-vg", "swap_1"));
        assert_eq!(s("a--b--c-d--e"), p("a-b-c", "d-e"));
        assert_eq!(s("debian--vg-root"), p("debian-vg", "root"));
        for bad in ["cryptroot", "-root", "vg-", "vg--root", ""] {
            assert_eq!(s(bad), None, "{bad}");
        }
    }

    #[test]
    fn root_forms() {
        let vg = |r: &str| {
            let mut b = [0u8; 64];
            root_vg(r.as_bytes(), &mut b).map(|v| String::from_utf8(v.to_vec()).unwrap())
        };
        assert_eq!(vg("/dev/mapper/modboot--vg-root").as_deref(), Some("modboot-vg"));
        assert_eq!(vg("/dev/modboot-vg/root").as_deref(), Some("modboot-vg"));
        for none in ["/dev/mapper/cryptroot", "/dev/vda1", "/dev/md/root", "UUID=x", "/dev/disk/by-uuid/x"] {
            assert_eq!(vg(none), None, "{none}");
        }
    }
}
