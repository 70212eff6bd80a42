//! `/etc/crypttab` text: `crypttab::parse` on arbitrary UTF-8 must not
//! panic; every entry it accepts, rendered as a line and parsed again, is
//! the same entry (on line 1); its warnings, its `cryptsetup open` options
//! for every type and the needed entries for each target give a result
//! without panic, and the options hold no empty argument. The init's
//! reading of options (`modboot::crypttab`, from any bytes) gives values
//! that are the input's own, and for an accepted entry's options only
//! flags the host's reading gives too.

#![no_main]

use libfuzzer_sys::fuzz_target;
use modboot::host::crypttab::{self, Entry, Kind};

fuzz_target!(|data: &[u8]| {
    // The init's side: crypttab options as `rd.luks.options=` gives them,
    // any bytes. Values are the input's own; flags are the table's.
    let within = |v: &[u8]| v.is_empty() || data.as_ptr_range().contains(&v.as_ptr());
    if let Some(v) = modboot::crypttab::option(data, b"tries") {
        assert!(within(v));
    }
    modboot::crypttab::open_flags(data, &mut |flag, value| {
        assert!(flag.starts_with(b"--"));
        assert!(within(value));
    });
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(entries) = crypttab::parse("fuzz", text) else {
        return;
    };
    for e in &entries {
        let line = e.render();
        assert!(!line.contains('\n'), "a newline in {line:?}");
        let again = crypttab::parse("again", &line)
            .unwrap_or_else(|err| panic!("{line:?} does not parse again: {err}"));
        assert_eq!(
            again,
            [Entry {
                line: 1,
                ..e.clone()
            }],
            "{line:?}"
        );
        let _ = e.warnings("fuzz");
        for kind in [
            Kind::Luks,
            Kind::Plain,
            Kind::Tcrypt,
            Kind::Bitlk,
            Kind::Fvault2,
        ] {
            let args = e.open_args(kind);
            assert!(args.iter().all(|a| a.starts_with("--")), "{args:?}");
        }
        let _ = crypttab::needed(&entries, &[e.target.as_str()]);
        // Every flag the init makes of the entry's options (as mkmodboot
        // writes them into the image's command line) is one the host's
        // reading gives a LUKS device too: one table, both sides.
        let options = e.known_options().unwrap_or_default();
        let host = e.open_args(Kind::Luks);
        modboot::crypttab::open_flags(options.as_bytes(), &mut |flag, _| {
            let flag = std::str::from_utf8(flag).unwrap();
            assert!(
                host.iter().any(|a| a == flag || a.starts_with(&format!("{flag}="))),
                "{flag} from {options:?}, not in the host's {host:?}"
            );
        });
    }
});
