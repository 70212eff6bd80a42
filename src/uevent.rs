//! Kernel uevents, as they arrive on the `NETLINK_KOBJECT_UEVENT` socket.
//!
//! A message is a header line and `KEY=value` pairs, each ended by a NUL
//! (`lib/kobject_uevent.c`):
//!
//! ```text
//! add@/devices/pci0000:00/0000:00:04.0/virtio1\0
//! ACTION=add\0DEVPATH=/devices/...\0SUBSYSTEM=virtio\0MODALIAS=virtio:d00000002v00001AF4\0SEQNUM=812\0
//! ```
//!
//! Messages that udev re-broadcasts start with `libudev\0` and a binary
//! header instead; they are not the kernel's and [`Uevent::parse`] rejects
//! them, as it rejects anything without the `ACTION@DEVPATH` header.

/// One uevent: the fields the init acts on. Values are the raw bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Uevent<'a> {
    /// `add`, `remove`, `change`, `bind`, ...
    pub action: &'a [u8],
    /// The device's path under `/sys`, e.g. `/devices/virtual/block/loop0`.
    pub devpath: &'a [u8],
    pub subsystem: &'a [u8],
    /// What `modprobe` is asked for, when the device wants a driver.
    pub modalias: Option<&'a [u8]>,
    /// The device node's name under `/dev` (block and char devices).
    pub devname: Option<&'a [u8]>,
    /// `disk` or `partition` for block devices.
    pub devtype: Option<&'a [u8]>,
}

impl<'a> Uevent<'a> {
    /// Read a message from the kernel; `None` for anything else.
    pub fn parse(msg: &'a [u8]) -> Option<Self> {
        let mut fields = crate::split_at_byte(msg, 0);
        let header = fields.next()?;
        let at = header.iter().position(|&b| b == b'@')?;
        let mut ev = Uevent {
            action: header.get(..at)?,
            devpath: header.get(at + 1..)?,
            ..Uevent::default()
        };
        if ev.action.is_empty() || !ev.devpath.starts_with(b"/") {
            return None;
        }
        for field in fields {
            let Some(eq) = field.iter().position(|&b| b == b'=') else {
                continue;
            };
            let (key, value) = field.split_at(eq);
            let value = value.get(1..).unwrap_or(&[]);
            const KEYS: [&[u8]; 4] = [b"SUBSYSTEM", b"MODALIAS", b"DEVNAME", b"DEVTYPE"];
            match crate::cmdline::position(&KEYS, key) {
                Some(0) => ev.subsystem = value,
                Some(1) => ev.modalias = Some(value),
                Some(2) => ev.devname = Some(value),
                Some(3) => ev.devtype = Some(value),
                _ => {}
            }
        }
        Some(ev)
    }

    /// A block device (disk or partition) that just appeared.
    pub fn is_block_add(&self) -> bool {
        self.action == b"add" && self.subsystem == b"block"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_kernel_message() {
        let msg = b"add@/devices/pci0000:00/0000:00:04.0/virtio1\0ACTION=add\0\
DEVPATH=/devices/pci0000:00/0000:00:04.0/virtio1\0SUBSYSTEM=virtio\0\
MODALIAS=virtio:d00000002v00001AF4\0SEQNUM=812\0";
        let ev = Uevent::parse(msg).unwrap();
        assert_eq!(ev.action, b"add");
        assert_eq!(ev.devpath, b"/devices/pci0000:00/0000:00:04.0/virtio1");
        assert_eq!(ev.subsystem, b"virtio");
        assert_eq!(ev.modalias, Some(&b"virtio:d00000002v00001AF4"[..]));
        assert_eq!(ev.devname, None);
        assert!(!ev.is_block_add());
    }

    #[test]
    fn parses_a_partition() {
        let msg = b"add@/devices/virtual/block/nvme0n1/nvme0n1p2\0ACTION=add\0SUBSYSTEM=block\0\
MAJOR=259\0MINOR=2\0DEVNAME=nvme0n1p2\0DEVTYPE=partition\0PARTN=2";
        let ev = Uevent::parse(msg).unwrap();
        assert!(ev.is_block_add());
        assert_eq!(ev.devname, Some(&b"nvme0n1p2"[..]));
        assert_eq!(ev.devtype, Some(&b"partition"[..]));
    }

    #[test]
    fn rejects_what_is_not_the_kernels() {
        assert_eq!(Uevent::parse(b"libudev\0\xfe\xed\xca\xfe"), None);
        assert_eq!(Uevent::parse(b""), None);
        assert_eq!(Uevent::parse(b"@/devices/x\0"), None);
        assert_eq!(Uevent::parse(b"add@devices\0"), None);
        // Fields without '=' are skipped, not fatal.
        let ev = Uevent::parse(b"change@/devices/x\0junk\0SUBSYSTEM=block\0").unwrap();
        assert_eq!(ev.subsystem, b"block");
        assert!(!ev.is_block_add());
    }
}
