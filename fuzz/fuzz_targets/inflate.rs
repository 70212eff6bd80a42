//! Raw DEFLATE as the init inflates it (the blob's payload, a gzip module):
//! whatever the bytes, `inflate` gives a length or an error, never a panic
//! or a write past its buffer; where miniz_oxide decodes the same bytes into
//! a buffer of the same size, both give the same output; and the bytes
//! deflated by miniz_oxide (the host's writer) inflate back to themselves.

#![no_main]

use libfuzzer_sys::fuzz_target;
use modboot::inflate::inflate;

fuzz_target!(|data: &[u8]| {
    let mut ours = vec![0u8; 1 << 16];
    let mut theirs = vec![0u8; 1 << 16];
    let a = inflate(data, &mut ours);
    let b = miniz_oxide::inflate::decompress_slice_iter_to_slice(
        &mut theirs,
        core::iter::once(data),
        false,
        false,
    );
    if let (Ok(n), Ok(m)) = (a, b) {
        assert_eq!(ours[..n], theirs[..m]);
    }
    let packed = miniz_oxide::deflate::compress_to_vec(data, 6);
    let mut back = vec![0u8; data.len()];
    assert_eq!(inflate(&packed, &mut back), Ok(data.len()));
    assert_eq!(back, data);
});
