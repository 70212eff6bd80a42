//! The kernel command line as kmod reads it (`kmod_config_parse_kcmdline`),
//! which differs from the kernel's own splitting (`cmdline`):
//!
//! - a token `MODULE.PARAM[=VALUE]` becomes an `options MODULE PARAM[=VALUE]`
//!   entry; a token with `=` before any `.`, or a second `.` before the `=`,
//!   is not one;
//! - quotes inside VALUE are kept (the kernel strips them when it parses the
//!   module's parameters); whitespace is allowed only inside a quoted VALUE;
//! - a token that starts with `"` (GRUB's `"mod.p=a b"`) is re-quoted to
//!   `p="a b"`;
//! - `modprobe.blacklist=a,b` adds blacklist entries, not normalised;
//! - only the first [`KCMDLINE_MAX`] bytes count; `--` is not special.
//!
//! Pure and allocation-free: results are handed to a callback as slices of
//! the input plus where a re-quote goes.

/// kmod reads at most this many bytes of `/proc/cmdline`.
pub const KCMDLINE_MAX: usize = 4095;

/// Text taken from the command line, possibly with a `"` to insert.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Text<'a> {
    bytes: &'a [u8],
    /// Insert a `"` before this index (the re-quote of a `"mod.p=v"` token).
    quote_at: Option<usize>,
}

impl<'a> Text<'a> {
    /// The text in pieces, to be written in order.
    #[inline(never)]
    pub fn pieces(&self) -> [&'a [u8]; 3] {
        match self.quote_at {
            Some(i) => {
                let (a, b) = self.bytes.split_at(i.min(self.bytes.len()));
                [a, b"\"", b]
            }
            None => [self.bytes, b"", b""],
        }
    }

    /// Whether the text is empty.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty() && self.quote_at.is_none()
    }
}

/// One result of the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry<'a> {
    /// `options MODULE TEXT` (MODULE as written; compare it with
    /// `modname::underscored_eq`). kmod turns tabs in TEXT into spaces.
    Options { module: &'a [u8], text: Text<'a> },
    /// One item of `modprobe.blacklist=`, exactly as written.
    Blacklist(Text<'a>),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Ignore,
    Modname,
    Param,
    Value,
}

fn is_sep(c: u8) -> bool {
    matches!(c, b' ' | b'\n' | b'\t' | 0x0b | 0x0c | b'\r' | 0)
}

/// Call `f` for each entry of `cmdline`, in order.
pub fn parse<'a>(cmdline: &'a [u8], f: &mut dyn FnMut(Entry<'a>)) {
    let buf = cmdline.get(..KCMDLINE_MAX).unwrap_or(cmdline);
    let mut state = State::Modname;
    let mut quoted = false;
    let mut quote_start: Option<usize> = None;
    let (mut modname, mut param, mut value) = (0usize, 0usize, None::<usize>);
    let mut dot = 0usize;
    // One past the end acts as the terminating NUL.
    for p in 0..=buf.len() {
        let c = buf.get(p).copied().unwrap_or(0);
        let mut complete = false;
        match c {
            b'"' => {
                quoted = !quoted;
                if quoted && state == State::Modname && p == modname {
                    quote_start = Some(p);
                    modname = p + 1;
                } else if state != State::Value {
                    state = State::Ignore;
                }
            }
            c if is_sep(c) => {
                if quoted && state == State::Value {
                } else if quoted {
                    state = State::Ignore;
                } else if matches!(state, State::Value | State::Param) {
                    complete = true;
                } else {
                    modname = p + 1;
                    state = State::Modname;
                    quote_start = None;
                }
            }
            b'.' => {
                if state == State::Modname {
                    dot = p;
                    param = p + 1;
                    value = None;
                    state = State::Param;
                } else if state == State::Param {
                    state = State::Ignore;
                }
            }
            b'=' => {
                if state == State::Param {
                    value = Some(p + 1);
                    state = State::Value;
                } else if state == State::Modname {
                    state = State::Ignore;
                }
            }
            _ => {}
        }
        if complete {
            let module = buf.get(modname..dot).unwrap_or(&[]);
            let param_text = buf.get(param..p).unwrap_or(&[]);
            // The re-quote: a `"` moves from before the module name to just
            // after the `=` (kmod's memmove).
            let requote = quote_start.is_some_and(|q| q < modname);
            let quote_at = match (requote, value) {
                (true, Some(v)) => Some(v - param),
                _ => None,
            };
            if module == b"modprobe" && param_text.starts_with(b"blacklist=") {
                let list = param_text.get(b"blacklist=".len()..).unwrap_or(&[]);
                for (i, item) in list.split(|&c| c == b',').enumerate() {
                    let quote_at = (i == 0 && quote_at.is_some()).then_some(0);
                    f(Entry::Blacklist(Text {
                        bytes: item,
                        quote_at,
                    }));
                }
            } else {
                f(Entry::Options {
                    module,
                    text: Text {
                        bytes: param_text,
                        quote_at,
                    },
                });
            }
            modname = p + 1;
            state = State::Modname;
            quote_start = None;
        }
        if c == 0 && p < buf.len() {
            break; // a NUL ends the line, as in C
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::String;
    use std::vec::Vec;

    fn text(t: Text<'_>) -> String {
        t.pieces()
            .iter()
            .map(|p| String::from_utf8_lossy(p))
            .collect()
    }

    fn entries(s: &str) -> Vec<String> {
        let mut out = Vec::new();
        parse(s.as_bytes(), &mut |e| match e {
            Entry::Options { module, text: t } => out.push(std::format!(
                "options {} {}",
                String::from_utf8_lossy(module),
                text(t)
            )),
            Entry::Blacklist(t) => out.push(std::format!("blacklist {}", text(t))),
        });
        out
    }

    #[test]
    fn module_options() {
        assert_eq!(
            entries(
                "BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro xor.a=1 m5.p raid6-pq.z=1 rd.driver.pre=xor x.y.z=1 foo=bar.x"
            ),
            ["options xor a=1", "options m5 p", "options raid6-pq z=1"]
        );
        assert_eq!(
            entries(".p6=1 m7.=1 m9.p=1=2"),
            ["options  p6=1", "options m7 =1", "options m9 p=1=2"]
        );
    }

    #[test]
    fn quotes_as_kmod_keeps_them() {
        assert_eq!(
            entries(r#"m1.p="a b" m2.p=a"b c"d"#),
            [r#"options m1 p="a b""#, r#"options m2 p=a"b c"d"#]
        );
        assert_eq!(
            entries(r#""xor.q=a b" next.x=1"#),
            [r#"options xor q="a b""#, "options next x=1"]
        );
        assert_eq!(entries(r#""m3".p=1 m4."p=1" m5.p=2"#), ["options m5 p=2"]);
        assert_eq!(
            entries(r#"m11.p="unterminated m12.p=1 "m13.p=x" "m14.p=y z" tail"#),
            [r#"options m11 p="unterminated m12.p=1 "m13.p=x" "m14.p=y"#]
        );
    }

    #[test]
    fn blacklist_items_raw() {
        assert_eq!(
            entries(r#"modprobe.blacklist=c-d,e_f,,g "modprobe.blacklist=h,i""#),
            [
                "blacklist c-d",
                "blacklist e_f",
                "blacklist ",
                "blacklist g",
                "blacklist \"h",
                "blacklist i\""
            ]
        );
    }

    #[test]
    fn only_the_first_4095_bytes() {
        let mut s = "x".repeat(4080);
        s.push_str(" xor.early=1 xor.late=1");
        assert_eq!(entries(&s), ["options xor early=1"]);
    }

    #[test]
    fn double_dash_is_not_special_and_nul_ends() {
        assert_eq!(entries("-- a.b=1\0c.d=2"), ["options a b=1"]);
    }
}
