//! Module names as kmod compares them: `-` and `_` are the same character.
//!
//! Names stored in the blob are already normalised to `_`; names that come from
//! outside (the command line, `modprobe.d`, a user) are compared through here.

use core::cmp::Ordering;

/// `-` reads as `_`; every other byte as itself.
pub fn normalise_byte(b: u8) -> u8 {
    if b == b'-' { b'_' } else { b }
}

/// Compare two names byte by byte after normalisation.
pub fn cmp(a: &[u8], b: &[u8]) -> Ordering {
    let a = a.iter().map(|&c| normalise_byte(c));
    let b = b.iter().map(|&c| normalise_byte(c));
    a.cmp(b)
}

/// Whether two names are the same module.
pub fn eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && cmp(a, b) == Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dash_and_underscore_are_equal() {
        assert!(eq(b"virtio-blk", b"virtio_blk"));
        assert!(!eq(b"virtio_blk", b"virtio_blk2"));
        assert_eq!(cmp(b"a-b", b"a_c"), Ordering::Less);
    }

    #[test]
    fn order_agrees_with_normalised_bytes() {
        // '-' (0x2d) sorts before '.' but '_' (0x5f) after letters: the order must
        // be that of the normalised names, which the blob's table uses.
        assert_eq!(cmp(b"a-z", b"aaz"), cmp(b"a_z", b"aaz"));
        assert_eq!(cmp(b"a_z", b"aaz"), Ordering::Less);
        assert_eq!(cmp(b"a-z", b"a_z"), Ordering::Equal);
    }
}
