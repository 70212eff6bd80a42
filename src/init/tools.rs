//! Running the image's own programs: the real `cryptsetup`, `lvm` and
//! `mdadm`, packed with their libraries by mkmodboot, as dracut and
//! initramfs-tools run them. A program gets its arguments ([`Argv`]), a
//! fixed environment ([`ENV_PATH`]), bytes on its standard input through
//! a pipe (a passphrase; nothing, and so end of input, for the others),
//! and the console as its standard output and error; the init waits for it.

use crate::sys;
use core::ffi::CStr;
use rustix::fd::AsFd;
use rustix::io::Errno;

/// Longest argument list, and the room for its strings.
const ARGS_MAX: usize = 24;
const ARGS_BYTES: usize = 1536;
/// A tool's environment: where its helpers are. (The init's own
/// descriptors are all close-on-exec: lvm finds none to warn about.)
const ENV_PATH: &CStr = c"PATH=/usr/sbin:/usr/bin:/sbin:/bin";

/// A program's arguments, `argv[0]` (its path) first, NUL-terminated in one
/// buffer.
pub struct Argv {
    buf: [u8; ARGS_BYTES],
    len: usize,
    starts: [u16; ARGS_MAX],
    n: usize,
    /// An argument did not fit: the list is unusable.
    overflow: bool,
}

impl Argv {
    /// `program`, then `args`, one argument each.
    pub fn new(program: &CStr, args: &[&[u8]]) -> Argv {
        let mut a = Argv {
            buf: [0; ARGS_BYTES],
            len: 0,
            starts: [0; ARGS_MAX],
            n: 0,
            overflow: false,
        };
        a.args(&[program.to_bytes()]).args(args);
        a
    }

    /// Add each of `args`, one argument each.
    pub fn args(&mut self, args: &[&[u8]]) -> &mut Self {
        for &arg in args {
            let start = self.len;
            match (
                self.starts.get_mut(self.n),
                self.buf.get_mut(start..start + arg.len() + 1),
            ) {
                (Some(slot), Some(dst)) => {
                    *slot = start as u16;
                    if let Some((nul, text)) = dst.split_last_mut() {
                        text.copy_from_slice(arg);
                        *nul = 0;
                    }
                    self.len += arg.len() + 1;
                    self.n += 1;
                }
                _ => self.overflow = true,
            }
        }
        self
    }
}

/// The exit status of a child that could not exec its program (said).
const NOT_RUN: i32 = 127;

/// Run a program with nothing on its input; a failure is said in one line,
/// `what` failed with its exit status, unless it could not run at all
/// (which its child said).
#[inline(never)]
pub fn run_said(argv: &Argv, what: &str) {
    let r = run(argv, b"");
    if !matches!(r, Ok(0) | Ok(127)) {
        error!("{} failed: exit status {} {}", what, r.unwrap_or(0), r.err());
    }
}

/// Whether the image has `program`, executable.
pub fn has(program: &CStr) -> bool {
    rustix::fs::access(program, rustix::fs::Access::EXEC_OK).is_ok()
}

/// Run the program with `input` on its standard input and wait for it:
/// its exit status (128 + N when signal N ended it).
pub fn run(argv: &Argv, input: &[u8]) -> Result<u32, Errno> {
    if argv.overflow {
        return Err(Errno::TOOBIG);
    }
    let program = CStr::from_bytes_until_nul(&argv.buf).map_err(|_| Errno::INVAL)?;
    let mut ptrs = [core::ptr::null::<u8>(); ARGS_MAX + 1];
    for (p, &s) in ptrs.iter_mut().zip(argv.starts.get(..argv.n).unwrap_or(&[])) {
        *p = argv.buf.as_ptr().wrapping_add(s as usize);
    }
    let (read, write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
    match sys::fork()? {
        None => {
            // Standard input from the pipe (dup2 clears close-on-exec).
            let _ = sys::dup_to_stdin(read.as_fd());
            let env = [ENV_PATH.as_ptr().cast(), core::ptr::null()];
            let e = sys::execve(program, &ptrs, env.as_ptr());
            error!("cannot run {}: {}", program, crate::kmsg::E(e));
            sys::exit(NOT_RUN)
        }
        Some(pid) => {
            drop(read);
            // A passphrase is far less than a pipe holds: one write, then
            // end of input.
            let _ = rustix::io::write(&write, input);
            drop(write);
            let status = loop {
                match rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty()) {
                    Err(Errno::INTR) => continue,
                    other => break other?,
                }
            };
            let status = status.map(|(_, s)| s);
            let code = status.and_then(|s| {
                s.exit_status()
                    .or_else(|| s.terminating_signal().map(|n| 128 + n))
            });
            Ok(code.map_or(255, |c| c as u32))
        }
    }
}
