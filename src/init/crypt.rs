//! LUKS containers (LUKS1 and LUKS2), opened by the image's real
//! `cryptsetup` ([`CRYPTSETUP`], [`crate::tools`]) as `/dev/mapper/NAME`.
//!
//! Which containers, their names, keys and options come from the command
//! line, in the spellings of systemd and dracut, which the image's own
//! parameters join ([`crate::files::read_cmdline`]: mkmodboot writes there
//! what the build machine's `/etc/crypttab` says of the devices the root
//! needs, as dracut's host-only images do):
//! - `rd.luks.name=UUID=NAME` names a device (the UUID may be written
//!   `luks-UUID`); `rd.luks.uuid=UUID` asks for one, named `luks-UUID`;
//!   Arch's `cryptdevice=DEVICE:NAME[:OPTIONS]`, DEVICE in any form
//!   `root=` takes; with none of these, every LUKS device opens, as
//!   `luks-UUID` (dracut's generic images); `rd.luks=0` opens none;
//! - `rd.luks.key=UUID=PATH` (or `PATH` for every device, dracut's
//!   `PATH:KEYDEV` read as `PATH`): a key file in the image;
//! - `rd.luks.options=UUID=OPTIONS` (or `OPTIONS` for every device):
//!   crypttab's options, those dm-crypt takes passed to cryptsetup
//!   ([`modboot::crypttab::open_flags`]), and `tries=`.
//!
//! The key: the key file, then the passphrase that opened the device
//! before (one passphrase is tried on every device before anyone is asked
//! again), then the console: `Please unlock disk NAME (/dev/DEVICE):` on a line of its own,
//! echo off, up to `tries=` times (3 by default, 0 for no limit); then the
//! boot gives up (the failure policy). A passphrase goes to cryptsetup on
//! a pipe (`--key-file=-`), exactly as typed, without the newline.

use crate::kmsg::B;
use crate::tools::{self, Argv};
use crate::{clock, files, sys};
use core::ffi::CStr;
use modboot::blkid::{Superblock, Uuid};
use modboot::cmdline;
use modboot::crypttab;
use modboot::rootdev::RootDev;
use rustix::io::Errno;

/// Where mkmodboot packs cryptsetup.
pub const CRYPTSETUP: &CStr = c"/sbin/cryptsetup";
/// Longest passphrase read (cryptsetup's own limit is 512 characters).
const PASS_MAX: usize = 512;
/// cryptsetup's exit status for a key that opens no key slot.
const WRONG_KEY: u32 = 2;

/// What became of a LUKS device.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Opened,
    /// Not opened, and said why: the boot goes on.
    Left,
    /// Every try failed: the boot cannot go on.
    Failed,
}

/// The passphrase that last opened a device.
pub struct Crypt {
    pass: [u8; PASS_MAX],
    /// 0: no passphrase has opened a device yet.
    pass_len: usize,
}

/// One device to open: its path, the mapping's name, its options.
struct Target<'a> {
    path: &'a [u8],
    name: &'a [u8],
    options: &'a [u8],
}

impl Crypt {
    pub fn new() -> Crypt {
        Crypt {
            pass: [0; PASS_MAX],
            pass_len: 0,
        }
    }

    /// Open the LUKS device `/dev/DEV`, number `devno`, whose header is
    /// `sb`. `asked_ns` grows by the time spent waiting for someone to type.
    #[inline(never)]
    pub fn open(
        &mut self,
        cmdline: &[u8],
        dev: &[u8],
        devno: (u32, u32),
        sb: &Superblock<'_>,
        asked_ns: &mut u64,
    ) -> Outcome {
        let mut uuid_buf = [0u8; 36];
        let uuid = sb.uuid.unwrap_or(Uuid::Bytes([0; 16]));
        let n = uuid.format(&mut uuid_buf);
        let uuid_text = uuid_buf.get(..n).unwrap_or(&[]);
        let mut path_buf = [0u8; 80];
        let path = files::join(&mut path_buf, &[b"/dev/", dev]).unwrap_or(b"");
        let mut name = cmdline::for_uuid(cmdline, b"rd.luks.name", &uuid, false);
        let mut options = cmdline::for_uuid(cmdline, b"rd.luks.options", &uuid, true).unwrap_or(b"");
        // cryptdevice=DEVICE:NAME[:OPTIONS]
        if let Some(v) = cmdline::value(cmdline, b"cryptdevice") {
            let (source, rest) = split_colon(v);
            let source = RootDev::parse(source);
            if source.is_some_and(|s| s.is_device(dev, Some(devno)) || s.is_filesystem(sb)) {
                let (n, o) = split_colon(rest);
                (name, options) = (Some(n), o);
            }
        }
        let listed = name.is_some() || cmdline::for_uuid(cmdline, b"rd.luks.uuid", &uuid, false).is_some();
        let selective = [&b"rd.luks.uuid"[..], b"rd.luks.name", b"cryptdevice"]
            .into_iter()
            .any(|k| cmdline::value(cmdline, k).is_some());
        let why = if cmdline::off(cmdline, b"rd.luks") {
            "rd.luks=0"
        } else if selective && !listed {
            "the command line names other devices"
        } else if !tools::has(CRYPTSETUP) {
            "the image has no /sbin/cryptsetup"
        } else {
            ""
        };
        if !why.is_empty() {
            warn!("not opening LUKS device {} (UUID={}): {}", B(path), B(uuid_text), why);
            return Outcome::Left;
        }
        let mut name_buf = [0u8; 48];
        let name = name.unwrap_or_else(|| {
            files::join(&mut name_buf, &[b"luks-", uuid_text]).unwrap_or(b"")
        });
        let t = Target {
            path,
            name,
            options,
        };
        let key_file = cmdline::for_uuid(cmdline, b"rd.luks.key", &uuid, true).map(|k| split_colon(k).0);
        let tries = crypttab::option(options, b"tries")
            .and_then(cmdline::parse_u32)
            .unwrap_or(3);
        // Its key file, then the passphrase that opened the last device,
        // then what the console gives, `tries` times.
        let mut wrong = 0;
        for attempt in 0u32.. {
            let (key, input): (&[u8], &[u8]) = match attempt {
                0 => match key_file {
                    Some(k) => (k, b""),
                    None => continue,
                },
                1 if self.pass_len == 0 => continue,
                1 => (b"-", self.pass.get(..self.pass_len).unwrap_or(&[])),
                _ if tries > 0 && wrong >= tries => break,
                _ => {
                    // Typed over the last passphrase, which did not open
                    // this device; kept if it opens it.
                    self.pass_len = 0;
                    let asked = clock::now();
                    let read = ask(&t, &mut self.pass);
                    *asked_ns += clock::since(asked);
                    match read {
                        Ok(p) => (b"-", p),
                        Err(e) => {
                            say(&t, "no passphrase from the console", Err(e));
                            return Outcome::Failed;
                        }
                    }
                }
            };
            let how = match attempt {
                0 => "its key file",
                1 => "the passphrase given before",
                _ => "the passphrase typed",
            };
            let n = input.len();
            let r = cryptsetup(&t, key, input);
            if r == Ok(0) {
                info!(
                    "opened LUKS device {} as /dev/mapper/{} with {}",
                    B(t.path),
                    B(t.name),
                    how
                );
                if attempt > 1 {
                    self.pass_len = n;
                }
                return Outcome::Opened;
            }
            // The passphrase given before is tried quietly.
            if attempt != 1 {
                say(&t, how, r);
            }
            if attempt > 1 {
                if r != Ok(WRONG_KEY) {
                    return Outcome::Failed;
                }
                wrong += 1;
            }
        }
        error!(
            "cannot open LUKS device {} as {}: {} wrong passphrases (tries={})",
            B(t.path),
            B(t.name),
            wrong,
            tries
        );
        Outcome::Failed
    }
}

/// `A:B` as `A` and `B` (`B` empty without a colon).
fn split_colon(s: &[u8]) -> (&[u8], &[u8]) {
    let colon = s.iter().position(|&c| c == b':').unwrap_or(s.len());
    (s.get(..colon).unwrap_or(s), s.get(colon + 1..).unwrap_or(&[]))
}

/// The line for a try that did not open the device.
#[inline(never)]
fn say(t: &Target<'_>, how: &str, r: Result<u32, Errno>) {
    let (status, e) = match r {
        Ok(s) => (s, None),
        Err(e) => (0, Some(e)),
    };
    warn!(
        "cannot open LUKS device {} as {} with {}: cryptsetup exit status {} {}",
        B(t.path),
        B(t.name),
        how,
        status,
        e
    );
}

/// `cryptsetup open FLAGS... --key-file KEY /dev/DEV NAME`, `input` on
/// its standard input (`KEY` is `-` for a passphrase).
#[inline(never)]
fn cryptsetup(t: &Target<'_>, key: &[u8], input: &[u8]) -> Result<u32, Errno> {
    let mut argv = Argv::new(CRYPTSETUP, &[b"open"]);
    crypttab::open_flags(t.options, &mut |flag, value| {
        // A flag's value as the argument after it.
        argv.args(&[flag]);
        if !value.is_empty() {
            argv.args(&[value]);
        }
    });
    argv.args(&[b"--key-file", key, t.path, t.name]);
    tools::run(&argv, input)
}

/// Ask for a passphrase on the console, echo off; the line typed, without
/// its newline.
#[inline(never)]
fn ask<'p>(t: &Target<'_>, pass: &'p mut [u8; PASS_MAX]) -> Result<&'p [u8], Errno> {
    // A whole line: the console shows it even mid-line, and a reader of
    // the console (a test, a serial log) sees the prompt as it comes.
    let (out, input) = (sys::console(), sys::console_in());
    for part in [&b"Please unlock disk "[..], t.name, b" (", t.path, b"):\n"] {
        rustix::io::write(out, part)?;
    }
    let echo = sys::console_echo(false);
    let mut len = 0;
    let read = loop {
        let mut c = [0u8; 1];
        match rustix::io::read(input, &mut c) {
            Ok(0) => break Err(Errno::NODATA),
            Ok(_) if c[0] == b'\n' || c[0] == b'\r' => break Ok(()),
            Ok(_) => {
                if let Some(slot) = pass.get_mut(len) {
                    *slot = c[0];
                    len += 1;
                }
            }
            Err(Errno::INTR) => {}
            Err(e) => break Err(e),
        }
    };
    if echo {
        sys::console_echo(true);
    }
    read.map(|()| pass.get(..len).unwrap_or(&[]))
}
