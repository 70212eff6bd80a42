//! When the boot cannot go on: the operator's failure policy, the rescue
//! shell, and the ways PID 1 ends the boot without exiting (PID 1 exiting is
//! a kernel panic with no message).
//!
//! After the lines that said why, [`give_up`] applies the policy that
//! [`BootParams::on_failure`] reads from the command line, by the
//! conventions people know: dracut's `rd.emergency=reboot|poweroff|halt`
//! first, then the kernel's `panic=N` as initramfs-tools' `panic()` reads
//! it (N > 0: reboot after N seconds; N < 0: at once; 0: halt), else the
//! rescue shell when the image has one, then a halt. `rd.shell` asks for
//! the shell before the policy, `rd.shell=0` never starts it.
//!
//! The rescue shell is what `mkmodboot image --rescue` packs at [`SHELL`]:
//! a static shell (busybox) run on the console, in its own session, with the
//! environment the kernel gave PID 1. `rd.break` starts it before
//! switch_root, the root mounted on `/root` ([`rd_break`]); leaving it goes
//! on with the boot.
//!
//! Before a reboot or a power-off, the filesystems are synced and the
//! console's output drained: the kernel prints each kmsg line on the
//! console as it is written, and `tcdrain` waits until the serial port has
//! sent it all.

use crate::clock;
use crate::kmsg::{self, E};
use crate::sys::{self, Args};
use core::ffi::CStr;
use modboot::cmdline::{BootParams, Then};
use rustix::system::RebootCommand;

/// Where `mkmodboot image --rescue` packs the rescue shell.
pub const SHELL: &CStr = c"/bin/sh";

/// Apply the failure policy: the rescue shell first if it applies, then
/// reboot, power off or halt. Never returns.
#[inline(never)]
pub fn give_up(bp: &BootParams<'_>, args: &Args) -> ! {
    let has_shell = has_shell();
    if bp.shell == Some(true) && !has_shell {
        no_shell("rd.shell", "");
    }
    let f = bp.on_failure(has_shell);
    if f.shell {
        error!(
            "cannot continue the boot: starting the rescue shell {} on the console",
            SHELL
        );
        shell(args);
    }
    let mut l = kmsg::Line::start(kmsg::ERR);
    l.push(b"cannot continue the boot: ");
    l.push(match f.then {
        Then::Reboot(0) => b"rebooting now",
        Then::Reboot(_) => b"rebooting in ",
        Then::PowerOff => b"powering off now",
        Then::Halt => b"halting",
    });
    if let Then::Reboot(s @ 1..) = f.then {
        l.push_u64(s as u64);
        l.push(b" s");
    }
    match f.by {
        Some(p) => {
            l.push(b" (");
            l.push(p.key);
            if let Some(v) = p.value {
                l.push(b"=");
                l.push(v);
            }
            l.push(b")");
        }
        None if f.shell => {
            l.push(b" (the rescue shell ended; rd.emergency= or panic= chooses otherwise)")
        }
        None => l.push(
            b" (this image has no shell; rd.emergency=reboot|poweroff|halt or panic=N chooses what happens)",
        ),
    }
    l.finish();
    match f.then {
        Then::Reboot(s) => {
            clock::sleep_ms(s as u64 * 1000);
            power(RebootCommand::Restart)
        }
        Then::PowerOff => power(RebootCommand::PowerOff),
        Then::Halt => halt(),
    }
}

/// `rd.break`: the rescue shell with the root mounted on `/root`; the boot
/// goes on when it ends (or at once, said so, without a shell).
#[inline(never)]
pub fn rd_break(args: &Args) {
    if !has_shell() {
        return no_shell("rd.break", "; going on with the boot");
    }
    info!(
        "rd.break: starting the rescue shell {} on the console, the root on /root; leave it to go on with the boot",
        SHELL
    );
    shell(args);
}

fn has_shell() -> bool {
    rustix::fs::access(SHELL, rustix::fs::Access::EXEC_OK).is_ok()
}

fn no_shell(what: &str, then: &str) {
    error!(
        "{}: this image has no shell (mkmodboot image --rescue packs one){}",
        what, then
    );
}

/// Run the rescue shell on the console (the init's standard input, output
/// and error) in a session of its own, and wait for it to end.
fn shell(args: &Args) {
    match sys::fork() {
        Ok(None) => {
            // Its own session with the console as controlling terminal:
            // job control and ^C work in it.
            let _ = rustix::process::setsid();
            let _ = rustix::process::ioctl_tiocsctty(sys::console());
            let argv = [SHELL.as_ptr().cast(), core::ptr::null()];
            let e = sys::execve(SHELL, &argv, args.envp());
            error!("cannot run {}: {}", SHELL, E(e));
            sys::exit(127)
        }
        Ok(Some(pid)) => {
            let _ = rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty());
        }
        Err(e) => error!("cannot start {}: {}", SHELL, E(e)),
    }
}

/// Sync, drain the console, and reboot or power off; halt if the kernel
/// refuses.
fn power(cmd: RebootCommand) -> ! {
    rustix::fs::sync();
    let _ = rustix::termios::tcdrain(sys::console());
    if let Err(e) = rustix::system::reboot(cmd) {
        error!(
            "the kernel refused to reboot or power off: {}; halting",
            E(e)
        );
    }
    halt()
}

/// Stay alive forever: PID 1 must not exit. The machine stays as it is
/// (Ctrl-Alt-Del still reboots it, as the kernel handles that key itself).
pub fn halt() -> ! {
    loop {
        clock::sleep_ms(3_600_000);
    }
}

/// What the fault handler (`sys::catch_faults`) calls: one line with the
/// signal and the address, then a halt.
pub fn fault(signal: usize, address: usize) -> ! {
    error!(
        "internal error: signal {} at address {} (a bug in modboot); halting",
        signal, address
    );
    halt()
}

/// A panic in a build that does not abort on the spot (the init's build
/// does, `initramfs/build-init`; the fault handler reports that): say
/// where, and stay alive.
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    let mut l = kmsg::Line::start(kmsg::ERR);
    l.push(b"internal error (panic) at ");
    if let Some(loc) = info.location() {
        l.push(loc.file().as_bytes());
        l.push(b":");
        l.push_u64(loc.line() as u64);
    }
    l.finish();
    halt()
}
