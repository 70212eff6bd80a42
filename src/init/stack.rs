//! The layers between a disk and the root: LUKS ([`crate::crypt`]), LVM
//! ([`crate::lvm`]) and md RAID ([`crate::md`]), opened by the image's real
//! tools as their devices appear, in whatever order and stacking the
//! machine has (LVM on LUKS, LUKS on LVM, either on md): each block device
//! that shows up is probed ([`modboot::blkid`]), and a container is handed
//! to its layer once; what the layer makes (`dm-N`, `mdN`) is a new block
//! device, probed in its turn when its uevent comes (`change` for
//! device-mapper and md, whose devices are empty at `add`).

use crate::crypt::{self, Crypt};
use crate::{lvm, md};
use modboot::blkid::{Layer, Superblock, Uuid};
use modboot::cmdline;

/// Containers remembered as handed to their layer.
const SEEN_MAX: usize = 64;

/// What the layers have done during one boot.
pub struct Stack<'c> {
    cmdline: &'c [u8],
    crypt: Crypt,
    /// Device numbers of the containers already handed to their layer.
    seen: [(u32, u32); SEEN_MAX],
    seen_len: usize,
    /// A layer failed in a way the boot cannot go past (wrong passphrases).
    pub failed: bool,
    /// Nanoseconds spent waiting for someone to type, not counted against
    /// the root's wait.
    pub asked_ns: u64,
    /// An md member was handed to mdadm.
    md_seen: bool,
    degraded_started: bool,
}

impl<'c> Stack<'c> {
    pub fn new(cmdline: &'c [u8]) -> Self {
        Stack {
            cmdline,
            crypt: Crypt::new(),
            seen: [(0, 0); SEEN_MAX],
            seen_len: 0,
            failed: false,
            asked_ns: 0,
            md_seen: false,
            degraded_started: false,
        }
    }

    /// Block device `dev` (its kernel name), number `devno`, holds the
    /// container `sb`: open it, once.
    #[inline(never)]
    pub fn open(
        &mut self,
        dev: &[u8],
        devno: (u32, u32),
        sb: &Superblock<'_>,
    ) {
        let Some(layer) = sb.fstype.layer() else {
            return;
        };
        let seen = self.seen.get(..self.seen_len).unwrap_or(&[]);
        if seen.contains(&devno) {
            return;
        }
        if let Some(slot) = self.seen.get_mut(self.seen_len) {
            *slot = devno;
            self.seen_len += 1;
        }
        match layer {
            Layer::Luks => {
                let r = self.crypt.open(self.cmdline, dev, devno, sb, &mut self.asked_ns);
                self.failed |= r == crypt::Outcome::Failed;
            }
            Layer::Lvm => {
                if cmdline::off(self.cmdline, b"rd.lvm") {
                    return;
                }
                lvm::activate(self.cmdline);
            }
            Layer::Md => {
                if !md::wanted(self.cmdline, &sb.uuid.unwrap_or(Uuid::Bytes([0; 16]))) {
                    return;
                }
                self.md_seen = true;
                md::add_member(dev);
            }
        }
    }

    /// The root's wait is two thirds over: start incomplete md arrays
    /// degraded (once, if there were md members).
    pub fn waited_long(&mut self) {
        if self.md_seen && !self.degraded_started {
            self.degraded_started = true;
            md::start_degraded();
        }
    }
}
