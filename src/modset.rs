//! A set of module indices with no allocation: what the init has loaded, or
//! failed to load, so that each module is attempted once however many
//! requests reach it.

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
