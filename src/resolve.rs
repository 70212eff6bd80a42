//! What `modprobe NAME` does, computed from the blob: kmod 30's lookup,
//! probe list, install commands, options and blacklist, exactly.
//!
//! The init loads what [`Resolver::modprobe`] yields; `mkmodboot
//! show-depends` prints the same steps in `modprobe --show-depends` format,
//! and the test suite compares that with the real modprobe on a whole tree.
//!
//! kmod's rules, as implemented here (libkmod-module.c, libkmod.c):
//! - **Lookup** of a normalised name stops at the first step that finds
//!   anything: modprobe.d aliases (every matching pattern, in order; the
//!   target is not looked up again), the module of that exact name (names
//!   without `:`), an `install` then `remove` command for exactly that name,
//!   modules.alias (every match, by modules.order rank), a built-in module of
//!   that name, aliases of built-in modules.
//! - **Probe list** of each result: for each hard dependency (in load order),
//!   its softdeps' `pre:` expanded, the dependency, its `post:` expanded; then
//!   the same for the module itself. Only the first matching `softdep` line
//!   counts. Softdep names go through the full lookup and are expanded
//!   recursively. Only looked-up objects are marked visited (that stops
//!   cycles); hard dependencies are not, so modprobe can list a module twice.
//! - **Actions**: the first `install` command whose pattern matches the name
//!   replaces loading, unless the module has a non-empty softdep.
//! - **Options**: every `options` entry for the module's name or for the alias
//!   it was reached by, in configuration order, then the kernel command line's.
//! - **Blacklist** (`blacklist`, `modprobe.blacklist=`) skips a module only
//!   when it was reached through an alias.
//!
//! No allocation: results go to callbacks; the visited set is a fixed array.

use crate::blob::{Blob, COMMAND_INSTALL, COMMAND_REMOVE, Module};
use crate::{glob, kcmdline, modname};
use core::cmp::Ordering;

/// A module object as libkmod's pool has it: a name, the alias it was
/// reached through (`None` when reached by its name), and whether a lookup of
/// built-ins created it (kmod then reports it built in even when
/// modules.builtin does not list it, as for `debugfs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Object<'a> {
    pub name: &'a str,
    pub alias: Option<&'a str>,
    pub builtin: bool,
}

impl<'a> Object<'a> {
    #[inline(never)]
    fn named(name: &'a str, alias: Option<&'a str>) -> Self {
        Object {
            name,
            alias,
            builtin: false,
        }
    }
}

/// What modprobe does for one entry of a probe list.
#[derive(Clone, Copy)]
pub enum Action<'a> {
    /// Load this module's file.
    Insmod(Module<'a>),
    /// Built into the kernel: nothing to load.
    Builtin,
    /// Run this `install` command instead of loading.
    Install(&'a str),
    /// Neither a module in the blob nor built in: modprobe does nothing.
    Nothing,
}

/// One entry of a probe list.
#[derive(Clone, Copy)]
pub struct Step<'a> {
    pub object: Object<'a>,
    pub action: Action<'a>,
}

/// Why a name gave no probe list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Nothing matched the name.
    NotFound,
    /// A `]` outside brackets or an unclosed `[`: kmod reports it as not found.
    Invalid,
}

/// Softdep expansion deeper than this stops (the visited set stops cycles
/// long before; this bounds the stack).
const MAX_DEPTH: usize = 48;
/// Objects remembered as visited during one probe.
const MAX_VISITED: usize = 192;
/// modules.alias matches of one name gathered through the index; more fall
/// back to a full scan.
const MAX_ALIAS_MATCHES: usize = 64;
/// Matches of built-in aliases sorted per lookup.
const MAX_BUILTIN_MATCHES: usize = 32;

struct Visited<'k> {
    list: [Option<Object<'k>>; MAX_VISITED],
    len: usize,
}

impl<'k> Visited<'k> {
    fn new() -> Self {
        Visited {
            list: [None; MAX_VISITED],
            len: 0,
        }
    }

    /// Mark `o`; false if it was already marked (or there is no room, which
    /// stops the expansion as a cycle would).
    fn insert(&mut self, o: Object<'k>) -> bool {
        if self.list.iter().take(self.len).any(|v| *v == Some(o)) {
            return false;
        }
        match self.list.get_mut(self.len) {
            Some(slot) => {
                *slot = Some(o);
                self.len += 1;
                true
            }
            None => false,
        }
    }
}

/// The resolver: a blob and the kernel command line it applies with.
#[derive(Clone, Copy)]
pub struct Resolver<'a> {
    pub blob: Blob<'a>,
    /// The kernel command line (module options, `modprobe.blacklist=`);
    /// empty for none.
    pub kcmdline: &'a [u8],
    /// At boot, `rd.driver.blacklist=` names count as `blacklist` lines too
    /// (dracut writes them into modprobe.d).
    boot: bool,
}

impl<'a> Resolver<'a> {
    /// modprobe's view: the blob and a command line.
    pub fn new(blob: Blob<'a>, kcmdline: &'a [u8]) -> Self {
        Resolver {
            blob,
            kcmdline,
            boot: false,
        }
    }

    /// The init's view: also honours `rd.driver.blacklist=`.
    pub fn for_boot(blob: Blob<'a>, kcmdline: &'a [u8]) -> Self {
        Resolver {
            blob,
            kcmdline,
            boot: true,
        }
    }

    /// `modprobe NAME`: look `key` up and hand every step of every result's
    /// probe list to `f`, in order. `key` must be normalised already
    /// ([`normalise`]).
    pub fn modprobe<'k>(&self, key: &'k str, f: &mut dyn FnMut(Step<'k>)) -> Result<(), Error>
    where
        'a: 'k,
    {
        if modname::underscores(key.as_bytes()).is_none() {
            return Err(Error::Invalid);
        }
        let found = self.lookup(key, &mut |object| {
            if object.alias.is_some() && self.blacklisted(object.name) {
                return;
            }
            let mut visited = Visited::new();
            self.probe_list(object, &mut visited, f, 0);
        });
        if found == 0 {
            Err(Error::NotFound)
        } else {
            Ok(())
        }
    }

    /// kmod's lookup of a normalised name: objects in kmod's order. Returns
    /// how many.
    pub fn lookup<'k>(&self, key: &'k str, f: &mut dyn FnMut(Object<'k>)) -> usize
    where
        'a: 'k,
    {
        let b = &self.blob;
        let matches = |pattern: &str| glob::matches(pattern.as_bytes(), key.as_bytes());
        let n = core::cell::Cell::new(0usize);
        let mut found = |o: Object<'k>| {
            n.set(n.get() + 1);
            f(o)
        };
        for (pattern, target) in b.config_aliases() {
            if matches(pattern) {
                found(Object::named(target, Some(pattern)));
            }
        }
        if n.get() > 0 {
            return n.get();
        }
        if !key.contains(':') {
            if let Some(m) = b.find(key.as_bytes()) {
                found(Object::named(m.name(), None));
                return n.get();
            }
        }
        let command = |kind| b.commands().any(|(k, name, _)| k == kind && name == key);
        if command(COMMAND_INSTALL) || command(COMMAND_REMOVE) {
            found(Object::named(key, None));
            return n.get();
        }
        self.modules_alias(key, &mut |target| found(Object::named(target, Some(key))));
        if n.get() > 0 {
            return n.get();
        }
        if b.is_builtin(key.as_bytes()) {
            found(Object {
                name: key,
                alias: None,
                builtin: true,
            });
            return n.get();
        }
        // Built-in aliases all have priority 0 in kmod's index, so they come
        // in the reverse of the order its trie search finds them.
        let mut hits: [(&'a str, &'a str); MAX_BUILTIN_MATCHES] = [("", ""); MAX_BUILTIN_MATCHES];
        let mut count = 0;
        for (pattern, target) in b.builtin_aliases_for(key.as_bytes()) {
            if matches(pattern) {
                if let Some(slot) = hits.get_mut(count) {
                    *slot = (pattern, target);
                    count += 1;
                }
            }
        }
        let hits = hits.get_mut(..count).unwrap_or(&mut []);
        insertion_sort(hits, |(p, _), (q, _)| {
            trie_discovery(q.as_bytes(), p.as_bytes()) == Ordering::Less
        });
        for (_, target) in hits.iter() {
            found(Object {
                name: target,
                alias: Some(key),
                builtin: true,
            });
        }
        n.get()
    }

    /// modules.alias matches of `key`, by rank (modules.order). With the
    /// blob's prefix index, only patterns whose literal prefix starts `key`
    /// are tried; without it (or past [`MAX_ALIAS_MATCHES`]), all of them.
    fn modules_alias<'k>(&self, key: &'k str, f: &mut dyn FnMut(&'a str))
    where
        'a: 'k,
    {
        let b = &self.blob;
        let k = key.as_bytes();
        let mut hits = [0usize; MAX_ALIAS_MATCHES];
        let mut count = 0;
        let mut indexed = true;
        'prefixes: for len in 0..=k.len() {
            let Some((candidates, extends)) = b.aliases_with_prefix(k.get(..len).unwrap_or(&[]))
            else {
                indexed = false;
                break;
            };
            for i in candidates {
                let Some((pattern, _, _)) = b.alias(i) else {
                    continue;
                };
                if glob::matches(pattern.as_bytes(), k) {
                    match hits.get_mut(count) {
                        Some(slot) => {
                            *slot = i;
                            count += 1;
                        }
                        None => {
                            indexed = false;
                            break 'prefixes;
                        }
                    }
                }
            }
            if !extends {
                break; // no pattern's literal prefix goes on like the key
            }
        }
        if indexed {
            let hits = hits.get_mut(..count).unwrap_or(&mut []);
            insertion_sort(hits, |a, b| a < b); // table order is rank order
            for &i in hits.iter() {
                if let Some((_, target, _)) = b.alias(i) {
                    f(target);
                }
            }
        } else {
            for (pattern, target, _) in b.aliases() {
                if glob::matches(pattern.as_bytes(), k) {
                    f(target);
                }
            }
        }
    }

    /// `__kmod_module_get_probe_list`.
    fn probe_list<'k>(
        &self,
        o: Object<'k>,
        visited: &mut Visited<'k>,
        f: &mut dyn FnMut(Step<'k>),
        depth: usize,
    ) where
        'a: 'k,
    {
        if depth > MAX_DEPTH || !visited.insert(o) {
            return;
        }
        if let Some(m) = self.blob.find(o.name.as_bytes()) {
            for dep in m.deps().filter_map(|d| self.blob.module(d)) {
                self.fill_softdep(Object::named(dep.name(), None), visited, f, depth);
            }
        }
        self.fill_softdep(o, visited, f, depth);
    }

    /// `__kmod_module_fill_softdep`: pre, the object, post.
    fn fill_softdep<'k>(
        &self,
        o: Object<'k>,
        visited: &mut Visited<'k>,
        f: &mut dyn FnMut(Step<'k>),
        depth: usize,
    ) where
        'a: 'k,
    {
        let softdep = self
            .blob
            .softdeps()
            .find(|sd| glob::matches(sd.pattern().as_bytes(), o.name.as_bytes()));
        let expand = |names: &mut dyn Iterator<Item = &'a str>,
                      visited: &mut Visited<'k>,
                      f: &mut dyn FnMut(Step<'k>)| {
            for name in names {
                if modname::underscores(name.as_bytes()).is_none() {
                    continue; // kmod: "failed to lookup soft dependency", and goes on
                }
                self.lookup(name, &mut |t| self.probe_list(t, visited, f, depth + 1));
            }
        };
        let mut has_softdeps = false;
        if let Some(sd) = softdep {
            has_softdeps = !sd.is_empty();
            expand(&mut sd.pre(), visited, f);
        }
        f(Step {
            object: o,
            action: self.action(o, has_softdeps),
        });
        if let Some(sd) = softdep {
            expand(&mut sd.post(), visited, f);
        }
    }

    /// What modprobe does with a module object.
    pub fn action<'k>(&self, o: Object<'k>, ignore_command: bool) -> Action<'k>
    where
        'a: 'k,
    {
        let name = o.name;
        if !ignore_command {
            let install = self.blob.commands().find(|&(kind, pattern, _)| {
                kind == COMMAND_INSTALL && glob::matches(pattern.as_bytes(), name.as_bytes())
            });
            if let Some((_, _, command)) = install {
                return Action::Install(command);
            }
        }
        match self.blob.find(name.as_bytes()) {
            Some(m) => Action::Insmod(m),
            None if o.builtin || self.blob.is_builtin(name.as_bytes()) => Action::Builtin,
            None => Action::Nothing,
        }
    }

    /// Whether the configuration or `modprobe.blacklist=` names `name`
    /// (exactly: kmod neither globs nor normalises here).
    pub fn blacklisted(&self, name: &str) -> bool {
        if self.blob.blacklist().any(|b| b == name) {
            return true;
        }
        if self.boot
            && crate::cmdline::list(self.kcmdline, &[b"rd.driver.blacklist"])
                .any(|b| modname::underscored_eq(b, name.as_bytes()))
        {
            return true;
        }
        let mut hit = false;
        kcmdline::parse(self.kcmdline, &mut |e| {
            if let kcmdline::Entry::Blacklist(t) = e {
                hit |= concat_eq(&t.pieces(), name.as_bytes());
            }
        });
        hit
    }

    /// The options of `o`, in kmod's order, as pieces to write one after
    /// another (separating spaces included; tabs already spaces). Returns
    /// whether there were any.
    pub fn options(&self, o: Object<'_>, out: &mut dyn FnMut(&[u8])) -> bool {
        let mut any = false;
        let mut emit = |pieces: &[&[u8]]| {
            if pieces.iter().all(|p| p.is_empty()) {
                return;
            }
            if any {
                out(b" ");
            }
            any = true;
            for p in pieces {
                // kmod turns tabs in options into spaces.
                let mut rest = *p;
                while let Some(i) = rest.iter().position(|&c| c == b'\t') {
                    out(rest.get(..i).unwrap_or(&[]));
                    out(b" ");
                    rest = rest.get(i + 1..).unwrap_or(&[]);
                }
                if !rest.is_empty() {
                    out(rest);
                }
            }
        };
        let wanted = |name: &[u8]| {
            name == o.name.as_bytes() || o.alias.is_some_and(|a| a.as_bytes() == name)
        };
        for (name, text) in self.blob.options() {
            if wanted(name.as_bytes()) {
                emit(&[text.as_bytes()]);
            }
        }
        kcmdline::parse(self.kcmdline, &mut |e| {
            if let kcmdline::Entry::Options { module, text } = e {
                let mut norm = [0u8; 64];
                if let Some(m) = modname::underscores_into(module, &mut norm) {
                    if wanted(m) {
                        emit(&text.pieces());
                    }
                }
            }
        });
        any
    }
}

/// The options of `o` as the one string the kernel takes
/// (`finit_module`'s parameters), written into `buf`: its length, or `None`
/// when it does not fit (one byte is kept for a NUL) or holds a NUL itself.
pub fn options_into(r: &Resolver<'_>, o: Object<'_>, buf: &mut [u8]) -> Option<usize> {
    let (mut len, cap) = (0usize, buf.len());
    let mut fits = true;
    r.options(o, &mut |piece| match buf.get_mut(len..len + piece.len()) {
        Some(dst) if len + piece.len() < cap => {
            dst.copy_from_slice(piece);
            len += piece.len();
        }
        _ => fits = false,
    });
    let text = buf.get(..len)?;
    (fits && !text.contains(&0)).then_some(len)
}

/// `install NAME /bin/true` (or `/bin/false`): the usual way to say "never
/// load this module". Any other command cannot run in an initramfs.
pub fn is_disabling(command: &str) -> bool {
    matches!(
        command.trim_ascii(),
        "/bin/true" | "/bin/false" | "/usr/bin/true" | "/usr/bin/false" | "true" | "false"
    )
}

/// Whether `pieces`, one after another, are exactly `name`.
fn concat_eq(pieces: &[&[u8]], name: &[u8]) -> bool {
    let mut rest = name;
    for p in pieces {
        match rest.strip_prefix(*p) {
            Some(r) => rest = r,
            None => return false,
        }
    }
    rest.is_empty()
}

/// Sort a few items, stably, with `before(a, b)` meaning a goes first. Core
/// has no allocation-free stable sort, and its unstable one costs kilobytes
/// of code; lists here hold a few dozen items at most.
fn insertion_sort<T: Copy>(items: &mut [T], before: impl Fn(&T, &T) -> bool) {
    for i in 1..items.len() {
        let mut j = i;
        while j > 0 {
            match (items.get(j - 1), items.get(j)) {
                (Some(a), Some(b)) if before(b, a) => items.swap(j - 1, j),
                _ => break,
            }
            j -= 1;
        }
    }
}

/// Normalise a name as modprobe does before looking it up (kmod's
/// `alias_normalize`): into `buf`; `None` if invalid or longer than `buf`.
pub fn normalise<'b>(name: &[u8], buf: &'b mut [u8]) -> Option<&'b str> {
    let n = modname::underscores_into(name, buf)?;
    core::str::from_utf8(n).ok()
}

/// Order in which kmod's wildcard trie search finds two patterns that both
/// match: deeper literal prefixes later, and the exact key last; at one node
/// the `*` branch before `?` before `[`; inside a branch, children in byte
/// order before the node's own values.
fn trie_discovery(a: &[u8], b: &[u8]) -> Ordering {
    let (la, lb) = (glob::literal_prefix(a).len(), glob::literal_prefix(b).len());
    let (ea, eb) = (la == a.len(), lb == b.len());
    if ea != eb {
        return if ea {
            Ordering::Greater
        } else {
            Ordering::Less
        };
    }
    if la != lb {
        return la.cmp(&lb);
    }
    let rank = |c: Option<&u8>| match c {
        Some(b'*') => 0,
        Some(b'?') => 1,
        _ => 2,
    };
    let (ra, rb) = (rank(a.get(la)), rank(b.get(lb)));
    if ra != rb {
        return ra.cmp(&rb);
    }
    // Post-order of the branch: a string comes after its extensions.
    let (sa, sb) = (a.get(la..).unwrap_or(&[]), b.get(lb..).unwrap_or(&[]));
    if sb.starts_with(sa) && sa.len() < sb.len() {
        return Ordering::Greater;
    }
    if sa.starts_with(sb) && sb.len() < sa.len() {
        return Ordering::Less;
    }
    sa.cmp(sb)
}
