//! Module names as kmod compares them: `-` and `_` are the same character.
//!
//! Names stored in the blob are already normalised to `_`; names that come from
//! outside (the command line, `modprobe.d`, a user) are compared through here.
//! [`underscores`] is kmod's normalisation of names and alias keys: `-`
//! becomes `_` except inside a `[...]` bracket expression, and a stray `]` or
//! an unclosed `[` makes the name invalid.

use core::cmp::Ordering;

/// `-` reads as `_`; every other byte as itself.
pub fn normalise_byte(b: u8) -> u8 {
    if b == b'-' { b'_' } else { b }
}

/// Compare two names byte by byte after normalisation.
pub fn cmp(a: &[u8], b: &[u8]) -> Ordering {
    for (&x, &y) in a.iter().zip(b) {
        match normalise_byte(x).cmp(&normalise_byte(y)) {
            Ordering::Equal => {}
            other => return other,
        }
    }
    a.len().cmp(&b.len())
}

/// Whether two names are the same module.
pub fn eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && cmp(a, b) == Ordering::Equal
}

/// kmod's `underscores()`/`alias_normalize()`: the normalised bytes of `raw`,
/// or `None` if it has a `]` outside brackets or a `[` without its `]`.
pub fn underscores(raw: &[u8]) -> Option<impl Iterator<Item = u8> + '_> {
    let mut in_bracket = false;
    for &c in raw {
        match c {
            b'[' if !in_bracket => in_bracket = true,
            b']' if in_bracket => in_bracket = false,
            b']' => return None,
            _ => {}
        }
    }
    if in_bracket {
        return None;
    }
    let mut in_bracket = false;
    Some(raw.iter().map(move |&c| {
        match c {
            b'[' if !in_bracket => in_bracket = true,
            b']' => in_bracket = false,
            b'-' if !in_bracket => return b'_',
            _ => {}
        }
        c
    }))
}

/// Normalise `raw` into `out` (see [`underscores`]); `None` if it is invalid
/// or does not fit (`out` may then hold part of it).
pub fn underscores_into<'o>(raw: &[u8], out: &'o mut [u8]) -> Option<&'o [u8]> {
    let dst = out.get_mut(..raw.len())?;
    each_underscored(raw, |i, c| match dst.get_mut(i) {
        Some(d) => {
            *d = c;
            true
        }
        None => false,
    })
    .then_some(())?;
    out.get(..raw.len())
}

/// Hand each normalised byte of `raw` to `f` with its index, in one pass
/// (for a valid name, the bracket state that validates it is the one that
/// normalises it): whether `raw` is valid and `f` said yes to every byte.
fn each_underscored(raw: &[u8], mut f: impl FnMut(usize, u8) -> bool) -> bool {
    let mut in_bracket = false;
    for (i, &c) in raw.iter().enumerate() {
        match c {
            b'[' if !in_bracket => in_bracket = true,
            b']' if in_bracket => in_bracket = false,
            b']' => return false,
            _ => {}
        }
        if !f(i, if c == b'-' && !in_bracket { b'_' } else { c }) {
            return false;
        }
    }
    !in_bracket
}

/// Whether `raw`, normalised as kmod does, is exactly `name`.
pub fn underscored_eq(raw: &[u8], name: &[u8]) -> bool {
    raw.len() == name.len() && each_underscored(raw, |i, c| name.get(i) == Some(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kmod_underscores() {
        let norm =
            |s: &str| underscores(s.as_bytes()).map(|i| String::from_utf8(i.collect()).unwrap());
        assert_eq!(norm("crc32c-intel").as_deref(), Some("crc32c_intel"));
        assert_eq!(
            norm("pci:v*d[0-9-]x-y").as_deref(),
            Some("pci:v*d[0-9-]x_y")
        );
        assert_eq!(norm("a]b"), None);
        assert_eq!(norm("a[b-c"), None);
        assert_eq!(norm("[").as_deref(), None);
        assert_eq!(
            norm("[]]"),
            None,
            "the first ] closes the bracket (strcspn), the second is stray"
        );
        let mut buf = [0u8; 8];
        assert_eq!(underscores_into(b"a-b", &mut buf), Some(&b"a_b"[..]));
        assert_eq!(underscores_into(b"toolong-name", &mut buf), None);
        assert!(underscored_eq(b"m-8", b"m_8"));
        assert!(!underscored_eq(b"m-8", b"m-8"));
    }

    #[test]
    fn into_agrees_with_underscores() {
        // Every string of up to 6 bytes over `[`, `]`, `-`, `a`.
        let alphabet = b"[]-a";
        for len in 0..=6u32 {
            for n in 0..4usize.pow(len) {
                let raw: Vec<u8> = (0..len).map(|i| alphabet[n / 4usize.pow(i) % 4]).collect();
                let mut buf = [0u8; 8];
                let want = underscores(&raw).map(|i| i.collect::<Vec<u8>>());
                let got = underscores_into(&raw, &mut buf).map(<[u8]>::to_vec);
                assert_eq!(got, want, "{:?}", String::from_utf8_lossy(&raw));
                for name in [want.as_deref().unwrap_or(b"x"), &raw[..]] {
                    let eq = want.as_deref() == Some(name);
                    assert_eq!(underscored_eq(&raw, name), eq);
                }
            }
        }
    }

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
