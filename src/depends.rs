//! Load order at boot: a module's dependencies first (in the order the blob
//! stores them, which is modprobe's), then the module, each at most once.
//!
//! The blob stores every module's full dependency list already ordered, so
//! walking needs no recursion and no allocation: only a [`ModSet`] of what was
//! already visited.

use crate::blob::{Blob, Module};

/// A set of module indices: one bit for each possible u16 index (8 KiB).
pub struct ModSet {
    bits: [u64; 1024],
}

impl Default for ModSet {
    fn default() -> Self {
        Self::new()
    }
}

impl ModSet {
    pub const fn new() -> Self {
        ModSet { bits: [0; 1024] }
    }

    /// Add `index`; false if it was already there.
    pub fn insert(&mut self, index: u16) -> bool {
        let (word, bit) = (index as usize / 64, 1u64 << (index % 64));
        match self.bits.get_mut(word) {
            Some(w) if *w & bit == 0 => {
                *w |= bit;
                true
            }
            _ => false,
        }
    }

    pub fn contains(&self, index: u16) -> bool {
        let (word, bit) = (index as usize / 64, 1u64 << (index % 64));
        self.bits.get(word).is_some_and(|w| w & bit != 0)
    }
}

/// Call `visit` for each module that loading `index` needs, in load order:
/// its dependencies, then itself, skipping any already in `seen` (and adding
/// the visited ones to it).
pub fn walk<'a>(blob: &Blob<'a>, index: u16, seen: &mut ModSet, mut visit: impl FnMut(Module<'a>)) {
    let Some(module) = blob.module(index) else {
        return;
    };
    for dep in module.deps().chain(core::iter::once(index)) {
        if seen.insert(dep) {
            if let Some(m) = blob.module(dep) {
                visit(m);
            }
        }
    }
}
