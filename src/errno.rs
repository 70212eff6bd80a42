//! Names for Linux errno values, so a failed boot says `ENOEXEC`, not `8`.
//!
//! The numbers are the asm-generic ones, shared by x86_64, aarch64 and riscv64.
//! Only the codes that module loading, mounting and exec plausibly return are
//! named; anything else is printed as a number by the caller.

/// The codes named, in the order of [`NAMES`].
const CODES: [u8; 38] = [
    1, 2, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 16, 17, 19, 20, 21, 22, 24, 26, 27, 28, 30, 36, 38,
    39, 40, 61, 74, 75, 95, 110, 117, 126, 127, 128, 129,
];

/// Their names, one string, each ending with a space: a table of `&str`
/// (16 bytes each) or a `match` (a comparison and a load each) would cost
/// the init several hundred bytes more.
const NAMES: &str = "EPERM ENOENT EINTR EIO ENXIO E2BIG ENOEXEC EBADF EAGAIN ENOMEM EACCES \
EFAULT ENOTBLK EBUSY EEXIST ENODEV ENOTDIR EISDIR EINVAL EMFILE ETXTBSY EFBIG ENOSPC EROFS \
ENAMETOOLONG ENOSYS ENOTEMPTY ELOOP ENODATA EBADMSG EOVERFLOW EOPNOTSUPP ETIMEDOUT EUCLEAN \
ENOKEY EKEYEXPIRED EKEYREVOKED EKEYREJECTED ";

/// The symbolic name of `code` (a positive errno), if it is one we name.
pub fn name(code: i32) -> Option<&'static [u8]> {
    let i = CODES.iter().position(|&c| c as i32 == code)?;
    let mut rest = NAMES.as_bytes();
    for _ in 0..i {
        rest = rest.get(rest.iter().position(|&b| b == b' ')? + 1..)?;
    }
    rest.get(..rest.iter().position(|&b| b == b' ')?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn names() {
        assert_eq!(super::name(17), Some(&b"EEXIST"[..]));
        assert_eq!(super::name(8), Some(&b"ENOEXEC"[..]));
        assert_eq!(super::name(0), None);
        assert_eq!(super::name(4095), None);
        assert_eq!(super::name(1), Some(&b"EPERM"[..]));
        assert_eq!(super::name(129), Some(&b"EKEYREJECTED"[..]));
        assert_eq!(super::name(36), Some(&b"ENAMETOOLONG"[..]));
        assert_eq!(super::name(3), None);
        assert_eq!(super::CODES.len(), super::NAMES.split(' ').count() - 1);
    }
}
