//! A module file as `mkmodboot image` reads it from a tree: whatever its
//! bytes, `image::stored` (decode by magic, check, store plain or gzip)
//! and `codec::decompress` in every format give a result or an error, never
//! a panic or an allocation past `MAX_MODULE`. What decodes, stored plain,
//! is the decoded bytes; stored gzip, decodes back to them.

#![no_main]

use libfuzzer_sys::fuzz_target;
use modboot::compression::Format;
use modboot::host::codec;
use modboot::host::image;

fuzz_target!(|data: &[u8]| {
    for f in [Format::Plain, Format::Gzip, Format::Xz, Format::Zstd] {
        if let Ok(plain) = codec::decompress(f, data) {
            assert!(plain.len() <= codec::MAX_MODULE);
        }
    }
    let from = Format::detect(data);
    let plain = image::stored(data.to_vec(), Format::Plain);
    if let Ok(plain) = &plain {
        assert_eq!(Ok(plain), codec::decompress(from, data).as_ref());
    }
    if let Ok(gz) = image::stored(data.to_vec(), Format::Gzip) {
        assert_eq!(Format::detect(&gz), Format::Gzip);
        let back = codec::decompress(Format::Gzip, &gz).expect("our gzip reads back");
        if from != Format::Gzip {
            assert_eq!(Ok(&back), plain.as_ref(), "gzip of the plain bytes");
        }
    }
});
