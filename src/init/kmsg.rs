//! The init's log: one `write(2)` per line to `/dev/kmsg`, as
//! `<level>modboot: ...`, so every line lands whole in `dmesg` and on the
//! console. Before `/dev` is mounted, lines go to the console instead.
//!
//! Text is formatted with `ufmt` into a fixed line buffer (no `core::fmt`, no
//! allocation); an over-long line is cut, never dropped.

use crate::sys;
use core::convert::Infallible;
use rustix::io::Errno;
use ufmt::{uDisplay, uWrite};

pub const ERR: u8 = 3;
pub const WARN: u8 = 4;
pub const INFO: u8 = 6;

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

impl uWrite for Line {
    type Error = Infallible;
    fn write_str(&mut self, s: &str) -> Result<(), Infallible> {
        self.push(s.as_bytes());
        Ok(())
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

/// `log!(LEVEL, "text {}", x)`: one line at that level.
macro_rules! log {
    ($level:expr, $($t:tt)*) => {{
        let mut line = $crate::kmsg::Line::start($level);
        let _ = ufmt::uwrite!(line, $($t)*);
        line.finish();
    }};
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

/// Bytes shown as text; invalid UTF-8 shows as `?`.
pub struct B<'a>(pub &'a [u8]);

impl uDisplay for B<'_> {
    fn fmt<W: uWrite + ?Sized>(&self, f: &mut ufmt::Formatter<'_, W>) -> Result<(), W::Error> {
        for chunk in self.0.utf8_chunks() {
            f.write_str(chunk.valid())?;
            if !chunk.invalid().is_empty() {
                f.write_str("?")?;
            }
        }
        Ok(())
    }
}

/// An errno by name: `ENOENT`, or `errno 4000` for one without a name.
pub struct E(pub Errno);

impl uDisplay for E {
    fn fmt<W: uWrite + ?Sized>(&self, f: &mut ufmt::Formatter<'_, W>) -> Result<(), W::Error> {
        let code = self.0.raw_os_error();
        match modboot::errno::name(code) {
            Some(name) => f.write_str(name),
            None => ufmt::uwrite!(f, "errno {}", code),
        }
    }
}

/// A duration in nanoseconds, shown in milliseconds with three decimals.
pub struct Ms(pub u64);

impl uDisplay for Ms {
    fn fmt<W: uWrite + ?Sized>(&self, f: &mut ufmt::Formatter<'_, W>) -> Result<(), W::Error> {
        let us = self.0 / 1000;
        let frac = us % 1000;
        ufmt::uwrite!(f, "{}.", us / 1000)?;
        if frac < 100 {
            f.write_str("0")?;
        }
        if frac < 10 {
            f.write_str("0")?;
        }
        ufmt::uwrite!(f, "{} ms", frac)
    }
}
