//! The kernel's device events, from a `NETLINK_KOBJECT_UEVENT` socket bound
//! to the kernel's multicast group. Opened before the coldplug walk, so no
//! device added during the walk goes unseen.

use modboot::uevent::Uevent;
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::io::Errno;
use rustix::net::{AddressFamily, SocketFlags, SocketType, netlink};

/// The kernel's uevents (group 1; udev's re-broadcasts are group 2).
const KERNEL_GROUP: u32 = 1;
/// A boot with many devices can queue thousands of events at once.
const RECV_BUFFER: usize = 4 << 20;

pub struct Uevents {
    fd: OwnedFd,
}

impl Uevents {
    pub fn open() -> Result<Self, Errno> {
        let fd = rustix::net::socket_with(
            AddressFamily::NETLINK,
            SocketType::DGRAM,
            SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
            Some(netlink::KOBJECT_UEVENT),
        )?;
        // Best effort: without it the default buffer still holds hundreds.
        let _ = rustix::net::sockopt::set_socket_recv_buffer_size_force(&fd, RECV_BUFFER);
        rustix::net::bind(&fd, &netlink::SocketAddrNetlink::new(0, KERNEL_GROUP))?;
        Ok(Uevents { fd })
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Hand every queued event to `f`; returns when none is left. An
    /// overflowed socket (`ENOBUFS`) lost events: says so, and `true` asks
    /// the caller to walk the devices again.
    pub fn drain(&self, f: &mut dyn FnMut(Uevent<'_>)) -> bool {
        let mut buf = [0u8; 8192];
        loop {
            match rustix::io::read(&self.fd, &mut buf) {
                Ok(n) => {
                    if let Some(ev) = buf.get(..n).and_then(Uevent::parse) {
                        f(ev);
                    }
                }
                Err(Errno::INTR) => {}
                Err(Errno::NOBUFS) => {
                    warn!("uevents lost (socket overflow); walking the devices again");
                    return true;
                }
                Err(_) => return false,
            }
        }
    }
}
