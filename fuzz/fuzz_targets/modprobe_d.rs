//! `modprobe.d` text: `Config::parse` on arbitrary UTF-8 must not panic,
//! and what it keeps must be what kmod keeps: every name and pattern already
//! normalised by kmod's `underscores()` (so normalising again changes
//! nothing), no tab left in `options` text, and the options found for a name
//! taken from the input the same whichever of `-`/`_` it is written with.

#![no_main]

use libfuzzer_sys::fuzz_target;
use modboot::host::modprobe_d::{Config, is_disabling};
use modboot::modname;

/// kmod's normalisation of a name, `None` if kmod refuses it.
fn underscores(s: &str) -> Option<Vec<u8>> {
    Some(modname::underscores(s.as_bytes())?.collect())
}

fn assert_normalised(what: &str, s: &str) {
    assert_eq!(
        underscores(s).as_deref(),
        Some(s.as_bytes()),
        "{what} {s:?} is not normalised"
    );
}

/// Every `options` text for the name `raw` normalises to, joined as modprobe does.
fn options_for(config: &Config, raw: &str) -> Option<String> {
    let name = underscores(raw)?;
    let texts: Vec<&str> = config
        .options
        .iter()
        .filter(|(n, _)| n.as_bytes() == name)
        .map(|(_, t)| t.as_str())
        .collect();
    Some(texts.join(" "))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut config = Config::default();
    config.parse("fuzz.conf", text);

    for (pattern, target) in &config.aliases {
        assert_normalised("alias pattern", pattern);
        assert_normalised("alias target", target);
    }
    for (name, text) in &config.options {
        assert_normalised("options name", name);
        assert!(!text.contains('\t'), "a tab in options text {text:?}");
    }
    for (_, name, command) in &config.commands {
        assert_normalised("install/remove name", name);
        let _ = is_disabling(command);
    }
    for sd in &config.softdeps {
        assert_normalised("softdep name", &sd.pattern);
    }
    for name in &config.blacklist {
        assert_normalised("blacklist name", name);
    }
    for (name, command) in config.unrunnable_installs() {
        assert!(!is_disabling(command), "{name}: {command:?} is disabling");
    }

    // The second word of each of the first lines (the module of an
    // `options` line), and the input's last word.
    let mut names: Vec<&str> = text
        .lines()
        .take(8)
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    names.extend(text.split_whitespace().last());
    for name in names {
        let options = options_for(&config, name);
        if !name.contains('[') {
            assert_eq!(options, options_for(&config, &name.replace('-', "_")));
            assert_eq!(options, options_for(&config, &name.replace('_', "-")));
        }
    }
});
