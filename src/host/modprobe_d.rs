//! `modprobe.d` configuration, read as kmod reads it.
//!
//! Files ending in `.conf` from the given directories (or files given
//! directly), ordered by file name; when two directories hold a file of the
//! same name, the one from the earlier directory wins. Lines may continue with
//! a trailing `\`; a line whose first word starts with `#` is a comment.
//!
//! Only `options` is acted on so far; every other command is kept and
//! reported by [`Config::unsupported`] so nothing is silently dropped.

use super::emit::normalise;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Parsed configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// `(module, options)` in configuration order.
    options: Vec<(String, String)>,
    /// `(file:line, command)` of lines with a command not handled yet.
    unsupported: Vec<(String, String)>,
}

impl Config {
    /// Read every `.conf` file of `paths` (directories or files), in kmod's order.
    pub fn load(paths: &[PathBuf]) -> Result<Config, String> {
        let mut files: BTreeMap<String, PathBuf> = BTreeMap::new();
        for p in paths {
            let meta = std::fs::metadata(p).map_err(|e| format!("{}: {e}", p.display()))?;
            let entries: Vec<PathBuf> = if meta.is_dir() {
                std::fs::read_dir(p)
                    .map_err(|e| format!("{}: {e}", p.display()))?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|f| f.extension().is_some_and(|x| x == "conf") && f.is_file())
                    .collect()
            } else {
                vec![p.clone()]
            };
            for f in entries {
                let name = f
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                files.entry(name).or_insert(f);
            }
        }
        let mut config = Config::default();
        for path in files.values() {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            config.parse(&path.display().to_string(), &text)?;
        }
        Ok(config)
    }

    /// Parse one file's text, naming it `origin` in messages.
    pub fn parse(&mut self, origin: &str, text: &str) -> Result<(), String> {
        for (lineno, line) in logical_lines(text) {
            let line = line.trim_start_matches([' ', '\t']);
            let mut split = line.splitn(2, [' ', '\t']);
            let cmd = split.next().unwrap_or("");
            let rest = split.next().unwrap_or("");
            if cmd.is_empty() || cmd.starts_with('#') {
                continue;
            }
            match cmd {
                "options" => {
                    let rest = rest.trim_start_matches([' ', '\t']);
                    let (module, opts) = rest.split_once([' ', '\t']).unwrap_or((rest, ""));
                    if module.is_empty() || opts.is_empty() {
                        return Err(format!(
                            "{origin}:{lineno}: options needs a module name and options"
                        ));
                    }
                    self.options.push((normalise(module), opts.to_string()));
                }
                _ => self
                    .unsupported
                    .push((format!("{origin}:{lineno}"), cmd.to_string())),
            }
        }
        Ok(())
    }

    /// All `options` for `module`, joined with spaces, in configuration order.
    pub fn options_for(&self, module: &str) -> String {
        let module = normalise(module);
        let parts: Vec<&str> = self
            .options
            .iter()
            .filter(|(m, _)| *m == module)
            .map(|(_, o)| o.as_str())
            .collect();
        parts.join(" ")
    }

    /// Lines whose command modboot does not act on yet.
    pub fn unsupported(&self) -> &[(String, String)] {
        &self.unsupported
    }
}

/// Join lines ending in `\` with the next; yield (first line number, text).
fn logical_lines(text: &str) -> impl Iterator<Item = (usize, String)> + '_ {
    let mut lines = text.lines().enumerate().peekable();
    std::iter::from_fn(move || {
        let (n, first) = lines.next()?;
        let mut joined = String::new();
        let mut cur = first;
        loop {
            match cur.strip_suffix('\\') {
                Some(head) => {
                    joined.push_str(head);
                    match lines.next() {
                        Some((_, next)) => cur = next,
                        None => break,
                    }
                }
                None => {
                    joined.push_str(cur);
                    break;
                }
            }
        }
        Some((n + 1, joined))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_in_order_with_continuations_and_comments() {
        let mut c = Config::default();
        c.parse(
            "a.conf",
            "# comment\noptions virtio-blk queue_depth=32\n\n  options virtio_blk \\\nfoo=\"a b\"\n#options virtio_blk no=1\nblacklist floppy\n",
        )
        .unwrap();
        assert_eq!(c.options_for("virtio_blk"), "queue_depth=32 foo=\"a b\"");
        assert_eq!(c.options_for("virtio-blk"), "queue_depth=32 foo=\"a b\"");
        assert_eq!(c.options_for("other"), "");
        assert_eq!(
            c.unsupported(),
            [("a.conf:7".to_string(), "blacklist".to_string())]
        );
    }

    #[test]
    fn options_without_values_is_an_error() {
        let mut c = Config::default();
        assert!(
            c.parse("x.conf", "options virtio_blk\n")
                .unwrap_err()
                .contains("x.conf:1")
        );
    }

    #[test]
    fn files_sorted_by_name_first_directory_wins() {
        let dir = std::env::temp_dir().join(format!("modboot-conf-{}", std::process::id()));
        let (d1, d2) = (dir.join("etc"), dir.join("lib"));
        std::fs::create_dir_all(&d1).unwrap();
        std::fs::create_dir_all(&d2).unwrap();
        std::fs::write(d1.join("b.conf"), "options m b_etc=1\n").unwrap();
        std::fs::write(d2.join("b.conf"), "options m b_lib=1\n").unwrap();
        std::fs::write(d2.join("a.conf"), "options m a_lib=1\n").unwrap();
        std::fs::write(d2.join("c.txt"), "options m ignored=1\n").unwrap();
        let c = Config::load(&[d1, d2]).unwrap();
        assert_eq!(c.options_for("m"), "a_lib=1 b_etc=1");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
