//! Glob matching of module aliases, exactly as kmod does it.
//!
//! kmod looks a modalias up in `modules.alias` with
//! `fnmatch(pattern, modalias, 0)`; [`matches()`] gives the answer glibc's
//! `fnmatch(3)` gives with flags 0 (no `FNM_PATHNAME`, `FNM_PERIOD`,
//! `FNM_NOESCAPE` or `FNM_CASEFOLD`) in the C locale, which is where modprobe
//! runs. Pure, `no_std`, allocation-free, no recursion, no panic on any input.
//!
//! The rules, as glibc 2.36 (`posix/fnmatch_loop.c`) applies them:
//!
//! - `*` matches any run of bytes, `/` and a leading `.` included; `?` any
//!   one byte; `\x` the byte `x`; a trailing lone `\` matches nothing, not
//!   even a `\`. Any other byte matches itself; bytes are bytes (0x80 and up
//!   compare as plain values). Pattern and text end at their first NUL byte,
//!   as C strings do.
//! - `[...]` matches one byte from a set; `!` or `^` first negates it; `]`
//!   first (after any `!`/`^`) is a member; `a-z` is a range of byte values;
//!   `-` first or last is a member; `\x` is the member `x`, also as a range
//!   end. `[:alpha:]`, `[:digit:]`, `[:xdigit:]`, `[:upper:]`, `[:lower:]`,
//!   `[:alnum:]`, `[:space:]`, `[:punct:]`, `[:blank:]`, `[:cntrl:]`,
//!   `[:graph:]`, `[:print:]` are the C locale's classes (ASCII only);
//!   `[=x=]` and `[.x.]` stand for `x` (the C locale has no collation
//!   elements).
//! - A `[` whose set never ends is a plain `[`.
//!
//! glibc parses a set while it matches, and stops parsing at the first member
//! that matches the byte; the rest is skipped by a simpler scan. So a
//! malformed set can match some bytes and reject others, and this module
//! follows it scan for scan (`scan_set` and `skip_set` below). The quirks
//! that follow, all checked against glibc by the tests:
//!
//! - An unknown class name (`[[:foo:]]`), a class name of 2048 bytes or more,
//!   a `[.` without its `.]` or with other than one byte in it, a range with
//!   no end (`[a-`) and a `\` at the end of an unterminated set make the set
//!   match nothing, where an unterminated set would otherwise be a plain `[`.
//!   But only if the scan reaches them: `[a[:foo:]]` still matches `a`.
//! - The other way round, the skipping scan rejects a malformed `[=` that
//!   the matching scan reads as a plain `[`: `[[=a]` matches `=` but
//!   `[a[=ab]` does not match `a`.
//! - `[[.a.]-]` does not match `a`: a `-` after a collating symbol reads as a
//!   range even before `]`, and then the range is dropped.
//! - `^` negates only while `POSIXLY_CORRECT` is unset in the environment,
//!   as it is for modprobe on any ordinary system; aliases do not use it.
//!
//! Work: no recursion. A `*` is retried one text byte further at a time from
//! the last `*` only (the classic single-star backtracking, which is what
//! glibc's own `ends` bookkeeping amounts to), so at most
//! `len(text) * len(pattern)` element tests; one element test reads at most
//! the rest of the pattern, which only a run of unterminated `[` makes
//! matter.

/// glibc's `CHARCLASS_NAME_MAX`: a class name this long makes the set invalid.
const CLASS_NAME_MAX: usize = 2048;

/// Whether `text` matches `pattern` as fnmatch(3) with flags 0 would say.
pub fn matches(pattern: &[u8], text: &[u8]) -> bool {
    let pat = Pattern(until_nul(pattern));
    let text = until_nul(text);
    let (mut p, mut t) = (0, 0);
    // After the last `*`: where the pattern resumes, and the text index the
    // part after it was last tried at.
    let mut star: Option<(usize, usize)> = None;
    loop {
        if pat.at(p) == b'*' {
            p += 1;
            star = Some((p, t));
            continue;
        }
        if p == pat.0.len() && t == text.len() {
            return true;
        }
        match (text.get(t).and_then(|&b| element(pat, p, b)), star) {
            (Some(next), _) => {
                p = next;
                t += 1;
            }
            (None, Some((resume, tried))) if tried < text.len() => {
                star = Some((resume, tried + 1));
                p = resume;
                t = tried + 1;
            }
            _ => return false,
        }
    }
}

/// The literal prefix of `pattern`: bytes before its first special character (`*`, `?`, `[`, `\`).
///
/// Every text that [`matches()`] the pattern starts with it. A NUL byte ends
/// the pattern, as in [`matches()`].
pub fn literal_prefix(pattern: &[u8]) -> &[u8] {
    let pattern = until_nul(pattern);
    let end = pattern
        .iter()
        .position(|c| matches!(c, b'*' | b'?' | b'[' | b'\\'))
        .unwrap_or(pattern.len());
    pattern.get(..end).unwrap_or(pattern)
}

/// Whether the literal start of `pattern` (its bytes before the first
/// special character or NUL) already differs from `text`: then [`matches()`]
/// is false. Reads no further than the first difference, so a table of
/// patterns can be scanned without measuring each one.
#[inline(never)]
pub fn excludes(pattern: &[u8], text: &[u8]) -> bool {
    for (i, &c) in pattern.iter().enumerate() {
        if matches!(c, 0 | b'*' | b'?' | b'[' | b'\\') {
            return false;
        }
        // A NUL in `text` ends it, as in `matches()`: no literal byte matches it.
        if text.get(i) != Some(&c) {
            return true;
        }
    }
    false
}

/// Whether `pattern` contains any special character (is not a plain string).
///
/// When it does not, [`matches()`] is plain equality with `pattern` (up to a
/// NUL byte).
pub fn is_pattern(pattern: &[u8]) -> bool {
    literal_prefix(pattern).len() < until_nul(pattern).len()
}

/// `s` up to its first NUL byte, as C sees it.
fn until_nul(s: &[u8]) -> &[u8] {
    let end = s.iter().position(|&c| c == 0).unwrap_or(s.len());
    s.get(..end).unwrap_or(s)
}

/// A pattern read as glibc reads it: 0 at and past its end.
#[derive(Clone, Copy)]
struct Pattern<'a>(&'a [u8]);

impl Pattern<'_> {
    fn at(self, i: usize) -> u8 {
        self.0.get(i).copied().unwrap_or(0)
    }
}

/// Whether the element at `p` (not a `*`) matches `byte`; if so, where the
/// next element starts.
fn element(pat: Pattern, p: usize, byte: u8) -> Option<usize> {
    match pat.at(p) {
        0 => None,
        b'?' => Some(p + 1),
        // A trailing `\` escapes the terminating NUL, which no byte matches.
        b'\\' => (pat.at(p + 1) == byte && byte != 0).then_some(p + 2),
        b'[' => bracket(pat, p + 1, byte),
        c => (c == byte).then_some(p + 1),
    }
}

/// The set that starts at `start` (just after its `[`) against `byte`.
fn bracket(pat: Pattern, start: usize, byte: u8) -> Option<usize> {
    let negated = matches!(pat.at(start), b'!' | b'^');
    let first = if negated { start + 1 } else { start };
    let set = match scan_set(pat, first, byte) {
        Set::Member(after) => skip_set(pat, after),
        other => other,
    };
    match set {
        Set::Member(end) => (!negated).then_some(end),
        Set::NotMember(end) => negated.then_some(end),
        // glibc >= 2.35 (bug 28792): rescan with the `[` as a plain byte.
        Set::Unterminated => (byte == b'[').then_some(start),
        Set::Invalid => None,
    }
}

/// What a set says about a byte.
enum Set {
    /// The byte is a member; the set continues (or, from [`skip_set`], ends
    /// just before) this index.
    Member(usize),
    /// The byte is not a member; the set ends just before this index.
    NotMember(usize),
    /// The pattern ended inside the set.
    Unterminated,
    /// The set is malformed where it was read: no byte matches.
    Invalid,
}

/// glibc's scan of a set's members (from `first`, after any `!`/`^`) until
/// one matches `byte` or the closing `]`.
///
/// As in glibc, `c` is the byte being looked at and `p` the index after it.
fn scan_set(pat: Pattern, first: usize, byte: u8) -> Set {
    let mut c = pat.at(first);
    let mut p = first + 1;
    loop {
        // A one-byte member, which a `-` may turn into a range start: its
        // value, the index after it, and whether a following `-` is a range.
        let single;
        if c == b'\\' {
            if pat.at(p) == 0 {
                return Set::Invalid;
            }
            single = Some(plain(pat, pat.at(p), p + 1));
        } else if c == b'[' && pat.at(p) == b':' {
            match class_name(pat, p) {
                ClassName::Name(name, after) => match class_contains(name, byte) {
                    None => return Set::Invalid,
                    Some(true) => return Set::Member(after),
                    Some(false) => {
                        (c, p) = (pat.at(after), after + 1);
                        single = None;
                    }
                },
                ClassName::NotAName => single = Some(plain(pat, b'[', p)),
                ClassName::TooLong => return Set::Invalid,
            }
        } else if c == b'[' && pat.at(p) == b'=' {
            match equivalence_class(pat, p) {
                Some((x, after)) if x == byte => return Set::Member(after),
                Some((_, after)) => {
                    (c, p) = (pat.at(after), after + 1);
                    single = None;
                }
                None => single = Some(plain(pat, b'[', p)),
            }
        } else if c == 0 {
            return Set::Unterminated;
        } else if c == b'[' && pat.at(p) == b'.' {
            let Some((x, after)) = collating_symbol(pat, p) else {
                return Set::Invalid;
            };
            // Unlike after a plain member, `-]` here also reads as a range.
            single = Some((x, after, pat.at(after) == b'-' && pat.at(after + 1) != 0));
        } else {
            single = Some(plain(pat, c, p));
        }
        if let Some((low, after, is_range)) = single {
            match range(pat, low, after, is_range, byte) {
                Ok(end) => return Set::Member(end),
                Err(None) => return Set::Invalid,
                Err(Some((next, after))) => (c, p) = (next, after),
            }
        }
        if c == b']' {
            return Set::NotMember(p);
        }
    }
}

/// A plain member `c` whose next byte is at `p`, as [`scan_set`] wants it.
fn plain(pat: Pattern, c: u8, p: usize) -> (u8, usize, bool) {
    let is_range = pat.at(p) == b'-' && pat.at(p + 1) != 0 && pat.at(p + 1) != b']';
    (c, p, is_range)
}

/// The member `low` (ending before `p`), alone or as the start of a range,
/// against `byte`: `Ok(end)` if it matches, `Err(None)` if the range is
/// malformed, else `Err(Some((c, p)))` with the next byte of the set and the
/// index after it.
fn range(
    pat: Pattern,
    low: u8,
    p: usize,
    is_range: bool,
    byte: u8,
) -> Result<usize, Option<(u8, usize)>> {
    if !is_range && low == byte {
        return Ok(p);
    }
    let (c, mut p) = (pat.at(p), p + 1);
    if c != b'-' || pat.at(p) == b']' {
        return Err(Some((c, p)));
    }
    let mut high = pat.at(p);
    p += 1;
    if high == b'[' && pat.at(p) == b'.' {
        (high, p) = collating_symbol(pat, p).ok_or(None)?;
    } else {
        if high == b'\\' {
            high = pat.at(p);
            p += 1;
        }
        if high == 0 {
            return Err(None);
        }
    }
    // The C locale collates by byte value.
    if (low..=high).contains(&byte) {
        return Ok(p);
    }
    Err(Some((pat.at(p), p + 1)))
}

/// How `[:` (the `:` at `p`) reads in [`scan_set`].
enum ClassName<'a> {
    /// `[:name:]`; the set continues at the index.
    Name(&'a [u8], usize),
    /// Not a class: the `[` is a plain member.
    NotAName,
    /// A name of [`CLASS_NAME_MAX`] bytes or more.
    TooLong,
}

fn class_name(pat: Pattern<'_>, p: usize) -> ClassName<'_> {
    let mut q = p;
    loop {
        if q - p == CLASS_NAME_MAX {
            return ClassName::TooLong;
        }
        q += 1;
        let c = pat.at(q);
        if c == b':' && pat.at(q + 1) == b']' {
            return ClassName::Name(pat.0.get(p + 1..q).unwrap_or(&[]), q + 2);
        }
        if !in_class_name(c) {
            return ClassName::NotAName;
        }
    }
}

/// Whether glibc reads `c` as part of a class name: its test is
/// `c < 'a' || c >= 'z'` for the end of one, so `z` is left out.
fn in_class_name(c: u8) -> bool {
    (b'a'..=b'y').contains(&c)
}

/// Whether `byte` is in the C locale's class `name`; `None` for an unknown
/// name (glibc's `wctype()` returns 0). Bytes 0x80 and up are in no class.
fn class_contains(name: &[u8], byte: u8) -> Option<bool> {
    const CLASSES: [&[u8]; 12] = [
        b"alnum", b"alpha", b"blank", b"cntrl", b"digit", b"graph", b"lower", b"print", b"punct",
        b"space", b"upper", b"xdigit",
    ];
    // A table and one lookup rather than a `match` on the names, which
    // compiles into a comparison per byte (see `cmdline::position`).
    Some(match crate::cmdline::position(&CLASSES, name)? {
        0 => byte.is_ascii_alphanumeric(),
        1 => byte.is_ascii_alphabetic(),
        2 => matches!(byte, b' ' | b'\t'),
        3 => byte.is_ascii_control(),
        4 => byte.is_ascii_digit(),
        5 => byte.is_ascii_graphic(),
        6 => byte.is_ascii_lowercase(),
        7 => byte.is_ascii_graphic() || byte == b' ',
        8 => byte.is_ascii_punctuation(),
        // C's isspace() also has \v, which is_ascii_whitespace() leaves out.
        9 => matches!(byte, b' ' | b'\t'..=b'\r'),
        10 => byte.is_ascii_uppercase(),
        _ => byte.is_ascii_hexdigit(),
    })
}

/// `[=x=]` (the first `=` at `p`): `x` and the index after the `]`, or `None`
/// if it is not one (then the `[` is a plain member).
fn equivalence_class(pat: Pattern, p: usize) -> Option<(u8, usize)> {
    let x = pat.at(p + 1);
    (x != 0 && pat.at(p + 2) == b'=' && pat.at(p + 3) == b']').then_some((x, p + 4))
}

/// `[.x.]` (the first `.` at `p`): `x` and the index after the `]`, or `None`
/// if it is unterminated or not one byte long, which makes the set invalid.
fn collating_symbol(pat: Pattern, p: usize) -> Option<(u8, usize)> {
    let mut q = p;
    loop {
        q += 1;
        let c = pat.at(q);
        if c == b'.' && pat.at(q + 1) == b']' {
            break;
        }
        if c == 0 {
            return None;
        }
    }
    (q == p + 2).then_some((pat.at(p + 1), q + 2))
}

/// glibc's scan past the rest of a set once a member matched: from `p` to the
/// closing `]` ([`Set::Member`] with the index after it). It reads `\`, `[:`,
/// `[=` and `[.` its own way, checking less than [`scan_set`] and failing on
/// other things.
fn skip_set(pat: Pattern, mut p: usize) -> Set {
    loop {
        let c = pat.at(p);
        p += 1;
        match c {
            b']' => return Set::Member(p),
            0 => return Set::Unterminated,
            b'\\' => {
                if pat.at(p) == 0 {
                    return Set::Invalid;
                }
                p += 1;
            }
            b'[' if pat.at(p) == b':' => {
                // Counts the bytes read, the closing `:` included.
                let mut q = p;
                loop {
                    q += 1;
                    if q - p == CLASS_NAME_MAX {
                        return Set::Invalid;
                    }
                    let c = pat.at(q);
                    if c == b':' && pat.at(q + 1) == b']' {
                        p = q + 2;
                        break;
                    }
                    if !in_class_name(c) {
                        // Not a class: go on from the `:`.
                        break;
                    }
                }
            }
            b'[' if pat.at(p) == b'=' => {
                // Unlike scan_set, a malformed `[=` is invalid here.
                let Some((_, after)) = equivalence_class(pat, p) else {
                    return Set::Invalid;
                };
                p = after;
            }
            b'[' if pat.at(p) == b'.' => {
                // Any length goes here; only a missing `.]` is invalid.
                let mut q = p;
                loop {
                    q += 1;
                    let c = pat.at(q);
                    if c == 0 {
                        return Set::Invalid;
                    }
                    if c == b'.' && pat.at(q + 1) == b']' {
                        break;
                    }
                }
                p = q + 2;
            }
            _ => {}
        }
    }
}

/// A string that `pattern` matches, written into `out`: `*` as nothing, `?`
/// as `x`, an escaped byte as itself, a bracket expression as the first
/// printable byte it accepts. `None` if `out` is too small or the result
/// would not match (a pattern that matches only unprintable bytes).
pub fn example_into<'o>(pattern: &[u8], out: &'o mut [u8]) -> Option<&'o [u8]> {
    let mut len = 0;
    let mut push = |c: u8, out: &mut [u8]| -> Option<()> {
        *out.get_mut(len)? = c;
        len += 1;
        Some(())
    };
    let mut i = 0;
    while let Some(&c) = pattern.get(i) {
        match c {
            b'*' => i += 1,
            b'?' => {
                push(b'x', out)?;
                i += 1;
            }
            b'\\' if i + 1 < pattern.len() => {
                push(*pattern.get(i + 1)?, out)?;
                i += 2;
            }
            b'[' => match bracket_end(pattern, i) {
                Some(end) => {
                    let set = pattern.get(i..=end)?;
                    push((0x21u8..0x7f).find(|&b| matches(set, &[b]))?, out)?;
                    i = end + 1;
                }
                None => {
                    push(b'[', out)?;
                    i += 1;
                }
            },
            _ => {
                push(c, out)?;
                i += 1;
            }
        }
    }
    let text = out.get(..len)?;
    matches(pattern, text).then_some(text)
}

/// Index of the `]` closing the bracket expression that starts at `start`:
/// after an optional `!` or `^` and a leading `]`, the first `]` that does
/// not close a `[:class:]`, `[.sym.]` or `[=equiv=]`.
fn bracket_end(p: &[u8], start: usize) -> Option<usize> {
    let mut j = start + 1;
    if matches!(p.get(j), Some(b'!' | b'^')) {
        j += 1;
    }
    if p.get(j) == Some(&b']') {
        j += 1;
    }
    while let Some(&c) = p.get(j) {
        if c == b']' {
            return Some(j);
        }
        if c == b'[' && matches!(p.get(j + 1), Some(b':' | b'.' | b'=')) {
            let close = *p.get(j + 1)?;
            j += 2;
            while !(p.get(j) == Some(&close) && p.get(j + 1) == Some(&b']')) {
                p.get(j)?;
                j += 1;
            }
            j += 2;
        } else {
            j += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::ffi::CString;
    use std::vec::Vec;

    /// glibc's own answer: `fnmatch(pattern, text, 0) == 0`.
    #[allow(unsafe_code)]
    fn glibc(pattern: &[u8], text: &[u8]) -> bool {
        let p = CString::new(pattern).expect("pattern without NUL");
        let t = CString::new(text).expect("text without NUL");
        // SAFETY: both are valid NUL-terminated strings that outlive the
        // call; fnmatch only reads them.
        let r = unsafe { libc::fnmatch(p.as_ptr(), t.as_ptr(), 0) };
        assert!(r == 0 || r == libc::FNM_NOMATCH, "fnmatch returned {r}");
        r == 0
    }

    /// `matches` says `want`, and so does glibc.
    #[track_caller]
    fn check(pattern: &[u8], text: &[u8], want: bool) {
        let (p, t) = (pattern.escape_ascii(), text.escape_ascii());
        assert_eq!(
            glibc(pattern, text),
            want,
            "glibc: fnmatch(\"{p}\", \"{t}\")"
        );
        assert_eq!(matches(pattern, text), want, "matches(\"{p}\", \"{t}\")");
        // The quick look never rules out a match.
        assert!(
            !(want && excludes(pattern, text)),
            "excludes(\"{p}\", \"{t}\") of a match"
        );
    }

    fn yes(pattern: &[u8], text: &[u8]) {
        check(pattern, text, true);
    }

    fn no(pattern: &[u8], text: &[u8]) {
        check(pattern, text, false);
    }

    #[test]
    fn excludes_reads_only_the_literal_start() {
        // Ruled out at the first differing literal byte.
        assert!(excludes(b"crypto-sha256", b"acpi:PNP0103:"));
        assert!(excludes(b"acpi:PNP0C0F:", b"acpi:PNP0103:"));
        assert!(excludes(b"pci:v00001AF4d*", b"pci:v00008086d00007000"));
        // A literal byte past the text's end, or against its NUL.
        assert!(excludes(b"abc", b"ab"));
        assert!(excludes(b"abc", b"ab\0c"));
        // Undecided at a special byte, at the pattern's NUL or its end:
        // matches() must look.
        for p in [
            &b"acpi*"[..],
            b"a?",
            b"a[b]",
            b"a\\b",
            b"acpi\0x",
            b"",
            b"acp",
        ] {
            assert!(!excludes(p, b"acpi:PNP0103:"), "{}", p.escape_ascii());
        }
        // Every table row of the other tests also checks that excludes()
        // never rules out a match (see `check`).
    }

    #[test]
    fn kmod_aliases() {
        let pci = b"pci:v00008086d00001234sv*sd*bc*sc*i*";
        yes(
            pci,
            b"pci:v00008086d00001234sv00001AF4sd00001100bc01sc00i00",
        );
        no(
            pci,
            b"pci:v00008086d00001235sv00001AF4sd00001100bc01sc00i00",
        );
        no(pci, b"pci:v00008086d00001234");
        yes(b"acpi*:PNP0A03:*", b"acpi:PNP0A03:");
        yes(b"acpi*:PNP0A03:*", b"acpi:PNP0A08:PNP0A03:");
        no(b"acpi*:PNP0A03:*", b"acpi:PNP0A08:");
        yes(b"virtio:d00000002v*", b"virtio:d00000002v00001AF4");
        yes(
            b"usb:v*p*d*dc*dsc*dp*ic03isc01ip01in*",
            b"usb:v046Dp0825d0010dc00dsc00dp00ic03isc01ip01in02",
        );
        yes(b"of:N*T*Cvirtio,mmio", b"of:NvirtioT(null)Cvirtio,mmio");
        no(b"platform:foo", b"platform:foobar");
    }

    #[test]
    fn star_and_question_mark() {
        yes(b"*", b"");
        yes(b"*", b"a/b/.c");
        yes(b"*c", b"a/b/.c");
        yes(b".*", b".hidden");
        yes(b"a*b*c", b"axxbyyc");
        no(b"a*b*c", b"axxbyy");
        yes(b"a*b", b"abbb");
        yes(b"?", b"/");
        yes(b"?", b"\x80");
        no(b"?", b"");
        no(b"??", b"a");
        yes(b"*?*?", b"ab");
        no(b"*??", b"a");
        yes(b"**a", b"ba");
        yes(b"", b"");
        no(b"", b"a");
    }

    #[test]
    fn bytes_are_bytes() {
        yes(b"\x80\xff", b"\x80\xff");
        no(b"\x80", b"\x81");
        yes(b"*t\xe9", b"\xc3\xa9t\xe9");
        no(b"*\xe9t\xe9", b"\xc3\xa9t\xe9");
        yes(b"[\x80-\xff]", b"\x90");
        no(b"[\x90-\xff]", b"\x80");
        yes(b"[\x80]", b"\x80");
        yes(b"[!a]", b"\xc3");
        no(b"[[:alpha:]]", b"\xe9");
    }

    #[test]
    fn backslash() {
        yes(b"\\*", b"*");
        no(b"\\*", b"a");
        yes(b"\\a", b"a");
        yes(b"\\\\", b"\\");
        yes(b"*\\?", b"why?");
        no(b"*\\?", b"why");
        // A trailing lone backslash matches nothing, not even itself.
        no(b"\\", b"\\");
        no(b"\\", b"");
        no(b"a\\", b"a\\");
        no(b"*\\", b"a\\");
    }

    #[test]
    fn sets_and_ranges() {
        yes(b"[abc]", b"b");
        no(b"[abc]", b"d");
        no(b"[abc]", b"");
        yes(b"[a-z]x", b"qx");
        no(b"[a-z]", b"A");
        yes(b"[0-9a-fA-F]", b"C");
        no(b"[z-a]", b"z");
        no(b"[z-a]", b"m");
        yes(b"[!a-c]", b"d");
        no(b"[!a-c]", b"b");
        yes(b"[^a-c]", b"d");
        no(b"[^a-c]", b"a");
        // `]` first is a member, also after `!`.
        yes(b"[]]", b"]");
        yes(b"[]a]", b"a");
        yes(b"[!]]", b"a");
        no(b"[!]]", b"]");
        yes(b"[]-a]", b"^"); // `]`..`a` is a range
        // `-` first or last is a member.
        yes(b"[-a]", b"-");
        yes(b"[a-]", b"-");
        yes(b"[!-]", b"a");
        no(b"[!-]", b"-");
        yes(b"[a-c-e]", b"-");
        // Backslash escapes inside a set, also as a range end.
        yes(b"[\\]]", b"]");
        yes(b"[\\!a]", b"!");
        yes(b"[a\\-z]", b"-");
        no(b"[a\\-z]", b"b");
        yes(b"[a-\\z]", b"m");
        yes(b"[\\\\]", b"\\");
        // `[` inside a set is a plain member unless it starts a class.
        yes(b"[[]", b"[");
        yes(b"[a[]", b"[");
        yes(b"[[:]", b":");
    }

    #[test]
    fn unterminated_set_is_a_plain_bracket() {
        yes(b"[", b"[");
        no(b"[", b"a");
        yes(b"[ab", b"[ab");
        no(b"[ab", b"a");
        yes(b"[[", b"[[");
        yes(b"[\\]", b"[]");
        yes(b"[[\\]", b"[[]");
        yes(b"a[!b", b"a[!b");
        yes(b"*[", b"x[");
        yes(b"[!", b"[!");
    }

    #[test]
    fn character_classes() {
        for (class, members, others) in [
            ("alpha", &b"azAZ"[..], &b"09_-\x80"[..]),
            ("digit", b"0259", b"a/:\xb2"),
            ("xdigit", b"09afAF", b"gG-"),
            ("upper", b"AMZ", b"amz0"),
            ("lower", b"amz", b"AMZ0"),
            ("alnum", b"a0Z9", b"_- "),
            ("space", b" \t\n\x0b\x0c\r", b"a\x85\xa0"),
            ("punct", b"!/:@[`{~", b"a0 \x7f"),
            ("blank", b" \t", b"\n\r"),
            ("cntrl", b"\x01\x1f\x7f", b" a\x80"),
            ("graph", b"!~a", b" \x7f"),
            ("print", b" !~a", b"\t\x7f"),
        ] {
            let set = std::format!("[[:{class}:]]");
            for &b in members {
                yes(set.as_bytes(), &[b]);
            }
            for &b in others {
                no(set.as_bytes(), &[b]);
            }
        }
        yes(b"[[:digit:]a]", b"a");
        yes(b"[![:digit:]]", b"a");
        no(b"[![:digit:]]", b"5");
        yes(b"[[:alpha:][:digit:]]*", b"0x");
        yes(b"[[:digit:]-]", b"-");
    }

    #[test]
    fn glibc_quirks() {
        // An unknown class makes the set match nothing; so does a class that
        // is reached in a set that turns out unterminated.
        no(b"[[:foo:]]", b"f");
        no(b"[[:foo:]]", b"[");
        no(b"[[:foo:]", b"[[:foo:]");
        // ... but only if glibc reaches it before a matching member.
        yes(b"[a[:foo:]]", b"a");
        no(b"[a[:foo:]]", b"b");
        // A class name with a `z` or a capital is no name: `[` is a member.
        yes(b"[[:fuzz:]]", b"[]");
        yes(b"[[:fuzz:]]", b"z]");
        yes(b"[[:Alpha:]]", b"A]");
        no(b"[[:Alpha:]]", b"b");
        // A range without an end is invalid, not an unterminated set.
        no(b"[a-", b"[a-");
        no(b"[a-", b"a");
        no(b"[a-\\", b"[a-\\");
        // A trailing backslash in an unterminated set.
        no(b"[\\", b"[\\");
        no(b"[a\\", b"[a\\");
        no(b"[a\\", b"a");
        // `[=x=]` and `[.x.]` are `x` in the C locale.
        yes(b"[[=a=]]", b"a");
        yes(b"[[.a.]]", b"a");
        yes(b"[[.-.]]", b"-");
        yes(b"[[.a.]-c]", b"b");
        yes(b"[a-[.c.]]", b"b");
        no(b"[[.ab.]]", b"a");
        no(b"[[.a.]-]", b"a");
        yes(b"[[.a.]-]", b"-");
        // A malformed `[=` is a plain `[` while scanning, invalid when skipped.
        yes(b"[[=a]", b"=");
        no(b"[a[=ab]", b"a");
        yes(b"[[=a]", b"[");
    }

    #[test]
    fn nul_ends_pattern_and_text() {
        assert!(matches(b"ab\0cd", b"ab"));
        assert!(matches(b"ab", b"ab\0cd"));
        assert!(matches(b"[a\0]", b"[a"));
        assert_eq!(literal_prefix(b"ab\0c*"), b"ab");
        assert!(!is_pattern(b"ab\0*"));
    }

    #[test]
    fn prefix_and_is_pattern() {
        assert_eq!(literal_prefix(b"pci:v00008086d*sv*"), b"pci:v00008086d");
        assert_eq!(literal_prefix(b"acpi*:PNP0A03:*"), b"acpi");
        assert_eq!(literal_prefix(b"virtio:d00000001v"), b"virtio:d00000001v");
        assert_eq!(literal_prefix(b"a?"), b"a");
        assert_eq!(literal_prefix(b"ab[c]"), b"ab");
        assert_eq!(literal_prefix(b"a\\*"), b"a");
        assert_eq!(literal_prefix(b"*"), b"");
        assert_eq!(literal_prefix(b""), b"");
        assert!(is_pattern(b"pci:v*"));
        assert!(is_pattern(b"a\\b"));
        assert!(is_pattern(b"["));
        assert!(!is_pattern(b"platform:virtio-mmio"));
        assert!(!is_pattern(b"a]!-^"));
        assert!(!is_pattern(b""));
    }

    #[test]
    fn hostile_patterns_finish() {
        // The backtracking case that is exponential for naive recursion.
        let mut pattern = b"*a".repeat(100);
        pattern.push(b'b');
        let text = [b'a'; 4000];
        assert!(!matches(&pattern, &text));
        // Many unterminated sets, each read to the end of the pattern.
        let pattern = [&b"*"[..], &[b'['; 300]].concat();
        assert!(matches(&pattern, &[b'['; 600]));
        assert!(!matches(&pattern, &[b'['; 299]));
        // Long class names, and stars only.
        let long = [&b"[[:"[..], &[b'a'; 5000], b":]]"].concat();
        assert!(!matches(&long, b"a"));
        assert!(matches(&[b'*'; 10000], b"anything"));
    }

    #[test]
    fn class_name_length_limit() {
        // glibc gives up on a name at CHARCLASS_NAME_MAX (2048) letters,
        // counted a little differently while matching and while skipping.
        for len in [2045, 2046, 2047, 2048, 2049] {
            let name = [b'a'].repeat(len);
            for (head, tail) in [
                ("[", ":]]"),
                ("[", "]"),
                ("[x", ":]]"),
                ("[x", "]"),
                ("[x", ""),
            ] {
                let pattern = [head.as_bytes(), b"[:", &name, tail.as_bytes()].concat();
                for text in [&b"x"[..], b"a", b"[", b"x]", b"a]"] {
                    check(&pattern, text, glibc(&pattern, text));
                }
            }
        }
    }

    /// xorshift64: deterministic, no crate.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        fn pick<T: Copy>(&mut self, from: &[T]) -> T {
            from[self.below(from.len())]
        }
    }

    /// `count` random (pattern, text) pairs built from `tokens`, each
    /// compared with glibc. Returns how many matched.
    fn differential(seed: u64, count: usize, tokens: &[&[u8]], text_bytes: &[u8]) -> usize {
        let mut rng = Rng(seed);
        let mut matched = 0;
        for _ in 0..count {
            let mut pattern = Vec::new();
            for _ in 0..rng.below(9) {
                pattern.extend_from_slice(rng.pick(tokens));
            }
            // Half the texts are the pattern's own bytes with some of them
            // changed, so that matches are common enough to be tested.
            let mut text: Vec<u8> = if rng.below(2) == 0 {
                pattern.clone()
            } else {
                (0..rng.below(9)).map(|_| rng.pick(text_bytes)).collect()
            };
            for _ in 0..rng.below(3) {
                if !text.is_empty() {
                    let i = rng.below(text.len());
                    match rng.below(3) {
                        0 => text[i] = rng.pick(text_bytes),
                        1 => drop(text.remove(i)),
                        _ => text.insert(i, rng.pick(text_bytes)),
                    }
                }
            }
            let want = glibc(&pattern, &text);
            assert_eq!(
                matches(&pattern, &text),
                want,
                "fnmatch(\"{}\", \"{}\", 0) is {}",
                pattern.escape_ascii(),
                text.escape_ascii(),
                if want { "a match" } else { "no match" },
            );
            matched += usize::from(want);
        }
        matched
    }

    #[test]
    fn agrees_with_glibc_on_random_patterns() {
        assert!(
            std::env::var_os("POSIXLY_CORRECT").is_none(),
            "unset POSIXLY_CORRECT: with it glibc does not read `[^` as negation"
        );
        let bytes: &[u8] = b"*?[]!^-\\:a b\x80\xff";
        let tokens: Vec<&[u8]> = bytes.chunks(1).collect();
        let matched = differential(
            0x9e37_79b9_7f4a_7c15,
            300_000,
            &tokens,
            b"ab[]!^-\\:* ?\x80\xff",
        );
        assert!(matched > 30_000, "only {matched} matches");

        // Sets, classes, collating symbols and equivalence classes as whole
        // tokens, against texts of any byte.
        let tokens: Vec<&[u8]> = [
            &b"["[..],
            b"]",
            b"[!",
            b"[^",
            b"-",
            b"\\",
            b"*",
            b"?",
            b"a",
            b"z",
            b"0",
            b":",
            b".",
            b"=",
            b"[:alpha:]",
            b"[:digit:]",
            b"[:space:]",
            b"[:punct:]",
            b"[:upper:]",
            b"[:xdigit:]",
            b"[:foo:]",
            b"[:",
            b":]",
            b"[=a=]",
            b"[=",
            b"=]",
            b"[.a.]",
            b"[.-.]",
            b"[.",
            b".]",
            b"[.ab.]",
            b"-]",
            b"[:zz:]",
            b"\x80",
            b"\xfe",
        ]
        .into();
        let all: Vec<u8> = (1..=255).collect();
        let text_bytes = [&all[..], b"aaaa[[[]]]--::..==0000"].concat();
        let matched = differential(0xdead_beef_cafe_f00d, 200_000, &tokens, &text_bytes);
        assert!(matched > 10_000, "only {matched} matches");
    }

    #[test]
    fn every_byte_against_glibc_classes() {
        let names = [
            "alnum", "alpha", "blank", "cntrl", "digit", "graph", "lower", "print", "punct",
            "space", "upper", "xdigit",
        ];
        for name in names {
            for pattern in [std::format!("[[:{name}:]]"), std::format!("[![:{name}:]]")] {
                for b in 1..=255u8 {
                    check(pattern.as_bytes(), &[b], glibc(pattern.as_bytes(), &[b]));
                }
            }
        }
    }

    #[test]
    fn examples_match_their_patterns() {
        let mut buf = [0u8; 128];
        for (p, want) in [
            (
                &b"pci:v00008086d*sv*sd*bc*sc*i*"[..],
                &b"pci:v00008086dsvsdbcsci"[..],
            ),
            (b"acpi*:PNP0A0[38]:*", b"acpi:PNP0A03:"),
            (
                b"usb:v*p*d*dc*dsc*dp*ic03isc01ip0[12]in*",
                b"usb:vpddcdscdpic03isc01ip01in",
            ),
            (b"a[!a-z]b", b"a!b"),
            (b"x\\*y?", b"x*yx"),
            (b"[[:digit:]]", b"0"),
            (b"open[", b"open["),
        ] {
            assert_eq!(
                example_into(p, &mut buf),
                Some(want),
                "{}",
                String::from_utf8_lossy(p)
            );
        }
        assert_eq!(example_into(b"abc", &mut [0u8; 2]), None, "no room");
        assert_eq!(
            example_into(b"[[:cntrl:]]", &mut buf),
            None,
            "only unprintable bytes match"
        );
    }
}
