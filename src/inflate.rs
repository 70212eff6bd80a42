//! Raw DEFLATE (RFC 1951) decoding into a caller's buffer.
//!
//! The init inflates two things, each whole and at once: the blob's payload
//! and a gzip module file. The output buffer is then the whole window, so
//! no state outlives the call and back-references read the output itself.
//! The design is that of zlib's `contrib/puff/puff.c` (Mark Adler):
//! canonical Huffman codes kept as counts per length and symbols in code
//! order, decoded a bit at a time, plus a table that decodes every code of
//! up to 9 bits (nearly all of them) in one look-up, and back-references
//! copied as block moves. It takes about 2 KiB of the init where a
//! streaming inflater (miniz_oxide) took 7; in the guest it inflates the
//! generic image's loaded modules 1.9 times as fast as the bit-at-a-time
//! decoder alone (README.md, "Generic images").
//!
//! The rules are puff's, which are zlib's: a code set must be complete,
//! except a literal/length or distance code with a single code of length
//! one; the code lengths' own code must be complete; the end-of-block
//! symbol must have a code; a distance may not reach before the start of
//! the output. Input after the final block is ignored (the caller reads a
//! gzip trailer itself).
//!
//! Checked against miniz_oxide's encoder and decoder on stored, fixed and
//! dynamic blocks and on damaged input (tests below, and the `inflate` fuzz
//! target). No allocation, no panic on any input.

/// Why a stream could not be inflated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The input ended before the final block did.
    Truncated,
    /// A block type, code set, symbol, length or distance that DEFLATE does
    /// not allow.
    Corrupt,
    /// The output does not fit the buffer.
    NoRoom,
}

/// Inflate the raw DEFLATE stream `input` into `out`; returns the number of
/// bytes written.
pub fn inflate(input: &[u8], out: &mut [u8]) -> Result<usize, Error> {
    let mut s = State {
        input,
        pos: 0,
        bitbuf: 0,
        bitcnt: 0,
        out,
        len: 0,
    };
    loop {
        let last = s.bits(1)?;
        match s.bits(2)? {
            0 => s.stored()?,
            1 => s.fixed()?,
            2 => s.dynamic()?,
            _ => return Err(Error::Corrupt),
        }
        if last == 1 {
            return Ok(s.len);
        }
    }
}

/// Most literal/length codes (288 in the fixed code), distance codes (30
/// in a stream; the fixed code has 32, the last two never used), and bits
/// in a code.
const MAX_LCODES: usize = 288;
const MAX_DCODES: usize = 32;
const MAX_BITS: usize = 15;

/// A canonical Huffman code: how many codes of each length, and the symbols
/// in code order. One size for the three kinds of code (code lengths,
/// literals/lengths, distances), so that its functions are compiled once.
struct Huffman {
    count: [u16; MAX_BITS + 1],
    symbol: [u16; MAX_LCODES],
    /// The symbol of every code of at most [`FAST_BITS`] bits, by the next
    /// `FAST_BITS` bits of input (codes are sent most significant bit
    /// first, so an entry is indexed by its code reversed, padded with
    /// every value above it): `symbol << 4 | length`, 0 for a longer code.
    fast: [u16; 1 << FAST_BITS],
}

/// Codes this short are decoded by one table look-up ([`Huffman::fast`]);
/// longer ones (rare: the most frequent symbols get the shortest codes)
/// a bit at a time.
const FAST_BITS: usize = 9;

impl Huffman {
    /// The code for symbols with these code lengths (0: no code). Returns
    /// it and how many codes are left unused: 0 for a complete code, more
    /// for an incomplete one; `None` for an over-subscribed one.
    fn new(lengths: &[u8]) -> Option<(Self, i32)> {
        let mut h = Huffman {
            count: [0; MAX_BITS + 1],
            symbol: [0; MAX_LCODES],
            fast: [0; 1 << FAST_BITS],
        };
        for &l in lengths {
            *h.count.get_mut(l as usize)? += 1;
        }
        let mut left: i32 = 1;
        for len in 1..=MAX_BITS {
            left = (left << 1) - h.count[len] as i32;
            if left < 0 {
                return None;
            }
        }
        // Where each length's symbols start in `symbol`.
        let mut offs = [0u16; MAX_BITS + 1];
        for len in 1..MAX_BITS {
            offs[len + 1] = offs[len] + h.count[len];
        }
        // The first code of each length (RFC 1951 3.2.2), then each
        // symbol's code in turn.
        let mut next = [0u16; MAX_BITS + 1];
        for len in 1..MAX_BITS {
            next[len + 1] = (next[len] + h.count[len]) << 1;
        }
        for (sym, &l) in lengths.iter().enumerate() {
            if l != 0 {
                let o = offs.get_mut(l as usize)?;
                *h.symbol.get_mut(*o as usize)? = sym as u16;
                *o += 1;
                let code = next.get_mut(l as usize)?;
                let l = l as usize;
                if l <= FAST_BITS {
                    let reversed = (code.reverse_bits() >> (16 - l)) as usize;
                    for pad in (reversed..1 << FAST_BITS).step_by(1 << l) {
                        *h.fast.get_mut(pad)? = (sym as u16) << 4 | l as u16;
                    }
                }
                *code += 1;
            }
        }
        Some((h, left))
    }

    /// A code set a stream may use: complete, or a lone code of length one.
    fn usable(lengths: &[u8]) -> Result<Self, Error> {
        match Self::new(lengths) {
            Some((h, 0)) => Ok(h),
            Some((h, _)) if lengths.len() == (h.count[0] + h.count[1]) as usize => Ok(h),
            _ => Err(Error::Corrupt),
        }
    }
}

struct State<'i, 'o> {
    input: &'i [u8],
    pos: usize,
    bitbuf: u32,
    bitcnt: u32,
    out: &'o mut [u8],
    len: usize,
}

impl State<'_, '_> {
    /// The next `need` bits (at most 16), least significant first.
    fn bits(&mut self, need: u32) -> Result<u32, Error> {
        while self.bitcnt < need {
            let b = *self.input.get(self.pos).ok_or(Error::Truncated)?;
            self.pos += 1;
            self.bitbuf |= (b as u32) << self.bitcnt;
            self.bitcnt += 8;
        }
        let v = self.bitbuf & ((1 << need) - 1);
        self.bitbuf >>= need;
        self.bitcnt -= need;
        Ok(v)
    }

    fn put(&mut self, b: u8) -> Result<(), Error> {
        *self.out.get_mut(self.len).ok_or(Error::NoRoom)? = b;
        self.len += 1;
        Ok(())
    }

    /// One symbol of code `h`, read a bit at a time: codes of each length
    /// are consecutive, so a code of `len` bits is that length's if it is
    /// below the first code of the next length.
    #[inline(never)]
    fn decode(&mut self, h: &Huffman) -> Result<usize, Error> {
        // Up to 16 bits in the buffer first (fewer at the end of the
        // input), then walk them without a call per bit.
        while self.bitcnt < 16 {
            let Some(&b) = self.input.get(self.pos) else {
                break;
            };
            self.pos += 1;
            self.bitbuf |= (b as u32) << self.bitcnt;
            self.bitcnt += 8;
        }
        let hit = h.fast[(self.bitbuf as usize) & ((1 << FAST_BITS) - 1)];
        let len = (hit & 15) as u32;
        if hit != 0 && len <= self.bitcnt {
            self.bitbuf >>= len;
            self.bitcnt -= len;
            return Ok((hit >> 4) as usize);
        }
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        let mut buf = self.bitbuf;
        for len in 1..=MAX_BITS {
            if len as u32 > self.bitcnt {
                return Err(Error::Truncated);
            }
            code |= (buf & 1) as i32;
            buf >>= 1;
            let count = h.count[len] as i32;
            if code - count < first {
                self.bitbuf = buf;
                self.bitcnt -= len as u32;
                let at = (index + code - first) as usize;
                return h.symbol.get(at).map(|&s| s as usize).ok_or(Error::Corrupt);
            }
            index += count;
            first = (first + count) << 1;
            code <<= 1;
        }
        Err(Error::Corrupt)
    }

    /// A stored block: byte-aligned LEN, its complement, LEN bytes.
    #[inline(never)]
    fn stored(&mut self) -> Result<(), Error> {
        // Dropping what is left of the current byte aligns the input; the
        // whole bytes `decode` read ahead into the buffer are given back.
        self.pos -= (self.bitcnt / 8) as usize;
        self.bitbuf = 0;
        self.bitcnt = 0;
        let len = self.bits(16)?;
        if self.bits(16)? != !len & 0xffff {
            return Err(Error::Corrupt);
        }
        let end = self.pos + len as usize;
        let data = self.input.get(self.pos..end).ok_or(Error::Truncated)?;
        self.pos = end;
        let dst = self
            .out
            .get_mut(self.len..self.len + data.len())
            .ok_or(Error::NoRoom)?;
        dst.copy_from_slice(data);
        self.len += data.len();
        Ok(())
    }

    /// A block coded with the fixed codes of RFC 1951 3.2.6.
    fn fixed(&mut self) -> Result<(), Error> {
        let mut lengths = [8u8; MAX_LCODES + MAX_DCODES];
        for (sym, l) in lengths.iter_mut().enumerate() {
            *l = match sym {
                144..=255 => 9,
                256..=279 => 7,
                MAX_LCODES.. => 5,
                _ => 8,
            };
        }
        self.block(&lengths, MAX_LCODES)
    }

    /// A block with its codes described at its start (RFC 1951 3.2.7).
    fn dynamic(&mut self) -> Result<(), Error> {
        const ORDER: [u8; 19] = [
            16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
        ];
        let nlen = self.bits(5)? as usize + 257;
        let ndist = self.bits(5)? as usize + 1;
        let ncode = self.bits(4)? as usize + 4;
        if nlen > 286 || ndist > 30 {
            return Err(Error::Corrupt);
        }
        let mut lengths = [0u8; MAX_LCODES + MAX_DCODES];
        for &i in ORDER.iter().take(ncode) {
            lengths[i as usize] = self.bits(3)? as u8;
        }
        let lencode = match Huffman::new(lengths.get(..19).unwrap_or(&[])) {
            Some((h, 0)) => h,
            _ => return Err(Error::Corrupt),
        };
        let mut i = 0;
        while i < nlen + ndist {
            let sym = self.decode(&lencode)?;
            let (value, repeat) = match sym {
                0..=15 => (sym as u8, 1),
                16 => {
                    let prev = *lengths.get(i.wrapping_sub(1)).ok_or(Error::Corrupt)?;
                    (prev, 3 + self.bits(2)?)
                }
                17 => (0, 3 + self.bits(3)?),
                _ => (0, 11 + self.bits(7)?),
            };
            for _ in 0..repeat {
                *lengths
                    .get_mut(i)
                    .filter(|_| i < nlen + ndist)
                    .ok_or(Error::Corrupt)? = value;
                i += 1;
            }
        }
        // Literal/length code lengths first, then distance ones, moved up
        // to where `block` expects them.
        lengths.copy_within(nlen..nlen + ndist, MAX_LCODES);
        lengths.get_mut(nlen..MAX_LCODES).unwrap_or(&mut []).fill(0);
        if lengths[256] == 0 {
            return Err(Error::Corrupt); // no end-of-block code
        }
        self.block(&lengths, nlen)
    }

    /// The symbols of a block, given its literal/length code lengths
    /// (`nlen` of them, at the start of `lengths`) and its distance code
    /// lengths (at [`MAX_LCODES`]).
    fn block(&mut self, lengths: &[u8; MAX_LCODES + MAX_DCODES], nlen: usize) -> Result<(), Error> {
        let (lit, dist) = lengths.split_at(MAX_LCODES);
        let lencode = Huffman::usable(lit.get(..nlen).unwrap_or(&[]))?;
        let distcode = Huffman::usable(dist)?;
        loop {
            let sym = self.decode(&lencode)?;
            if sym < 256 {
                self.put(sym as u8)?;
                continue;
            }
            if sym == 256 {
                return Ok(());
            }
            // Lengths 3..258: codes 257..284 in groups of four per count
            // of extra bits, 285 alone for 258.
            let i = sym - 257;
            let len = match i {
                0..=7 => i + 3,
                8..=27 => {
                    let extra = (i - 4) / 4;
                    ((4 + (i & 3)) << extra) + 3 + self.bits(extra as u32)? as usize
                }
                28 => 258,
                _ => return Err(Error::Corrupt),
            };
            // Distances 1..32768: codes 0..29, two per count of extra bits.
            let d = self.decode(&distcode)?;
            let dist = match d {
                0..=3 => d + 1,
                4..=29 => {
                    let extra = (d - 2) / 2;
                    ((2 + (d & 1)) << extra) + 1 + self.bits(extra as u32)? as usize
                }
                _ => return Err(Error::Corrupt),
            };
            if dist > self.len {
                return Err(Error::Corrupt);
            }
            // The copy repeats the `dist` bytes before it: copied in
            // chunks, each as long as what is already there from `start`
            // (a whole number of periods), so each chunk is one move.
            let start = self.len - dist;
            let end = self.len + len;
            let out = self.out.get_mut(..end).ok_or(Error::NoRoom)?;
            let mut at = self.len;
            while at < end {
                let n = (at - start).min(end - at);
                out.copy_within(start..start + n, at);
                at += n;
            }
            self.len = end;
        }
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;

    /// A small deterministic generator: text-like runs and random bytes.
    fn sample(seed: u64, len: usize) -> Vec<u8> {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let words: [&[u8]; 6] = [
            b"modalias ",
            b"virtio_blk ",
            b"\0",
            b"pci:v*d*",
            b"ext4",
            b"\n",
        ];
        let mut v = Vec::with_capacity(len);
        while v.len() < len {
            let r = next();
            match r % 4 {
                0 => v.push((r >> 8) as u8),
                _ => v.extend_from_slice(words[(r >> 8) as usize % words.len()]),
            }
        }
        v.truncate(len);
        v
    }

    fn check(data: &[u8], level: u8) {
        let packed = miniz_oxide::deflate::compress_to_vec(data, level);
        let mut out = vec![0u8; data.len()];
        assert_eq!(
            inflate(&packed, &mut out),
            Ok(data.len()),
            "level {level}, {} bytes",
            data.len()
        );
        assert!(
            out == data,
            "level {level}, {} bytes: output differs",
            data.len()
        );
        if !data.is_empty() {
            let mut short = vec![0u8; data.len() - 1];
            assert_eq!(inflate(&packed, &mut short), Err(Error::NoRoom));
        }
    }

    #[test]
    fn agrees_with_miniz_on_every_level_and_size() {
        // Level 0 writes stored blocks, 1 mostly fixed codes, the others
        // dynamic ones; 70,000 bytes span several blocks and 32 KiB
        // distances.
        for (seed, len) in [(1, 0), (2, 1), (3, 100), (4, 4000), (5, 70_000)] {
            let data = sample(seed, len);
            for level in [0, 1, 6, 9, 10] {
                check(&data, level);
            }
        }
        check(&[7u8; 100_000], 9); // one long run: overlapping copies
    }

    #[test]
    fn fixed_and_stored_blocks_by_hand() {
        // RFC 1951 fixed block for "a": 'a' (0x61) is 0x30 + 0x61 in 8
        // bits, then end of block (7 zero bits). As zlib writes it:
        assert_eq!(inflate(&[0x4b, 0x04, 0x00], &mut [0u8; 1]), Ok(1));
        // A final stored block of 3 bytes.
        let stored = [0x01, 0x03, 0x00, 0xfc, 0xff, b'a', b'b', b'c'];
        let mut out = [0u8; 3];
        assert_eq!(inflate(&stored, &mut out), Ok(3));
        assert_eq!(&out, b"abc");
        // LEN and NLEN that disagree, a reserved block type, empty input.
        assert_eq!(
            inflate(&[0x01, 0x03, 0x00, 0xfc, 0xfe], &mut out),
            Err(Error::Corrupt)
        );
        assert_eq!(inflate(&[0x07], &mut out), Err(Error::Corrupt));
        assert_eq!(inflate(&[], &mut out), Err(Error::Truncated));
    }

    /// A stored block after a coded one: the bytes read ahead for the coded
    /// one's symbols belong to the stored block (gzip writes this for 9 of
    /// the cloud tree's 1,121 modules).
    #[test]
    fn stored_block_after_a_coded_one() {
        let mut bits: Vec<bool> = Vec::new();
        let lsb_first = |v: u32, n: u32, bits: &mut Vec<bool>| {
            (0..n).for_each(|i| bits.push(v >> i & 1 == 1));
        };
        // Not final, fixed codes; 'a' (0x30 + 0x61, 8 bits, most significant
        // bit first), end of block (7 zero bits); final, stored.
        lsb_first(0, 1, &mut bits);
        lsb_first(1, 2, &mut bits);
        (0..8).rev().for_each(|i| bits.push(0x91u32 >> i & 1 == 1));
        bits.extend([false; 7]);
        lsb_first(1, 1, &mut bits);
        lsb_first(0, 2, &mut bits);
        let mut stream: Vec<u8> = bits
            .chunks(8)
            .map(|c| {
                c.iter()
                    .enumerate()
                    .fold(0u8, |b, (i, &x)| b | (x as u8) << i)
            })
            .collect();
        stream.extend_from_slice(&[0x02, 0x00, 0xfd, 0xff, b'b', b'c']);
        let mut out = [0u8; 3];
        assert_eq!(inflate(&stream, &mut out), Ok(3));
        assert_eq!(&out, b"abc");
    }

    #[test]
    fn damaged_streams_fail_without_panic_and_never_disagree() {
        let data = sample(9, 1500);
        for level in [1, 9] {
            let packed = miniz_oxide::deflate::compress_to_vec(&data, level);
            for cut in (0..packed.len()).step_by(7) {
                let mut out = vec![0u8; data.len()];
                assert!(inflate(&packed[..cut], &mut out).is_err(), "cut at {cut}");
            }
            for i in 0..packed.len() * 8 {
                let mut bad = packed.clone();
                bad[i / 8] ^= 1 << (i % 8);
                let mut ours = vec![0u8; data.len() + 64];
                let mut theirs = vec![0u8; data.len() + 64];
                let a = inflate(&bad, &mut ours);
                let b = miniz_oxide::inflate::decompress_slice_iter_to_slice(
                    &mut theirs,
                    core::iter::once(&bad[..]),
                    false,
                    false,
                );
                // Where both decode, they decode alike.
                if let (Ok(n), Ok(m)) = (a, b) {
                    assert_eq!(ours[..n], theirs[..m], "bit {i}");
                }
            }
        }
    }
}
