//! `modprobe.d` configuration, read exactly as kmod 30 reads it
//! (`libkmod-config.c`), so that what modboot loads is what modprobe would.
//!
//! - Files: from each directory, names ending in `.conf` or `.alias` (not
//!   hidden); a path that is a file is taken whatever its name. All are sorted
//!   by file name; for a name that repeats, the earlier path wins. The tree's
//!   own `modules.softdep` joins that list under its name.
//! - Lines: a backslash joins the next line; before any other character it is
//!   dropped and the character kept. A line is a comment only when `#` is its
//!   very first character.
//! - Commands: `alias PATTERN NAME`, `options NAME REST`, `install NAME REST`,
//!   `remove NAME REST`, `blacklist NAME`, `softdep NAME REST`; words are
//!   separated by spaces and tabs. `REST` is the rest of the line after the
//!   one separator that ended NAME, kept as it is (tabs become spaces in
//!   `options`). Names and patterns are normalised with kmod's `underscores()`.
//!   `include` and `config` are obsolete; anything else is a bad line. Both are
//!   reported, as kmod does, and skipped.
//! - `weakdep NAME NAMES...` (kmod 33; kmod 30 calls it a bad line): kept for
//!   packing only, so what it names is in the initramfs but never loaded for
//!   NAME. The tree's `modules.weakdep`, when there is one, is read as well.

use super::emit::SoftdepSpec;
use crate::blob::{COMMAND_INSTALL, COMMAND_REMOVE};
use crate::modname;
pub use crate::resolve::is_disabling;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Parsed configuration, every list in configuration order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// `alias`: (pattern, target).
    pub aliases: Vec<(String, String)>,
    /// `options`: (name, text).
    pub options: Vec<(String, String)>,
    /// `install`/`remove`: (kind, name, command).
    pub commands: Vec<(u32, String, String)>,
    pub softdeps: Vec<SoftdepSpec>,
    pub blacklist: Vec<String>,
    /// `weakdep NAME NAMES...` (kmod 33): modules the initramfs should carry
    /// for NAME, never loaded for it. Only packing uses them.
    pub weakdeps: Vec<(String, Vec<String>)>,
    /// What kmod would complain about, in its words.
    pub warnings: Vec<String>,
}

/// kmod's `underscores()` on a name from configuration.
fn underscores(s: &str) -> Option<String> {
    let bytes: Vec<u8> = modname::underscores(s.as_bytes())?.collect();
    String::from_utf8(bytes).ok()
}

impl Config {
    /// Read the `.conf`/`.alias` files of `paths` (directories or files) and
    /// the tree's `modules.softdep`, in kmod's order.
    pub fn load(paths: &[PathBuf], modules_softdep: Option<&Path>) -> Result<Config, String> {
        let mut files: BTreeMap<Vec<u8>, PathBuf> = BTreeMap::new();
        if let Some(sd) = modules_softdep.filter(|p| p.is_file()) {
            files.insert(b"modules.softdep".to_vec(), sd.to_path_buf());
            // kmod 33's depmod writes weakdeps beside it; read the same way.
            let weak = sd.with_file_name("modules.weakdep");
            if weak.is_file() {
                files.insert(b"modules.weakdep".to_vec(), weak);
            }
        }
        for p in paths {
            let Ok(meta) = std::fs::metadata(p) else {
                continue;
            }; // kmod skips missing paths
            let entries: Vec<PathBuf> = if meta.is_dir() {
                let mut v = Vec::new();
                for e in std::fs::read_dir(p).map_err(|e| format!("{}: {e}", p.display()))? {
                    let path = e.map_err(|e| format!("{}: {e}", p.display()))?.path();
                    let name = path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    let wanted = !name.starts_with('.')
                        && (name.ends_with(".conf") || name.ends_with(".alias"));
                    if wanted && path.is_file() {
                        v.push(path);
                    }
                }
                v
            } else {
                vec![p.clone()]
            };
            for f in entries {
                let name = f
                    .file_name()
                    .map(|n| n.as_encoded_bytes().to_vec())
                    .unwrap_or_default();
                files.entry(name).or_insert(f);
            }
        }
        let mut config = Config::default();
        for path in files.values() {
            let text = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
            config.parse(&path.display().to_string(), &String::from_utf8_lossy(&text));
        }
        Ok(config)
    }

    /// Parse one file's text, naming it `origin` in warnings.
    pub fn parse(&mut self, origin: &str, text: &str) {
        for (lineno, line) in logical_lines(text) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut w = Words::new(&line);
            let Some(cmd) = w.word() else { continue };
            let bad = |cfg: &mut Config| {
                cfg.warnings.push(format!(
                    "{origin} line {lineno}: ignoring bad line starting with '{cmd}'"
                ))
            };
            match cmd {
                "alias" => match (
                    w.word().and_then(underscores),
                    w.word().and_then(underscores),
                ) {
                    (Some(pattern), Some(target)) => self.aliases.push((pattern, target)),
                    _ => bad(self),
                },
                "blacklist" => match w.word().and_then(underscores) {
                    Some(name) => self.blacklist.push(name),
                    None => bad(self),
                },
                "options" | "install" | "remove" | "softdep" => {
                    let name = w.word().and_then(underscores);
                    let rest = w.rest();
                    let (Some(name), Some(rest)) = (name, rest) else {
                        bad(self);
                        continue;
                    };
                    match cmd {
                        "options" => self.options.push((name, rest.replace('\t', " "))),
                        "install" => self
                            .commands
                            .push((COMMAND_INSTALL, name, rest.to_string())),
                        "remove" => self.commands.push((COMMAND_REMOVE, name, rest.to_string())),
                        _ => match parse_softdep(rest) {
                            Some((pre, post)) => self.softdeps.push(SoftdepSpec {
                                pattern: name,
                                pre,
                                post,
                            }),
                            None => bad(self),
                        },
                    }
                }
                "weakdep" => {
                    let name = w.word().and_then(underscores);
                    let names: Vec<String> = std::iter::from_fn(|| w.word())
                        .map(str::to_string)
                        .collect();
                    match name {
                        Some(name) if !names.is_empty() => self.weakdeps.push((name, names)),
                        _ => bad(self),
                    }
                }
                "include" | "config" => self.warnings.push(format!(
                    "{origin}: command {cmd} is deprecated and not parsed anymore"
                )),
                _ => bad(self),
            }
        }
    }

    /// `install` commands that are neither `/bin/true` nor `/bin/false`:
    /// they cannot run in an initramfs.
    pub fn unrunnable_installs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.commands
            .iter()
            .filter(|(k, _, c)| *k == COMMAND_INSTALL && !is_disabling(c))
            .map(|(_, n, c)| (n.as_str(), c.as_str()))
    }
}

/// The words of `softdep NAME REST`: `pre:` and `post:` switch lists; names
/// before either are dropped. `None` if REST is only whitespace.
fn parse_softdep(rest: &str) -> Option<(Vec<String>, Vec<String>)> {
    let (mut pre, mut post) = (Vec::new(), Vec::new());
    let mut mode = 0;
    let mut any = false;
    for tok in rest
        .split(|c: char| c.is_ascii_whitespace())
        .filter(|t| !t.is_empty())
    {
        any = true;
        match (tok, mode) {
            ("pre:", _) => mode = 1,
            ("post:", _) => mode = 2,
            (_, 1) => pre.push(tok.to_string()),
            (_, 2) => post.push(tok.to_string()),
            _ => {}
        }
    }
    any.then_some((pre, post))
}

/// strtok_r over spaces and tabs, as kmod splits a command line.
struct Words<'a> {
    rest: Option<&'a str>,
}

impl<'a> Words<'a> {
    fn new(line: &'a str) -> Self {
        Words { rest: Some(line) }
    }

    /// The next word; what follows starts after its one terminating separator.
    fn word(&mut self) -> Option<&'a str> {
        let s = self.rest?.trim_start_matches([' ', '\t']);
        if s.is_empty() {
            self.rest = None;
            return None;
        }
        match s.find([' ', '\t']) {
            Some(i) => {
                self.rest = Some(&s[i + 1..]);
                Some(&s[..i])
            }
            None => {
                self.rest = None;
                Some(s)
            }
        }
    }

    /// `strtok_r(NULL, "\0")`: the rest as it is, `None` if nothing is left.
    fn rest(&mut self) -> Option<&'a str> {
        self.rest.take().filter(|r| !r.is_empty())
    }
}

/// kmod's line reader: join `\`+newline, drop a `\` before any other
/// character; yield (number of the last physical line, logical line).
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut line = String::new();
    let mut n = 1;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('\n') => n += 1,
                Some(other) => line.push(other),
                None => {}
            },
            '\n' => {
                out.push((n, std::mem::take(&mut line)));
                n += 1;
            }
            _ => line.push(c),
        }
    }
    if !line.is_empty() {
        out.push((n, line));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Config {
        let mut c = Config::default();
        c.parse("t.conf", text);
        c
    }

    #[test]
    fn every_command() {
        let c = parse(
            "alias my-alias crc32c-intel extra\nblacklist floppy-x\noptions virtio-blk  queue_depth=32\tx\n\
             install foo /bin/true\nremove bar /bin/echo hi\nsoftdep xfs pre: a b post: c\ninclude x\n",
        );
        assert_eq!(c.aliases, [("my_alias".into(), "crc32c_intel".into())]);
        assert_eq!(c.blacklist, ["floppy_x"]);
        assert_eq!(
            c.options,
            [("virtio_blk".into(), " queue_depth=32 x".into())]
        );
        assert_eq!(
            c.commands,
            [
                (COMMAND_INSTALL, "foo".into(), "/bin/true".into()),
                (COMMAND_REMOVE, "bar".into(), "/bin/echo hi".into())
            ]
        );
        assert_eq!(
            c.softdeps,
            [SoftdepSpec {
                pattern: "xfs".into(),
                pre: vec!["a".into(), "b".into()],
                post: vec!["c".into()]
            }]
        );
        assert_eq!(
            c.warnings,
            ["t.conf: command include is deprecated and not parsed anymore"]
        );
    }

    #[test]
    fn lines_comments_and_continuations() {
        let c = parse(
            "# comment\n  # not a comment\noptions m a=1\\\n b=2\noptions m c=\\3 \\\\d\n\n   \n",
        );
        assert_eq!(
            c.options,
            [
                ("m".into(), "a=1 b=2".into()),
                ("m".into(), "c=3 \\d".into())
            ]
        );
        assert_eq!(
            c.warnings,
            ["t.conf line 2: ignoring bad line starting with '#'"]
        );
        let c = parse("options m a\\\nb\nbogus\n");
        assert_eq!(
            c.warnings,
            ["t.conf line 3: ignoring bad line starting with 'bogus'"],
            "numbers count physical lines"
        );
    }

    #[test]
    fn syntax_errors_as_kmod_sees_them() {
        let c = parse(
            "options xor\noptions xor \noptions xor  \nalias onlyone\nalias x]y z\nsoftdep s\nbogus a b\n",
        );
        assert_eq!(
            c.options,
            [("xor".into(), " ".into())],
            "two spaces leave one as the text"
        );
        assert_eq!(c.warnings.len(), 6, "{:?}", c.warnings);
        let c = parse("weakdep a b c\nweakdep lonely\n");
        assert_eq!(
            c.weakdeps,
            [("a".to_string(), vec!["b".to_string(), "c".to_string()])]
        );
        assert_eq!(c.warnings.len(), 1);
        let c = parse("softdep cifs gcm\nsoftdep u pre: post: pre: f\n");
        assert_eq!(
            c.softdeps[0],
            SoftdepSpec {
                pattern: "cifs".into(),
                pre: vec![],
                post: vec![]
            }
        );
        assert_eq!(c.softdeps[1].pre, ["f"]);
    }

    #[test]
    fn disabling_installs() {
        assert!(is_disabling("/bin/true"));
        assert!(is_disabling(" /bin/false "));
        assert!(!is_disabling("/sbin/modprobe --ignore-install foo"));
        let c = parse("install a /bin/true\ninstall b /sbin/do-something\n");
        assert_eq!(
            c.unrunnable_installs().collect::<Vec<_>>(),
            [("b", "/sbin/do-something")]
        );
    }

    #[test]
    fn files_sorted_by_name_first_path_wins_with_modules_softdep() {
        let dir = std::env::temp_dir().join(format!("modboot-conf-{}", std::process::id()));
        let (d1, d2) = (dir.join("etc"), dir.join("lib"));
        std::fs::create_dir_all(&d1).unwrap();
        std::fs::create_dir_all(&d2).unwrap();
        std::fs::write(d1.join("b.conf"), "options m b_etc=1\n").unwrap();
        std::fs::write(d2.join("b.conf"), "options m b_lib=1\n").unwrap();
        std::fs::write(d2.join("a.conf"), "options m a_lib=1\n").unwrap();
        std::fs::write(d2.join("c.alias"), "options m c_alias=1\n").unwrap();
        std::fs::write(d2.join("z.conf"), "options m z=1\n").unwrap();
        std::fs::write(d2.join("c.txt"), "options m ignored=1\n").unwrap();
        std::fs::write(d2.join(".h.conf"), "options m hidden=1\n").unwrap();
        let sd = dir.join("modules.softdep");
        std::fs::write(&sd, "options m softdep_file=1\n").unwrap();
        let c = Config::load(&[d1, d2, dir.join("missing")], Some(&sd)).unwrap();
        let opts: Vec<_> = c.options.iter().map(|(_, o)| o.as_str()).collect();
        assert_eq!(
            opts,
            ["a_lib=1", "b_etc=1", "c_alias=1", "softdep_file=1", "z=1"]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
