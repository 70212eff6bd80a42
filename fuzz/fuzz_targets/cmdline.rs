//! The kernel command line, both ways it is read:
//!
//! - as the kernel splits it ([`Params`], [`BootParams::parse`],
//!   [`cmdline::list`], [`cmdline::value`], [`cmdline::for_uuid`]): every
//!   key, value and list item is a slice of the input, in input order, with
//!   no NUL; list items are non-empty and hold no `,`;
//! - as kmod reads module options from it ([`kcmdline::parse`]): every module
//!   name and text piece is a slice of the input (apart from the one `"` it
//!   may insert);
//! - and what the init makes of it: a module's parameter string
//!   ([`Resolver::options`] with a small blob that has `options` of its own),
//!   written into a small and a large buffer as the init writes it. The
//!   pieces come from the blob, the input or are a `" "`/`"\""`; the result
//!   holds no NUL and does not depend on the buffer size when it fits.
//!
//! Nothing may panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use modboot::blob::Blob;
use modboot::cmdline::{self, BootParams, Param, Params};
use modboot::host::emit::{self, BlobSpec, ModuleSpec};
use modboot::kcmdline::{self, Entry};
use modboot::resolve::{self, Object, Resolver};
use std::sync::OnceLock;

/// Start and end address of `part`, which must lie within `whole`.
fn span(whole: &[u8], part: &[u8], what: &str) -> (usize, usize) {
    let w = whole.as_ptr_range();
    let (start, end) = (part.as_ptr() as usize, part.as_ptr() as usize + part.len());
    assert!(
        w.start as usize <= start && end <= w.end as usize,
        "{what} b\"{}\" is not a slice of the input",
        part.escape_ascii()
    );
    (start, end)
}

fn within(whole: &[u8], part: &[u8]) -> bool {
    let w = whole.as_ptr_range();
    let start = part.as_ptr() as usize;
    w.start as usize <= start && start + part.len() <= w.end as usize
}

/// Check one parameter; returns where it ends.
fn check_param(data: &[u8], p: &Param<'_>, after: usize) -> usize {
    let (ks, ke) = span(data, p.key, "key");
    assert!(
        ks >= after,
        "key b\"{}\" starts before the previous parameter ended",
        p.key.escape_ascii()
    );
    assert!(
        !p.key.contains(&0),
        "a NUL in key b\"{}\"",
        p.key.escape_ascii()
    );
    let mut end = ke;
    if let Some(v) = p.value {
        let (vs, ve) = span(data, v, "value");
        assert!(
            vs > ke,
            "value b\"{}\" does not follow its key",
            v.escape_ascii()
        );
        assert!(!v.contains(&0), "a NUL in value b\"{}\"", v.escape_ascii());
        end = ve;
    }
    end
}

/// The payload of a blob with two modules that have configured options, one
/// reached through an alias too.
fn payload() -> &'static [u8] {
    static PAYLOAD: OnceLock<Vec<u8>> = OnceLock::new();
    PAYLOAD.get_or_init(|| {
        let module = |name: &str| ModuleSpec {
            name: name.into(),
            path: format!("kernel/{name}.ko"),
            deps: vec![],
        };
        let spec = BlobSpec {
            release: "6.1.0-fuzz".into(),
            modules: vec![module("virtio_blk"), module("m")],
            load: vec!["virtio_blk".into()],
            config_aliases: vec![("blk".into(), "virtio_blk".into())],
            options: vec![
                ("virtio_blk".into(), "queue_depth=32\tpoll_queues=2".into()),
                ("blk".into(), "x=\"a b\"".into()),
            ],
            ..BlobSpec::default()
        };
        let stored = emit::emit(&spec).expect("the fixed spec is valid");
        emit::payload(&stored).expect("emit's own output")
    })
}

/// The parameter string of `object`, written as the init writes it into a
/// buffer of `N` bytes: `None` when it does not fit.
fn write_params<const N: usize>(
    resolver: &Resolver<'_>,
    object: Object<'_>,
    data: &[u8],
    strings: &[u8],
) -> Option<Vec<u8>> {
    let mut buf = [0u8; N];
    let mut len = 0usize;
    let mut fits = true;
    resolver.options(object, &mut |piece| {
        assert!(
            within(data, piece)
                || within(strings, piece)
                || piece == b" "
                || piece == b"\""
                || piece.is_empty(),
            "piece b\"{}\" is from neither the blob nor the command line",
            piece.escape_ascii()
        );
        match buf.get_mut(len..len + piece.len()) {
            Some(dst) if len + piece.len() < N => {
                dst.copy_from_slice(piece);
                len += piece.len();
            }
            _ => fits = false,
        }
    });
    fits.then(|| buf[..len].to_vec())
}

fuzz_target!(|data: &[u8]| {
    // As the kernel splits it.
    let mut after = data.as_ptr() as usize;
    for p in Params::new(data) {
        after = check_param(data, &p, after);
    }
    let bp = BootParams::parse(data);
    for v in [bp.root, bp.rootfstype, bp.rootflags, bp.init]
        .into_iter()
        .flatten()
    {
        span(data, v, "boot parameter");
    }
    if let Some((p, _)) = bp.invalid {
        check_param(data, &p, data.as_ptr() as usize);
    }
    // The failure policy's parameters are the input's own.
    for (_, p) in [bp.emergency, bp.panic].into_iter().flatten() {
        check_param(data, &p, data.as_ptr() as usize);
    }
    for has_shell in [false, true] {
        let f = bp.on_failure(has_shell);
        assert!(has_shell || !f.shell, "a shell the image does not have");
        if let Some(p) = f.by {
            check_param(data, &p, data.as_ptr() as usize);
        }
    }
    // The layers' lookups (rd.luks.*, rd.md.uuid=): values of the input's
    // own parameters, for a UUID the input may well spell.
    let uuid = modboot::blkid::Uuid::Bytes(core::array::from_fn(|i| data.get(i).copied().unwrap_or(0)));
    for key in [&b"rd.luks"[..], b"rd.luks.name", b"rd.luks.options", b"rd.md.uuid", b"cryptdevice"] {
        if let Some(v) = cmdline::value(data, key) {
            span(data, v, "value");
        }
        for global in [false, true] {
            if let Some(v) = cmdline::for_uuid(data, key, &uuid, global) {
                span(data, v, "value for a UUID");
            }
        }
    }
    let keys: &[&[u8]] = &[b"modules-load", b"rd.driver.pre", b"module_blacklist"];
    for item in cmdline::list(data, keys) {
        span(data, item, "list item");
        assert!(
            !item.is_empty() && !item.contains(&b','),
            "list item b\"{}\"",
            item.escape_ascii()
        );
    }

    // As kmod reads it.
    let mut first_module: Option<&[u8]> = None;
    kcmdline::parse(data, &mut |entry| {
        let text = match entry {
            Entry::Options { module, text } => {
                if !module.is_empty() {
                    span(data, module, "kcmdline module");
                }
                first_module.get_or_insert(module);
                text
            }
            Entry::Blacklist(text) => text,
        };
        // An empty piece may be any empty slice.
        let [a, quote, b] = text.pieces();
        for piece in [a, b].into_iter().filter(|p| !p.is_empty()) {
            span(data, piece, "kcmdline text");
        }
        assert!(quote.is_empty() || quote == b"\"");
    });

    // What the init passes to finit_module(2).
    let payload = payload();
    let blob = Blob::new_checked(payload).expect("emit's own output");
    let resolver = Resolver::for_boot(blob, data);
    let mut buf = [0u8; 256];
    let from_input = first_module.and_then(|m| resolve::normalise(m, &mut buf));
    let object = |name, alias| Object {
        name,
        alias,
        builtin: false,
    };
    let objects = [
        object("virtio_blk", None),
        object("virtio_blk", Some("blk")),
        object("m", None),
    ];
    for object in objects
        .into_iter()
        .chain(from_input.map(|name| object(name, None)))
    {
        let small = write_params::<24>(&resolver, object, data, payload);
        let large = write_params::<4096>(&resolver, object, data, payload);
        for params in [&small, &large].into_iter().flatten() {
            assert!(
                !params.contains(&0),
                "a NUL in parameters b\"{}\"",
                params.escape_ascii()
            );
        }
        if let (Some(small), Some(large)) = (&small, &large) {
            assert_eq!(small, large, "the parameters depend on the buffer size");
        }
        if small.is_some() {
            assert!(large.is_some(), "fits in 24 bytes but not in 4096");
        }
    }
});
