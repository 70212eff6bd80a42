//! The kernel command line, split exactly as the kernel splits it.
//!
//! [`Params`] reproduces `next_arg()` of the kernel's `kernel/params.c`:
//! whitespace separates parameters except inside double quotes; a parameter
//! may be quoted whole (`"mod.p=a b"`, as GRUB writes it) or in its value
//! (`mod.p="a b"`); one pair of quotes is removed; quotes cannot be escaped.
//! Parsing stops at a bare `--`: what follows belongs to init (the kernel
//! already passed it in init's argv).
//!
//! [`BootParams`] picks out the root and init parameters modboot acts on, and
//! [`list`] the comma-separated lists (`modules-load=`, `rd.driver.pre=`...).
//! Module parameters are read as kmod reads them: see `kcmdline`. All of it
//! is pure and allocation-free.

/// One `key[=value]` of the command line, quotes already removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Param<'a> {
    pub key: &'a [u8],
    pub value: Option<&'a [u8]>,
}

/// The kernel's `isspace()`: its ctype table also counts 0xA0 (NBSP).
fn is_space(c: u8) -> bool {
    matches!(c, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ' | 0xa0)
}

fn skip_spaces(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&c| is_space(c)).count();
    s.get(n..).unwrap_or(&[])
}

/// Iterator over the parameters of a command line, up to a bare `--`.
#[derive(Clone)]
pub struct Params<'a> {
    rest: &'a [u8],
}

impl<'a> Params<'a> {
    pub fn new(cmdline: &'a [u8]) -> Self {
        // /proc/cmdline holds no NUL; in C one would end the string.
        let end = cmdline
            .iter()
            .position(|&c| c == 0)
            .unwrap_or(cmdline.len());
        Params {
            rest: cmdline.get(..end).unwrap_or(&[]),
        }
    }
}

impl<'a> Iterator for Params<'a> {
    type Item = Param<'a>;

    fn next(&mut self) -> Option<Param<'a>> {
        let mut args = skip_spaces(self.rest);
        if args.is_empty() {
            self.rest = &[];
            return None;
        }
        let quoted = args.first() == Some(&b'"');
        if quoted {
            args = args.get(1..).unwrap_or(&[]);
        }
        let mut in_quote = quoted;
        let mut equals = 0;
        let mut i = 0;
        while let Some(&c) = args.get(i) {
            if is_space(c) && !in_quote {
                break;
            }
            // As in the kernel, an '=' in the first position does not count.
            if equals == 0 && c == b'=' {
                equals = i;
            }
            if c == b'"' {
                in_quote = !in_quote;
            }
            i += 1;
        }
        self.rest = args.get(i + 1..).unwrap_or(&[]);

        // `end` is where the token stops once a closing quote is cut off.
        let mut end = i;
        let mut value_start = None;
        if equals != 0 {
            let mut v = equals + 1;
            if args.get(v) == Some(&b'"') {
                v += 1;
                if i > 0 && args.get(i - 1) == Some(&b'"') {
                    end = i - 1;
                }
            }
            value_start = Some(v);
        }
        if quoted && end == i && i > 0 && args.get(i - 1) == Some(&b'"') {
            end = i - 1;
        }
        let param = match value_start {
            None => Param {
                key: args.get(..end).unwrap_or(&[]),
                value: None,
            },
            Some(v) => Param {
                key: args.get(..equals).unwrap_or(&[]),
                value: Some(args.get(v..end.max(v)).unwrap_or(&[])),
            },
        };
        if param.key == b"--" && param.value.is_none() {
            self.rest = &[];
            return None;
        }
        Some(param)
    }
}

/// What the init does once the boot cannot go on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Then {
    /// Reboot after this many seconds (0: at once).
    Reboot(u32),
    PowerOff,
    /// Stay as it is, PID 1 alive (the kernel's `panic=0`: wait forever).
    Halt,
}

/// The failure policy for one boot ([`BootParams::on_failure`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OnFailure<'a> {
    /// Start the rescue shell first (the image has one).
    pub shell: bool,
    /// Then this.
    pub then: Then,
    /// The parameter that chose `then`; `None` for the default (halt).
    pub by: Option<Param<'a>>,
}

/// The parameters modboot acts on. Where a key repeats, the last one wins, as
/// with the kernel's own `__setup` handlers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BootParams<'a> {
    /// `root=`: the root device, or a tag (virtiofs, 9p) with `rootfstype=`
    /// (dracut's `root=virtiofs:TAG` is read as `root=TAG
    /// rootfstype=virtiofs`).
    pub root: Option<&'a [u8]>,
    /// `rootfstype=`: comma-separated filesystem types to try.
    pub rootfstype: Option<&'a [u8]>,
    /// `rootflags=`: filesystem-specific mount data.
    pub rootflags: Option<&'a [u8]>,
    /// `rw` mounts the root read-write; `ro` (the kernel's default) read-only.
    pub read_write: bool,
    /// `rootwait`: wait for the root device forever.
    pub rootwait: bool,
    /// `rootdelay=`: seconds to wait for the root device.
    pub rootdelay: Option<u32>,
    /// `init=`: the real init to run.
    pub init: Option<&'a [u8]>,
    /// `modboot.jobs=`: how many modules may load at once (1: one after
    /// another, in the init itself).
    pub jobs: Option<u32>,
    /// `rd.emergency=reboot|poweroff|halt` (dracut's): what to do when the
    /// boot cannot go on, and the parameter as given.
    pub emergency: Option<(Then, Param<'a>)>,
    /// `panic=N` read as the kernel reads it (`kstrtoint`, base 0): N > 0
    /// reboots after N seconds, N < 0 at once, 0 halts (initramfs-tools'
    /// `panic()`).
    pub panic: Option<(Then, Param<'a>)>,
    /// `rd.shell` (or `=1`, `=yes`...): the rescue shell on failure;
    /// `rd.shell=0|no|off`: never (dracut's `getargbool`).
    pub shell: Option<bool>,
    /// `rd.break` (any stage): the rescue shell before switch_root, the root
    /// mounted on `/root`.
    pub rd_break: bool,
    /// `overlayroot=tmpfs[:OPTIONS]` (Ubuntu's overlayroot) or
    /// `systemd.volatile=overlay` (systemd's): the root read-only under an
    /// overlay whose writable layer is a tmpfs. Of overlayroot's
    /// comma-separated OPTIONS, `size=` is the tmpfs's ([`Self::overlay_size`]);
    /// `swap=`, `recurse=` change nothing here: only `/` is overlaid, as
    /// with `recurse=0`, and no swap is used. Any other `overlayroot=`
    /// (`disabled`, and the kinds not done here, `device:`, `crypt:`) or
    /// `systemd.volatile=` (`state`: the real system's) turns it off; the
    /// last of the two keys wins. The root's own mount is then read-only
    /// whatever `rw` says.
    pub overlay: bool,
    /// `overlayroot=tmpfs:size=N`: the overlay's tmpfs size, as tmpfs reads
    /// its `size=` (bytes with k/m/g, or a % of RAM); else tmpfs's default.
    pub overlay_size: Option<&'a [u8]>,
    /// The last parameter modboot recognised but could not use, and what it
    /// takes.
    pub invalid: Option<(Param<'a>, &'static str)>,
}

const NOT_A_NUMBER: &str = "not a number";

/// The keys [`BootParams::parse`] knows, by their index there.
const KEYS: [&[u8]; 15] = [
    b"root",
    b"rootfstype",
    b"rootflags",
    b"init",
    b"ro",
    b"rw",
    b"rootwait",
    b"rootdelay",
    b"modboot.jobs",
    b"rd.emergency",
    b"panic",
    b"rd.shell",
    b"rd.break",
    b"overlayroot",
    b"systemd.volatile",
];

/// Where `word` is in `words`. One loop and one slice comparison for a
/// whole table: a `match` on byte-string patterns compiles into a
/// comparison per byte, which costs the init more than the table.
#[inline(never)]
pub fn position(words: &[&[u8]], word: &[u8]) -> Option<usize> {
    words.iter().position(|w| *w == word)
}

impl<'a> BootParams<'a> {
    /// Not inlined: into `main`, its one caller, it costs the init more.
    #[inline(never)]
    pub fn parse(cmdline: &'a [u8]) -> Self {
        let mut bp = BootParams::default();
        for p in Params::new(cmdline) {
            let Some(key) = position(&KEYS, p.key) else {
                continue;
            };
            let v = p.value.unwrap_or(b"");
            let number = parse_u32(v);
            // Keys that take a value (0-3, 7-9) need one; the flags (4-6,
            // 11-12) take none, or any (13-14 without one turn nothing on).
            if key <= 3 || (7..=9).contains(&key) {
                if p.value.is_none() {
                    continue;
                }
            }
            match key {
                0 => bp.root = Some(v),
                1 => bp.rootfstype = Some(v),
                2 => bp.rootflags = Some(v),
                3 => bp.init = Some(v),
                4 | 5 if p.value.is_none() => bp.read_write = key == 5,
                6 if p.value.is_none() => bp.rootwait = true,
                7 if number.is_some() => bp.rootdelay = number,
                8 if number.is_some_and(|n| n > 0) => bp.jobs = number,
                9 => match position(&[b"reboot", b"poweroff", b"halt"], v) {
                    Some(i) => {
                        let then = [Then::Reboot(0), Then::PowerOff, Then::Halt];
                        bp.emergency = then.get(i).map(|&t| (t, p));
                    }
                    None => bp.invalid = Some((p, "not reboot, poweroff or halt")),
                },
                10 => match parse_kernel_int(v) {
                    Some(n) => {
                        let then = match n {
                            0 => Then::Halt,
                            1.. => Then::Reboot(n as u32),
                            _ => Then::Reboot(0),
                        };
                        bp.panic = Some((then, p));
                    }
                    None => bp.invalid = Some((p, NOT_A_NUMBER)),
                },
                11 => bp.shell = Some(position(&[b"0", b"no", b"off"], v).is_none()),
                12 => bp.rd_break = true,
                // overlayroot's options after `tmpfs:`: size= only (swap=,
                // recurse= change nothing here); its other kinds are not done.
                13 | 14 => {
                    let word: &[u8] = if key == 13 { b"tmpfs" } else { b"overlay" };
                    let options = match v.strip_prefix(word) {
                        Some(b"") => Some(&b""[..]),
                        Some(o) if key == 13 => o.strip_prefix(b":"),
                        _ => None,
                    };
                    bp.overlay = options.is_some();
                    bp.overlay_size = None;
                    let mut rest = options.unwrap_or(b"");
                    while !rest.is_empty() {
                        let end = rest.iter().position(|&b| b == b',').unwrap_or(rest.len());
                        let item = rest.get(..end).unwrap_or(b"");
                        if let Some(size) = item.strip_prefix(b"size=") {
                            bp.overlay_size = Some(size);
                        }
                        rest = rest.get(end + 1..).unwrap_or(b"");
                    }
                }
                7 | 8 => bp.invalid = Some((p, NOT_A_NUMBER)),
                _ => {}
            }
        }
        // The overlay's lower layer is never written.
        bp.read_write &= !bp.overlay;
        // dracut's `root=virtiofs:TAG` is the kernel's `root=TAG
        // rootfstype=virtiofs` (both pieces of the command line itself).
        if let Some((fstype, tag)) = bp
            .root
            .filter(|r| r.starts_with(b"virtiofs:"))
            .and_then(|r| Some((r.get(..8)?, r.get(9..)?)))
        {
            bp.root = Some(tag);
            bp.rootfstype = Some(fstype);
        }
        bp
    }

    /// What to do when the boot cannot go on, `has_shell` saying whether
    /// the image has a rescue shell: `rd.emergency=` decides, else `panic=`,
    /// else the rescue shell then a halt (a halt at once without a shell).
    /// The shell comes first when `rd.shell` asks for it, or by default
    /// when neither parameter decided, and never with `rd.shell=0`.
    pub fn on_failure(&self, has_shell: bool) -> OnFailure<'a> {
        let decided = self.emergency.or(self.panic);
        OnFailure {
            shell: has_shell && self.shell.unwrap_or(decided.is_none()),
            then: decided.map_or(Then::Halt, |(t, _)| t),
            by: decided.map(|(_, p)| p),
        }
    }
}

/// The comma-separated items of every `KEY=a,b` on the command line whose
/// key is one of `keys`, in order (`modules-load=`, `rd.driver.pre=`...).
/// Empty items are skipped.
pub fn list<'a>(cmdline: &'a [u8], keys: &'a [&'a [u8]]) -> List<'a> {
    List {
        params: Params::new(cmdline),
        keys,
        items: &[],
    }
}

/// The iterator [`list`] returns. A plain struct rather than an adapter
/// chain: the init calls it from several places, and each adapter chain
/// would be compiled again for each.
pub struct List<'a> {
    params: Params<'a>,
    keys: &'a [&'a [u8]],
    /// What is left of the current value.
    items: &'a [u8],
}

impl<'a> List<'a> {
    /// Whether `name` is among the items.
    #[inline(never)]
    pub fn contains(mut self, name: &[u8]) -> bool {
        self.any(|item| item == name)
    }
}

impl<'a> Iterator for List<'a> {
    type Item = &'a [u8];

    #[inline(never)]
    fn next(&mut self) -> Option<&'a [u8]> {
        loop {
            if self.items.is_empty() {
                let p = self.params.next()?;
                if self.keys.contains(&p.key) {
                    self.items = p.value.unwrap_or(b"");
                }
                continue;
            }
            let end = self.items.iter().position(|&c| c == b',');
            let item = self
                .items
                .get(..end.unwrap_or(self.items.len()))
                .unwrap_or(&[]);
            self.items = end.and_then(|e| self.items.get(e + 1..)).unwrap_or(&[]);
            if !item.is_empty() {
                return Some(item);
            }
        }
    }
}

/// The image's own command line, in the image: parameters mkmodboot wrote
/// (the layers' `rd.luks.*` from the build machine's crypttab), as dracut's
/// host-only images keep theirs in `/etc/cmdline.d`. The init reads it
/// before `/proc/cmdline`, whose parameters, coming later, win.
pub const IMAGE_CMDLINE: &str = "/etc/cmdline.d/modboot.conf";

/// The value of the last `KEY=VALUE` on the command line (empty for a bare
/// `KEY`; always a slice of `cmdline`), as the parameters the init reads only where it needs
/// them (`rd.luks=`, `rd.lvm=`...) are looked up.
#[inline(never)]
pub fn value<'a>(cmdline: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    Params::new(cmdline)
        .filter(|p| p.key == key)
        .last()
        .map(|p| p.value.unwrap_or(p.key.get(p.key.len()..).unwrap_or(b"")))
}

/// Whether the last `KEY=` on the command line is `KEY=0`: a layer turned
/// off (`rd.luks=0`, `rd.lvm=0`, `rd.md=0`).
pub fn off(cmdline: &[u8], key: &[u8]) -> bool {
    value(cmdline, key) == Some(b"0")
}

/// The last `KEY=UUID=VALUE` (or `KEY=UUID`: an empty value) whose UUID
/// names `uuid` (any spelling [`Uuid::matches`] takes, or `luks-UUID` as
/// dracut writes it) — systemd's `rd.luks.name=`, `rd.luks.key=`,
/// `rd.luks.options=`, dracut's `rd.luks.uuid=`, `rd.md.uuid=`; with
/// `global`, else the last `KEY=VALUE` whose part before a `=` is no UUID
/// at all (shorter than 32 characters): the value for every device.
///
/// [`Uuid::matches`]: crate::blkid::Uuid::matches
#[inline(never)]
pub fn for_uuid<'a>(
    cmdline: &'a [u8],
    key: &[u8],
    uuid: &crate::blkid::Uuid,
    global: bool,
) -> Option<&'a [u8]> {
    let mut found = None;
    let mut fallback = None;
    for p in Params::new(cmdline).filter(|p| p.key == key) {
        // Empty values are the input's too: slices at the end of the key
        // or value.
        let v = p.value.unwrap_or(p.key.get(p.key.len()..).unwrap_or(b""));
        let eq = v.iter().position(|&c| c == b'=').unwrap_or(v.len());
        let id = v.get(..eq).unwrap_or(b"");
        let id = id.strip_prefix(b"luks-").unwrap_or(id);
        if uuid.matches(id) {
            found = Some(v.get(eq + 1..).or(v.get(eq..)).unwrap_or(b""));
        } else if id.len() < 32 && global {
            fallback = Some(v);
        }
    }
    found.or(fallback)
}

/// A decimal number, as `rootdelay=` takes; `None` for anything else.
pub fn parse_u32(s: &[u8]) -> Option<u32> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u32, |n, &c| {
        if c.is_ascii_digit() {
            n.checked_mul(10)?.checked_add((c - b'0') as u32)
        } else {
            None
        }
    })
}

/// An `int` parameter as the kernel reads it (`kstrtoint(s, 0)`, as
/// `core_param(panic, ...)` does): an optional `-`, then an optional `+`,
/// then `0x` and hex digits, `0` and octal digits, or decimal digits, and at
/// most a trailing newline; `None` for anything else or out of range.
pub fn parse_kernel_int(s: &[u8]) -> Option<i32> {
    let s = s.strip_suffix(b"\n").unwrap_or(s);
    let (negative, s) = match s.strip_prefix(b"-") {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let s = s.strip_prefix(b"+").unwrap_or(s);
    let (radix, digits) = match s {
        [b'0', b'x' | b'X', d, ..] if d.is_ascii_hexdigit() => (16, s.get(2..)?),
        [b'0', ..] => (8, s),
        _ => (10, s),
    };
    if digits.is_empty() {
        return None;
    }
    let magnitude = digits.iter().try_fold(0u32, |n, &c| {
        let d = (c as char).to_digit(radix)?;
        n.checked_mul(radix)?.checked_add(d)
    })?;
    if negative {
        0i32.checked_sub_unsigned(magnitude)
    } else {
        i32::try_from(magnitude).ok()
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    #[test]
    fn values() {
        let c = b"rd.luks=1 rd.luks.key=/k root=/dev/vda rd.luks=0 \"rd.luks.options=discard\" rd.lvm";
        assert_eq!(value(c, b"rd.luks"), Some(&b"0"[..]));
        assert_eq!(value(c, b"rd.luks.key"), Some(&b"/k"[..]));
        assert_eq!(value(c, b"rd.luks.options"), Some(&b"discard"[..]));
        assert_eq!(value(c, b"rd.lvm"), Some(&b""[..]));
        assert_eq!(value(c, b"rd.md"), None);
    }

    #[test]
    fn values_for_a_uuid() {
        use crate::blkid::Uuid;
        use std::format;
        let u = Uuid::Bytes(core::array::from_fn(|i| i as u8 * 0x11));
        let text = "00112233-4455-6677-8899-aabbccddeeff";
        let c = format!(
            "rd.luks.name={text}=root rd.luks.key=/all.key rd.luks.key=luks-{text}=/root.key \
             rd.luks.options=discard rd.luks.options=ffffffff-4455-6677-8899-aabbccddeeff=ro \
             rd.luks.uuid=luks-{} rd.md.uuid=00112233:44556677:8899aabb:ccddeeff",
            text.to_uppercase()
        );
        let c = c.as_bytes();
        let f = |key: &str, global| for_uuid(c, key.as_bytes(), &u, global);
        assert_eq!(f("rd.luks.name", false), Some(&b"root"[..]));
        assert_eq!(f("rd.luks.key", true), Some(&b"/root.key"[..]));
        assert_eq!(f("rd.luks.options", true), Some(&b"discard"[..]));
        assert_eq!(f("rd.luks.options", false), None);
        assert_eq!(f("rd.luks.uuid", false), Some(&b""[..]));
        assert_eq!(f("rd.md.uuid", false), Some(&b""[..]));
        let other = Uuid::Bytes([0xff; 16]);
        assert_eq!(for_uuid(c, b"rd.luks.key", &other, true), Some(&b"/all.key"[..]));
        assert_eq!(for_uuid(c, b"rd.luks.name", &other, true), None);
    }

    fn split(s: &str) -> Vec<(String, Option<String>)> {
        Params::new(s.as_bytes())
            .map(|p| {
                let s = |b: &[u8]| String::from_utf8(b.to_vec()).unwrap();
                (s(p.key), p.value.map(s))
            })
            .collect()
    }
    use std::string::String;

    fn kv(k: &str, v: Option<&str>) -> (String, Option<String>) {
        (k.into(), v.map(Into::into))
    }

    #[test]
    fn plain_parameters() {
        assert_eq!(
            split("  root=/dev/vda ro  quiet\n"),
            [
                kv("root", Some("/dev/vda")),
                kv("ro", None),
                kv("quiet", None)
            ]
        );
        assert_eq!(split(""), []);
        assert_eq!(split(" \t\n"), []);
    }

    #[test]
    fn quoted_value() {
        assert_eq!(
            split(r#"mod.p="a b" x"#),
            [kv("mod.p", Some("a b")), kv("x", None)]
        );
    }

    #[test]
    fn quoted_whole_parameter_as_grub_writes_it() {
        assert_eq!(
            split(r#""mod.p=a b" x"#),
            [kv("mod.p", Some("a b")), kv("x", None)]
        );
        assert_eq!(split(r#""flag with space""#), [kv("flag with space", None)]);
    }

    #[test]
    fn quote_edge_cases_follow_the_kernel() {
        // An opening quote inside a value keeps spaces together; the kernel only
        // strips a quote at the very start of the value (and the closing one).
        assert_eq!(
            split(r#"a=b"c d" e"#),
            [kv("a", Some(r#"b"c d""#)), kv("e", None)]
        );
        // A lone quote for a value gives an empty value.
        assert_eq!(split(r#"a=" b"#), [kv("a", Some(" b"))]);
        assert_eq!(split(r#"a=""#), [kv("a", Some(""))]);
        // Unterminated quote: the rest of the line is the value.
        assert_eq!(split(r#"a="x y z"#), [kv("a", Some("x y z"))]);
        // '=' in first position does not split.
        assert_eq!(split("=x y=1=2"), [kv("=x", None), kv("y", Some("1=2"))]);
        assert_eq!(split("\""), [kv("", None)]);
    }

    #[test]
    fn double_dash_ends_kernel_parameters() {
        assert_eq!(
            split("root=/dev/vda -- init=/x single"),
            [kv("root", Some("/dev/vda"))]
        );
        // Only a bare `--` does.
        assert_eq!(split("--=1 x"), [kv("--", Some("1")), kv("x", None)]);
    }

    #[test]
    fn nul_ends_the_line() {
        assert_eq!(split("a=1\0b=2"), [kv("a", Some("1"))]);
    }

    #[test]
    fn boot_params_last_wins() {
        let bp = BootParams::parse(
            b"root=/dev/sda ro root=/dev/vda rw rootfstype=ext4 rootdelay=3 init=/bin/sh rootwait",
        );
        assert_eq!(bp.root, Some(&b"/dev/vda"[..]));
        assert!(bp.read_write);
        assert!(bp.rootwait);
        assert_eq!(bp.rootdelay, Some(3));
        assert_eq!(bp.init, Some(&b"/bin/sh"[..]));
        assert_eq!(bp.rootfstype, Some(&b"ext4"[..]));
        assert_eq!(bp.invalid, None);
        let bp = BootParams::parse(b"rw ro rootdelay=x3 -- root=/dev/sdb");
        assert!(!bp.read_write);
        assert_eq!(bp.root, None);
        assert_eq!(bp.rootdelay, None);
        assert_eq!(bp.invalid.map(|(p, _)| p.key), Some(&b"rootdelay"[..]));
    }

    #[test]
    fn kernel_ints_as_kstrtoint_reads_them() {
        let cases: [(&str, Option<i32>); 16] = [
            ("3", Some(3)),
            ("-1", Some(-1)),
            ("+5", Some(5)),
            ("-+5", Some(-5)),
            ("0", Some(0)),
            ("0x10", Some(16)),
            ("0X1f", Some(31)),
            ("010", Some(8)),
            ("09", None),
            ("0x", None),
            ("7\n", Some(7)),
            ("2147483647", Some(i32::MAX)),
            ("-2147483648", Some(i32::MIN)),
            ("2147483648", None),
            ("", None),
            ("3s", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_kernel_int(text.as_bytes()), want, "{text:?}");
        }
    }

    #[test]
    fn failure_policy() {
        let on = |cl: &'static str, shell: bool| {
            let f = BootParams::parse(cl.as_bytes()).on_failure(shell);
            let by = f.by.map(|p| {
                let v = p.value.map(|v| String::from_utf8(v.to_vec()).unwrap());
                format!(
                    "{}={}",
                    String::from_utf8(p.key.to_vec()).unwrap(),
                    v.unwrap_or_default()
                )
            });
            (f.shell, f.then, by)
        };
        let by = |s: &str| Some(s.to_string());
        // Neither parameter: the shell if there is one, then a halt.
        assert_eq!(on("root=/dev/vda", true), (true, Then::Halt, None));
        assert_eq!(on("root=/dev/vda", false), (false, Then::Halt, None));
        assert_eq!(on("rd.shell=0", true), (false, Then::Halt, None));
        // panic=, as the kernel and initramfs-tools read it; the last wins.
        assert_eq!(
            on("panic=-1 panic=3", true),
            (false, Then::Reboot(3), by("panic=3"))
        );
        assert_eq!(
            on("panic=3 panic=-1", false),
            (false, Then::Reboot(0), by("panic=-1"))
        );
        assert_eq!(on("panic=0", true), (false, Then::Halt, by("panic=0")));
        // rd.emergency= comes first; rd.shell adds the shell before it.
        assert_eq!(
            on("rd.emergency=poweroff panic=3", true),
            (false, Then::PowerOff, by("rd.emergency=poweroff"))
        );
        assert_eq!(
            on("rd.shell rd.emergency=halt panic=1", true),
            (true, Then::Halt, by("rd.emergency=halt"))
        );
        assert_eq!(
            on("rd.shell panic=5", false),
            (false, Then::Reboot(5), by("panic=5"))
        );
        // An unknown value is reported and changes nothing.
        let bp = BootParams::parse(b"panic=2 rd.emergency=explode");
        assert_eq!(bp.emergency, None);
        assert_eq!(
            bp.invalid.map(|(p, why)| (p.value, why)),
            Some((Some(&b"explode"[..]), "not reboot, poweroff or halt"))
        );
        assert_eq!(bp.on_failure(true).then, Then::Reboot(2));
        let bp = BootParams::parse(b"panic=soon rd.break=pre-pivot");
        assert_eq!((bp.panic, bp.rd_break), (None, true));
        assert_eq!(bp.invalid.map(|(p, _)| p.key), Some(&b"panic"[..]));
    }

    #[test]
    fn virtiofs_tag_as_dracut_spells_it() {
        let bp = BootParams::parse(b"root=virtiofs:myfs rootfstype=ext4");
        assert_eq!(
            (bp.root, bp.rootfstype),
            (Some(&b"myfs"[..]), Some(&b"virtiofs"[..]))
        );
        let bp = BootParams::parse(b"root=myfs rootfstype=virtiofs");
        assert_eq!(
            (bp.root, bp.rootfstype),
            (Some(&b"myfs"[..]), Some(&b"virtiofs"[..]))
        );
        let bp = BootParams::parse(b"root=/dev/vda");
        assert_eq!((bp.root, bp.rootfstype), (Some(&b"/dev/vda"[..]), None));
    }

    #[test]
    fn overlay_root() {
        let overlay = |cl: &'static str| {
            let bp = BootParams::parse(cl.as_bytes());
            (bp.overlay, bp.read_write)
        };
        assert_eq!(overlay("root=/dev/vda rw"), (false, true));
        assert_eq!(overlay("rw overlayroot=tmpfs"), (true, false));
        assert_eq!(
            overlay("overlayroot=tmpfs:swap=1,recurse=0 rw"),
            (true, false)
        );
        assert_eq!(overlay("systemd.volatile=overlay"), (true, false));
        assert_eq!(overlay("overlayroot=tmpfsx rw"), (false, true));
        assert_eq!(overlay("systemd.volatile=overlay:size=1 rw"), (false, true));
        let size = |cl: &'static str| BootParams::parse(cl.as_bytes()).overlay_size;
        assert_eq!(size("overlayroot=tmpfs"), None);
        assert_eq!(
            size("overlayroot=tmpfs:swap=1,size=64m,recurse=0"),
            Some(&b"64m"[..])
        );
        assert_eq!(size("overlayroot=tmpfs:size=10% overlayroot=tmpfs"), None);
        assert_eq!(size("systemd.volatile=overlay"), None);
        assert_eq!(overlay("systemd.volatile=state rw"), (false, true));
        // The last of the two keys wins.
        assert_eq!(
            overlay("systemd.volatile=overlay systemd.volatile=state rw"),
            (false, true)
        );
        assert_eq!(
            overlay("overlayroot=disabled systemd.volatile=overlay"),
            (true, false)
        );
        assert_eq!(
            overlay("overlayroot=tmpfs overlayroot=disabled rw"),
            (false, true)
        );
        assert_eq!(overlay("overlayroot=device:dev=/dev/vdb rw"), (false, true));
        // A flag without a value is no overlay.
        assert_eq!(overlay("overlayroot rw"), (false, true));
    }

    #[test]
    fn comma_lists_of_several_keys() {
        let cl = b"modules-load=a,b rd.modules-load=c,,d x=1 modules_load=e -- modules-load=f";
        let keys: &[&[u8]] = &[b"rd.modules-load", b"modules-load", b"modules_load"];
        let got: Vec<_> = list(cl, keys).collect();
        assert_eq!(got, [&b"a"[..], b"b", b"c", b"d", b"e"]);
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_u32(b"0"), Some(0));
        assert_eq!(parse_u32(b"4294967295"), Some(u32::MAX));
        assert_eq!(parse_u32(b"4294967296"), None);
        assert_eq!(parse_u32(b""), None);
        assert_eq!(parse_u32(b"-1"), None);
    }
}
