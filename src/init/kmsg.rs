//! The init's log: one `write(2)` per line to `/dev/kmsg`, as
//! `<level>modboot: ...`, so every line lands whole in `dmesg` and on the
//! console. Before `/dev` is mounted, lines go to the console instead.
//!
//! `info!("loaded {} in {}", name, Ms(t))` keeps the format string whole and
//! hands it with its arguments ([`Arg`]) to one formatting function,
//! [`emit`], that fills a fixed line buffer: no `core::fmt`, no allocation,
//! and each call site is a string, an argument array and one call (a
//! formatter generated per call site cost the init several KiB). An
//! over-long line is cut, never dropped.

use crate::sys;
use core::ffi::CStr;
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

pub const ERR: u8 = 3;
pub const WARN: u8 = 4;
pub const INFO: u8 = 6;

/// Make `/dev/kmsg` the log (until then, lines go to the console).
pub fn open() -> Result<(), Errno> {
    let fd = rustix::fs::open(
        c"/dev/kmsg",
        OFlags::WRONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    sys::set_log_fd(fd);
    Ok(())
}

/// Longest line written; the kernel's own limit is a little under 1 KiB.
const LINE_MAX: usize = 480;

/// One log line being assembled.
pub struct Line {
    buf: [u8; LINE_MAX],
    len: usize,
}

impl Line {
    /// Append bytes, cutting at the line limit (one byte is kept for '\n').
    pub fn push(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.len + 1 >= LINE_MAX {
                return;
            }
            // A newline inside a message would start a new kmsg record.
            if let Some(slot) = self.buf.get_mut(self.len) {
                *slot = if b == b'\n' { b' ' } else { b };
            }
            self.len += 1;
        }
    }

    pub fn push_u64(&mut self, mut n: u64) {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            if let Some(d) = digits.get_mut(i) {
                *d = b'0' + (n % 10) as u8;
            }
            n /= 10;
            if n == 0 || i == 0 {
                break;
            }
        }
        self.push(digits.get(i..).unwrap_or(&[]));
    }
}

impl Line {
    /// A new line at `level`, its prefix written. Not generic and not
    /// inlined: every log call shares this code (and [`finish`](Self::finish)).
    #[inline(never)]
    pub fn start(level: u8) -> Line {
        let mut line = Line {
            buf: [0; LINE_MAX],
            len: 0,
        };
        if sys::log_fd().1 {
            line.push(&[b'<', b'0' + (level & 7), b'>']);
        }
        line.push(b"modboot: ");
        line
    }

    /// End the line and write it, in one `write(2)`.
    #[inline(never)]
    pub fn finish(mut self) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = b'\n';
            self.len += 1;
        }
        let _ = rustix::io::write(sys::log_fd().0, self.buf.get(..self.len).unwrap_or(&[]));
    }
}

/// One argument of a log line.
#[derive(Clone, Copy)]
pub enum Arg<'a> {
    /// Bytes as they are (kmsg escapes what is not printable).
    Text(&'a [u8]),
    Num(u64),
    /// An errno by name (`ENOENT`), or `errno N`; nothing for `None`.
    Errno(Option<Errno>),
    /// Nanoseconds, shown in milliseconds with three decimals.
    Ms(u64),
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(s: &'a str) -> Self {
        Arg::Text(s.as_bytes())
    }
}
impl<'a> From<&'a [u8]> for Arg<'a> {
    fn from(s: &'a [u8]) -> Self {
        Arg::Text(s)
    }
}
impl<'a> From<&'a CStr> for Arg<'a> {
    fn from(s: &'a CStr) -> Self {
        Arg::Text(s.to_bytes())
    }
}
impl<'a> From<B<'a>> for Arg<'a> {
    fn from(b: B<'a>) -> Self {
        Arg::Text(b.0)
    }
}
impl From<E> for Arg<'_> {
    fn from(e: E) -> Self {
        Arg::Errno(Some(e.0))
    }
}
impl From<Option<Errno>> for Arg<'_> {
    fn from(e: Option<Errno>) -> Self {
        Arg::Errno(e)
    }
}
impl From<Ms> for Arg<'_> {
    fn from(m: Ms) -> Self {
        Arg::Ms(m.0)
    }
}
impl From<u64> for Arg<'_> {
    fn from(n: u64) -> Self {
        Arg::Num(n)
    }
}
impl From<u32> for Arg<'_> {
    fn from(n: u32) -> Self {
        Arg::Num(n as u64)
    }
}
impl From<usize> for Arg<'_> {
    // Not inlined: measured 32 bytes smaller (the counts in log lines).
    #[inline(never)]
    fn from(n: usize) -> Self {
        Arg::Num(n as u64)
    }
}

impl Line {
    /// Append one argument as [`emit`] would.
    pub fn arg(&mut self, a: Arg<'_>) {
        match a {
            Arg::Text(t) => self.push(t),
            Arg::Num(n) => self.push_u64(n),
            Arg::Errno(None) => {}
            Arg::Errno(Some(e)) => {
                let code = e.raw_os_error();
                match modboot::errno::name(code) {
                    Some(name) => self.push(name),
                    None => {
                        self.push(b"errno ");
                        self.push_u64(code as u64);
                    }
                }
            }
            Arg::Ms(ns) => {
                let us = ns / 1000;
                self.push_u64(us / 1000);
                self.push(b".");
                let frac = us % 1000;
                self.push(if frac < 10 {
                    b"00"
                } else if frac < 100 {
                    b"0"
                } else {
                    b""
                });
                self.push_u64(frac);
                self.push(b" ms");
            }
        }
    }
}

/// Write one line at `level`: `fmt` with each `{}` replaced by the next
/// argument. Every log call comes here.
#[inline(never)]
pub fn emit(level: u8, fmt: &str, args: &[Arg<'_>]) {
    let mut line = Line::start(level);
    let mut args = args.iter();
    let mut rest = fmt.as_bytes();
    while let Some(i) = rest.windows(2).position(|w| w == b"{}") {
        line.push(rest.get(..i).unwrap_or(&[]));
        if let Some(&a) = args.next() {
            line.arg(a);
        }
        rest = rest.get(i + 2..).unwrap_or(&[]);
    }
    line.push(rest);
    line.finish();
}

/// `log!(LEVEL, "text {}", x)`: one line at that level.
macro_rules! log {
    ($level:expr, $fmt:literal $(, $arg:expr)* $(,)?) => {
        $crate::kmsg::emit($level, $fmt, &[$($crate::kmsg::Arg::from($arg)),*])
    };
}
/// `info!("text {}", x)`: log at info level.
macro_rules! info {
    ($($t:tt)*) => { log!($crate::kmsg::INFO, $($t)*) };
}
/// `warn!(...)`: log at warning level.
macro_rules! warn {
    ($($t:tt)*) => { log!($crate::kmsg::WARN, $($t)*) };
}
/// `error!(...)`: log at error level.
macro_rules! error {
    ($($t:tt)*) => { log!($crate::kmsg::ERR, $($t)*) };
}

/// Bytes shown as text.
pub struct B<'a>(pub &'a [u8]);

/// An errno by name: `ENOENT`, or `errno 4000` for one without a name.
pub struct E(pub Errno);

/// A duration in nanoseconds, shown in milliseconds with three decimals.
pub struct Ms(pub u64);
