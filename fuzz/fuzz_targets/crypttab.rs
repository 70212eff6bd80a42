//! `/etc/crypttab` text: `crypttab::parse` on arbitrary UTF-8 must not
//! panic; every entry it accepts, rendered as a line and parsed again, is
//! the same entry (on line 1); its warnings, its `cryptsetup open` options
//! for every type and the needed entries for each target give a result
//! without panic, and the options hold no empty argument.

#![no_main]

use libfuzzer_sys::fuzz_target;
use modboot::host::crypttab::{self, Entry, Kind};

fuzz_target!(|data: &[u8]| {
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
    }
});
