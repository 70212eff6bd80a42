//! The blob readers on arbitrary bytes: [`Blob::new_checked`] (the payload)
//! directly, and [`Stored::new_checked`] (the container) followed by
//! [`Stored::payload`] and `Blob::new_checked`, as the init reads a blob. When
//! a payload is accepted, every accessor must work without panicking (the
//! contract in `src/blob.rs`); every module, built-in and alias must be found
//! by the lookups that binary-search their sorted tables; what the init does
//! with the load list ([`Resolver::modprobe`] of each name, which runs the
//! glob and the kmod command-line reader over the blob's strings, then each
//! module's parameters into a fixed buffer) must finish; and the blob must
//! survive `decode` -> `emit` -> read -> `decode` unchanged.
//!
//! The CRC-32 would stop nearly every mutation of a stored blob at
//! `Error::Checksum`, so each input is also tried with its checksum field made
//! right: that is how the fuzzer reaches the inflater and the payload behind it.

#![no_main]

use libfuzzer_sys::fuzz_target;
use modboot::blob::{self, Blob, Stored, field};
use modboot::host::emit::{self, BlobSpec, decode, emit, find_embedded};
use modboot::resolve::{self, Action, Resolver};
use modboot::{cmdline, glob, modname};

/// The largest payload inflated here; the init maps whatever the header says.
const MAX_PAYLOAD: usize = 1 << 20;

fuzz_target!(|data: &[u8]| {
    // The payload reader on its own, with no checksum in the way.
    if let Ok(b) = Blob::new_checked(data) {
        check(data, &b);
    }
    stored(data);
    if let Some(fixed) = with_valid_checksum(data) {
        stored(&fixed);
    }
    // An init binary with a blob inside: scanning arbitrary bytes.
    if let Some(found) = find_embedded(data) {
        assert!(Stored::new_checked(found).is_ok());
    }
});

/// A stored blob, read as the init reads it.
fn stored(data: &[u8]) {
    let Ok(s) = Stored::new_checked(data) else {
        return;
    };
    let mut buf = vec![0u8; s.payload_len().min(MAX_PAYLOAD)];
    let Ok(payload) = s.payload(&mut buf) else {
        return;
    };
    assert_eq!(payload.len(), s.payload_len());
    if let Ok(b) = Blob::new_checked(payload) {
        check(payload, &b);
    }
}

/// `data` with its CRC-32 field set to the checksum of the length its header
/// states (as much of it as there is); `None` if already right or too short.
fn with_valid_checksum(data: &[u8]) -> Option<Vec<u8>> {
    let total = u32::from_le_bytes(data.get(field::TOTAL_LEN)?.try_into().ok()?) as usize;
    let covered = data.get(..total.min(data.len()))?;
    let crc = blob::checksum(covered).to_le_bytes();
    if data.get(field::CRC32)? == crc {
        return None;
    }
    let mut fixed = data.to_vec();
    fixed.get_mut(field::CRC32)?.copy_from_slice(&crc);
    Some(fixed)
}

/// The command line the resolver applies: options, a GRUB-quoted parameter,
/// blacklists, boot lists.
const KCMDLINE: &[u8] = b"root=/dev/vda ro virtio_blk.queue_depth=64 \"virtio_pci.p=a b\" \
    modprobe.blacklist=floppy rd.driver.blacklist=virtio_net module_blacklist=loop \
    rd.driver.pre=virtio_pci modules-load=ext4,virtio-scsi";

/// The init's buffer for one module's parameters.
const PARAMS_MAX: usize = 4096;

/// Everything a validated payload offers, what the init does with its load
/// list, and the round trip.
fn check(payload: &[u8], b: &Blob<'_>) {
    let _ = b.release();
    let count = b.module_count();
    assert!(count <= blob::MAX_MODULES);

    let mut seen_modules = 0usize;
    for m in b.modules() {
        assert_eq!(usize::from(m.index()), seen_modules);
        seen_modules += 1;
        let _ = m.path().to_bytes();
        for d in m.deps() {
            assert!(usize::from(d) < count, "dependency index {d} of {count}");
            assert!(b.module(d).is_some());
        }
        // Lookups binary-search the module table, so every module must be
        // found by its own name (which needs the table sorted, as documented),
        // also when asked for with `-`.
        let name = m.name();
        let dashed = name.replace('_', "-");
        for query in [name.as_bytes(), dashed.as_bytes()] {
            let found = b.find(query).map(|f| f.name());
            assert_eq!(
                found,
                Some(name),
                "find({:?}) misses module {} of an accepted blob",
                query.escape_ascii().to_string(),
                m.index()
            );
        }
    }
    assert_eq!(seen_modules, count);
    if let Ok(past) = u16::try_from(count) {
        assert!(b.module(past).is_none());
    }

    // A name made from the input itself: its last 16 bytes.
    let tail = payload
        .get(payload.len().saturating_sub(16)..)
        .unwrap_or(&[]);
    if let Some(found) = b.find(tail) {
        assert!(modname::eq(found.name().as_bytes(), tail));
    }
    let _ = b.is_builtin(tail);

    // Every other section.
    for _ in b
        .config_aliases()
        .chain(b.builtin_aliases())
        .chain(b.options())
    {}
    for name in b.builtin() {
        assert!(
            b.is_builtin(name.as_bytes()),
            "is_builtin({name:?}) is false for a name of BUILTIN"
        );
    }
    for (i, (pattern, _, _)) in b.aliases().enumerate() {
        assert!(b.alias(i).is_some());
        // The prefix index must lead to every alias, or lookups miss it.
        if let Some((mut hits, _)) = b.aliases_with_prefix(glob::literal_prefix(pattern.as_bytes()))
        {
            assert!(
                hits.any(|h| h == i),
                "aliases_with_prefix misses alias {i} ({pattern:?}) of an accepted blob"
            );
        }
    }
    assert!(b.alias(b.aliases().count()).is_none());
    let _ = b.aliases_with_prefix(tail).map(|(hits, _)| hits.count());
    for (_, _, command) in b.commands() {
        let _ = resolve::is_disabling(command);
    }
    for sd in b.softdeps() {
        let _ = sd.pattern();
        for _ in sd.pre().chain(sd.post()) {}
    }
    for _ in b.blacklist() {}

    // What the init does: modprobe each requested name (of the load list,
    // the first 8, to keep runs fast), and for each module to load, its
    // parameters into a fixed buffer.
    let resolver = Resolver::for_boot(*b, KCMDLINE);
    let pre = cmdline::list(KCMDLINE, &[b"rd.driver.pre"]);
    let load = cmdline::list(
        KCMDLINE,
        &[b"rd.modules-load", b"modules-load", b"modules_load"],
    );
    let names = pre
        .chain(b.load_list().take(8).map(str::as_bytes))
        .chain(load)
        .chain([tail]);
    for name in names {
        let mut buf = [0u8; 256];
        let Some(key) = resolve::normalise(name, &mut buf) else {
            continue;
        };
        let _ = resolver.modprobe(key, &mut |step| {
            let _ = resolver.blacklisted(step.object.name);
            let m = match step.action {
                Action::Insmod(m) => m,
                Action::Install(command) if resolve::is_disabling(command) => return,
                Action::Install(_) => match b.find(step.object.name.as_bytes()) {
                    Some(m) => m,
                    None => return,
                },
                Action::Builtin | Action::Nothing => return,
            };
            assert!(usize::from(m.index()) < count);
            // Options are at most the blob's and the command line's text
            // once each, so this buffer always holds them; `None` then means
            // a NUL, which no blob string or command line can hold.
            let mut params = vec![0u8; payload.len() + KCMDLINE.len() + PARAMS_MAX];
            assert!(
                resolve::options_into(&resolver, step.object, &mut params).is_some(),
                "a NUL in the parameters of {}",
                m.name()
            );
        });
    }

    // Round trip: what the reader accepts, the one writer writes again, and
    // reading that gives the same blob.
    let spec = decode(b);
    let stored = match emit(&spec) {
        Ok(stored) => stored,
        Err(e) => panic!("Blob::new_checked accepted a payload that emit(decode(..)) refuses: {e}"),
    };
    let again = match emit::payload(&stored) {
        Ok(again) => again,
        Err(e) => panic!("emit(decode(..)) wrote a blob whose container is refused: {e:?}"),
    };
    let again = match Blob::new_checked(&again) {
        Ok(again) => decode(&again),
        Err(e) => panic!("emit(decode(..)) wrote a payload Blob::new_checked refuses: {e:?}"),
    };
    if again != spec {
        panic!(
            "decode(read(emit(decode(blob)))) != decode(blob): {}",
            first_difference(&spec, &again)
        );
    }
}

/// Where two specs first differ, for a readable failure.
fn first_difference(a: &BlobSpec, b: &BlobSpec) -> String {
    fn list<T: PartialEq + std::fmt::Debug>(name: &str, a: &[T], b: &[T]) -> Option<String> {
        let i = (0..a.len().max(b.len())).find(|&i| a.get(i) != b.get(i))?;
        Some(format!(
            "{name}[{i}] {:?} came back as {:?}",
            a.get(i),
            b.get(i)
        ))
    }
    if a.release != b.release {
        return format!("release {:?} came back as {:?}", a.release, b.release);
    }
    None.or_else(|| list("modules", &a.modules, &b.modules))
        .or_else(|| list("load", &a.load, &b.load))
        .or_else(|| list("config_aliases", &a.config_aliases, &b.config_aliases))
        .or_else(|| list("aliases", &a.aliases, &b.aliases))
        .or_else(|| list("builtin", &a.builtin, &b.builtin))
        .or_else(|| list("builtin_aliases", &a.builtin_aliases, &b.builtin_aliases))
        .or_else(|| list("options", &a.options, &b.options))
        .or_else(|| list("commands", &a.commands, &b.commands))
        .or_else(|| list("softdeps", &a.softdeps, &b.softdeps))
        .or_else(|| list("blacklist", &a.blacklist, &b.blacklist))
        .unwrap_or_else(|| "a field this target does not know".to_string())
}
