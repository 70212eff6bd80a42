//! Which filesystem types to try when mounting the root.
//!
//! `rootfstype=` gives a comma-separated list; without it every block
//! filesystem the kernel knows is tried, as the kernel's own root mount does:
//! the lines of `/proc/filesystems` not marked `nodev`.

/// The types to try, in order. `types` is `rootfstype=`'s value when
/// `from_cmdline`, else the text of `/proc/filesystems`.
pub fn candidates(types: &[u8], from_cmdline: bool) -> impl Iterator<Item = &[u8]> {
    let sep = if from_cmdline { b',' } else { b'\n' };
    crate::split_at_byte(types, sep).filter_map(move |item| {
        if from_cmdline {
            return (!item.is_empty()).then_some(item);
        }
        // "nodev\tproc" or "\text4"
        let (flag, name) = match item.iter().position(|&c| c == b'\t') {
            Some(i) => (
                item.get(..i).unwrap_or(&[]),
                item.get(i + 1..).unwrap_or(&[]),
            ),
            None => (&[][..], item),
        };
        (flag.is_empty() && !name.is_empty()).then_some(name)
    })
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::candidates;
    use std::vec::Vec;

    #[test]
    fn from_proc_filesystems() {
        let text = b"nodev\tsysfs\nnodev\ttmpfs\n\text3\n\text2\n\text4\nnodev\tbpf\n\tvfat\n";
        let got: Vec<&[u8]> = candidates(text, false).collect();
        assert_eq!(got, [&b"ext3"[..], b"ext2", b"ext4", b"vfat"]);
        assert_eq!(candidates(b"", false).count(), 0);
    }

    #[test]
    fn from_rootfstype() {
        let got: Vec<&[u8]> = candidates(b"xfs,,ext4", true).collect();
        assert_eq!(got, [&b"xfs"[..], b"ext4"]);
        assert_eq!(candidates(b"", true).count(), 0);
    }
}
