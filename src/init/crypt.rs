//! LUKS containers (LUKS1 and LUKS2), opened by the image's real
//! `cryptsetup` ([`CRYPTSETUP`], [`crate::tools`]) as `/dev/mapper/NAME`.
//!
//! Which containers, and their names, as the tools people know decide it:
//! - the image's `/etc/crypttab` (the entries mkmodboot took from the
//!   build machine's, as Debian's cryptroot hook takes them): its line
//!   whose source names the device gives the name, key file and options;
//! - `rd.luks.name=UUID=NAME` (systemd's), `rd.luks.uuid=UUID` (dracut's:
//!   named `luks-UUID`), Arch's `cryptdevice=DEVICE:NAME[:OPTIONS]`;
//! - with none of those, every LUKS device, as `luks-UUID` (dracut's
//!   generic images); `rd.luks=0` opens none.
//!
//! The key: the crypttab line's key file, else `rd.luks.key=PATH` (a file
//! in the image), else a passphrase. A passphrase that opened one device
//! is tried on the next before anyone is asked again; otherwise the
//! console asks `Please unlock disk NAME (/dev/DEVICE):` with echo off, up
//! to `tries=` times (3 by default, 0 for no limit) before the boot gives
//! up (the failure policy). The passphrase goes to cryptsetup on a pipe
//! (`--key-file=-`), exactly as typed, without the newline. Crypttab's
//! options that dm-crypt takes become cryptsetup's flags
//! ([`modboot::crypttab::OPEN_FLAGS`]), as do `rd.luks.options=`.

use crate::kmsg::B;
use crate::modload::Loader;
use crate::tools::{self, Argv};
use crate::{clock, files, sys};
use core::ffi::CStr;
use modboot::blkid::Superblock;
use modboot::cmdline;
use modboot::crypttab;
use rustix::io::Errno;

/// Where mkmodboot packs cryptsetup.
pub const CRYPTSETUP: &CStr = c"/sbin/cryptsetup";
const CRYPTTAB: &[u8] = b"/etc/crypttab";
const CRYPTTAB_MAX: usize = 4096;
/// Longest passphrase read (cryptsetup's own limit is 512 characters).
const PASS_MAX: usize = 512;
/// cryptsetup's exit status for a key that opens no key slot.
const WRONG_KEY: u32 = 2;

/// What became of a LUKS device.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Opened,
    /// Not opened, and said why (not listed, no cryptsetup): the boot goes on.
    Left,
    /// Every try failed: the boot cannot go on.
    Failed,
}

/// The image's crypttab and the last passphrase that opened a device.
pub struct Crypt {
    crypttab: [u8; CRYPTTAB_MAX],
    crypttab_len: usize,
    /// Whether the crypttab names any device: then only those open.
    has_entries: bool,
    pass: [u8; PASS_MAX],
    /// 0: no passphrase has opened a device yet.
    pass_len: usize,
}

/// One device to open: its path, the mapping's name, the options.
struct Target<'a> {
    path: &'a [u8],
    name: &'a [u8],
    options: &'a [u8],
    all_options: &'a [u8],
}

impl Crypt {
    /// Read the image's `/etc/crypttab`, if it has one.
    pub fn new() -> Crypt {
        let mut c = Crypt {
            crypttab: [0; CRYPTTAB_MAX],
            crypttab_len: 0,
            has_entries: false,
            pass: [0; PASS_MAX],
            pass_len: 0,
        };
        c.crypttab_len = files::read(CRYPTTAB, &mut c.crypttab).map_or(0, <[u8]>::len);
        let has = crypttab::entries(c.crypttab.get(..c.crypttab_len).unwrap_or(&[])).next();
        c.has_entries = has.is_some();
        c
    }

    /// Open the LUKS device `/dev/DEV` whose header is `sb`. `asked_ns`
    /// grows by the time spent waiting for someone to type.
    #[inline(never)]
    pub fn open(
        &mut self,
        cmdline: &[u8],
        dev: &[u8],
        sb: &Superblock<'_>,
        loader: Option<&mut Loader<'_>>,
        asked_ns: &mut u64,
    ) -> Outcome {
        let mut uuid_buf = [0u8; 36];
        let n = sb.uuid.map_or(0, |u| u.format(&mut uuid_buf));
        let uuid = uuid_buf.get(..n).unwrap_or(&[]);
        let mut path_buf = [0u8; 80];
        let path = files::join(&mut path_buf, &[b"/dev/", dev]).unwrap_or(b"");
        let tab = self.crypttab.get(..self.crypttab_len).unwrap_or(&[]);
        let entry = crypttab::entries(tab)
            .map(|(_, e)| e)
            .find(|e| e.matches(dev, uuid, sb.label));
        let mut name_buf = [0u8; 48];
        let (listed, name, options) = match entry {
            Some(e) => (true, e.target, e.options),
            None => from_cmdline(cmdline, dev, uuid, sb.label, &mut name_buf),
        };
        // Only what is named, once anything is; everything otherwise.
        const NAMING: &[&[u8]] = &[b"rd.luks.uuid", b"rd.luks.name", b"cryptdevice"];
        let selective = self.has_entries || cmdline::list(cmdline, NAMING).next().is_some();
        let why = if cmdline::value(cmdline, b"rd.luks") == Some(b"0") {
            "rd.luks=0"
        } else if selective && !listed {
            "not in the image's crypttab, rd.luks.uuid=, rd.luks.name= or cryptdevice="
        } else if !tools::has(CRYPTSETUP) {
            "this image has no /sbin/cryptsetup (mkmodboot packs it for a root on LUKS, or with layers=luks)"
        } else {
            ""
        };
        if !why.is_empty() {
            warn!("not opening LUKS device {} (UUID={}): {}", B(path), B(uuid), why);
            return Outcome::Left;
        }
        if let Some(l) = loader {
            l.request(b"dm_crypt");
            l.wait_named();
        }
        let t = Target {
            path,
            name,
            options,
            all_options: cmdline::value(cmdline, b"rd.luks.options").unwrap_or(b""),
        };
        let key_file = entry.and_then(|e| e.key).or_else(|| {
            cmdline::value(cmdline, b"rd.luks.key").and_then(|k| k.split(|&c| c == b':').next())
        });
        if let Some(key) = key_file {
            match cryptsetup(&t, key, b"") {
                Ok(0) => return opened(&t, "its key file"),
                r => say(&t, "with its key file: asking for a passphrase", r),
            }
        }
        if self.pass_len > 0 {
            let pass = self.pass.get(..self.pass_len).unwrap_or(&[]);
            if cryptsetup(&t, b"-", pass) == Ok(0) {
                return opened(&t, "the passphrase given before");
            }
        }
        let tries = entry.map_or(3, |e| e.tries());
        let mut wrong = 0;
        while tries == 0 || wrong < tries {
            let mut pass = [0u8; PASS_MAX];
            let asked = clock::now();
            let typed = ask(&t, &mut pass);
            *asked_ns += clock::since(asked);
            let r = match typed {
                Ok(typed) => cryptsetup(&t, b"-", typed).map(|s| (s, typed)),
                Err(e) => Err(e),
            };
            match r {
                Ok((0, typed)) => {
                    if let Some(p) = self.pass.get_mut(..typed.len()) {
                        p.copy_from_slice(typed);
                        self.pass_len = typed.len();
                    }
                    return opened(&t, "the passphrase");
                }
                Ok((WRONG_KEY, _)) => {
                    wrong += 1;
                    say(&t, "with this passphrase", Ok(WRONG_KEY));
                }
                r => {
                    say(&t, "with a passphrase from the console", r.map(|(s, _)| s));
                    return Outcome::Failed;
                }
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

/// The name of a LUKS device that no crypttab line names, from the
/// command line: whether it lists the device, the name, and the options
/// (`cryptdevice=`'s third part).
#[inline(never)]
fn from_cmdline<'c>(
    cmdline: &'c [u8],
    dev: &[u8],
    uuid: &[u8],
    label: &[u8],
    buf: &'c mut [u8; 48],
) -> (bool, &'c [u8], &'c [u8]) {
    // cryptdevice=DEVICE:NAME[:OPTIONS], DEVICE maybe UUID=...
    if let Some(v) = cmdline::value(cmdline, b"cryptdevice") {
        let mut parts = v.splitn(3, |&c| c == b':');
        let (source, name) = (parts.next().unwrap_or(b""), parts.next());
        if let Some(name) = name.filter(|_| crypttab::source_matches(source, dev, uuid, label)) {
            return (true, name, parts.next().unwrap_or(b""));
        }
    }
    let mut listed = false;
    // rd.luks.name=UUID=NAME; rd.luks.uuid=UUID (maybe luks-UUID).
    const KEYS: [&[&[u8]]; 2] = [&[b"rd.luks.name"], &[b"rd.luks.uuid"]];
    for (i, key) in KEYS.into_iter().enumerate() {
        for v in cmdline::list(cmdline, key) {
            let eq = v.iter().position(|&c| c == b'=').unwrap_or(v.len());
            let id = v.get(..eq).unwrap_or(b"");
            let id = id.strip_prefix(b"luks-").unwrap_or(id);
            if id.is_empty() || !id.eq_ignore_ascii_case(uuid) {
                continue;
            }
            if i == 0 {
                return (true, v.get(eq + 1..).unwrap_or(b""), b"");
            }
            listed = true;
        }
    }
    let n = files::join(buf, &[b"luks-", uuid]).map_or(0, <[u8]>::len);
    (listed, buf.get(..n).unwrap_or(&[]), b"")
}

fn opened(t: &Target<'_>, with: &str) -> Outcome {
    info!("opened LUKS device {} as /dev/mapper/{} with {}", B(t.path), B(t.name), with);
    Outcome::Opened
}

/// The line for a try that did not open the device.
#[inline(never)]
fn say(t: &Target<'_>, how: &str, r: Result<u32, Errno>) {
    let (status, e) = match r {
        Ok(s) => (s, None),
        Err(e) => (0, Some(e)),
    };
    warn!(
        "cannot open LUKS device {} as {} {}: cryptsetup exit status {} {}",
        B(t.path),
        B(t.name),
        how,
        status,
        e
    );
}

/// `cryptsetup open FLAGS... --key-file=KEY /dev/DEV NAME`, `input` on
/// its standard input (`KEY` is `-` for a passphrase).
#[inline(never)]
fn cryptsetup(t: &Target<'_>, key: &[u8], input: &[u8]) -> Result<u32, Errno> {
    let mut argv = Argv::new(CRYPTSETUP);
    argv.push(&[b"open"]);
    for o in [t.options, t.all_options] {
        crypttab::open_flags(o, &mut |flag, value| {
            argv.push(&[flag, if value.is_empty() { b"" } else { b"=" }, value]);
        });
    }
    argv.push(&[b"--key-file=", key]).push(&[t.path]).push(&[t.name]);
    tools::run(&argv, input)
}

/// Ask for a passphrase on the console, echo off; the line typed, without
/// its newline.
#[inline(never)]
fn ask<'p>(t: &Target<'_>, pass: &'p mut [u8; PASS_MAX]) -> Result<&'p [u8], Errno> {
    info!("asking for the passphrase of {} ({}) on the console", B(t.name), B(t.path));
    let (out, input) = (sys::console(), sys::console_in());
    for part in [&b"Please unlock disk "[..], t.name, b" (", t.path, b"): "] {
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
    let _ = rustix::io::write(out, b"\n");
    read.map(|()| pass.get(..len).unwrap_or(&[]))
}
