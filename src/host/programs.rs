//! Dynamically linked programs packed with everything they load, as dracut
//! and initramfs-tools pack `cryptsetup`, `lvm` and `mdadm`: each program,
//! its program interpreter (`PT_INTERP`) and every shared library it needs,
//! found as the dynamic loader finds them.
//!
//! ## Search order
//!
//! For each `DT_NEEDED` name, in the loader's breadth-first order, the first
//! object to need a name decides where it is found, and a name already
//! loaded (as a name asked for, or as a loaded object's `DT_SONAME`) is not
//! searched again, as glibc's `_dl_map_object` does. The directories, in
//! glibc's order (`elf/dl-load.c`):
//!
//! 1. `DT_RPATH` of the needing object, then of the object that loaded it,
//!    up to the program — only when the needing object has no `DT_RUNPATH`;
//! 2. (`LD_LIBRARY_PATH` is not used: the build machine's environment is no
//!    part of the image);
//! 3. `DT_RUNPATH` of the needing object;
//! 4. the directories of `/etc/ld.so.conf` and its `include` globs, read in
//!    the root — the directories `ldconfig` puts in `ld.so.cache`;
//! 5. the default directories ([`default_dirs`]): Debian's multiarch
//!    `/lib/<triplet>` and `/usr/lib/<triplet>`, then `/lib64` and
//!    `/usr/lib64` for 64-bit objects (Fedora, openSUSE), then `/lib` and
//!    `/usr/lib`.
//!
//! `$ORIGIN` (and `${ORIGIN}`) expands to the directory of the object in
//! the image; an element with another dynamic string token (`$LIB`,
//! `$PLATFORM`) is skipped. A candidate is taken only if it is an ELF file
//! of the needing object's class, byte order and machine, as ld.so skips a
//! 32-bit `libc.so.6` in `/usr/lib` for a 64-bit program. The glibc-hwcaps
//! subdirectories are not searched.
//!
//! Every path is read inside a root directory (`/` for the build machine, or
//! another tree for tests and cross builds): symbolic links, absolute ones
//! included, are followed inside it ([`in_root`]), as `chroot` would.
//!
//! ## Layout in the image
//!
//! The image has no `ld.so.cache`, so its loader finds libraries through
//! `DT_RPATH`, `DT_RUNPATH` and its default directories only. Each object is
//! packed as a regular file (the bytes of the file the path leads to on the
//! build machine), with real directories, no symbolic links:
//!
//! - a program at the path it was given (`/sbin/cryptsetup`);
//! - the interpreter at its `PT_INTERP` path (`/lib64/ld-linux-x86-64.so.2`,
//!   which on Debian is a link into `/usr/lib/x86_64-linux-gnu`);
//! - a library at the path where it was found, as searched:
//!   `/lib/x86_64-linux-gnu/libc.so.6` stays there although `/lib` is a link
//!   to `usr/lib` on a merged-/usr machine. The image's loader searches that
//!   same directory first and finds it there. A library found in an
//!   `ld.so.conf` directory that is not a default one (`/usr/local/lib`,
//!   known to the build machine's loader only through its cache) is packed
//!   in the first default directory that exists in the root instead.
//!
//! Recreating the build machine's links (`/lib -> usr/lib`) would put a link
//! where the image has a real `/lib` (`/lib/modules`), and the kernel
//! unpacks entries in name order, so `lib/...` would come before the `usr/lib`
//! it points into. Real files where the loader looks need neither. The test
//! `packed_cryptsetup_runs_without_ld_so_cache` unpacks the archive that
//! [`Packing::add_to`] writes into an empty directory and runs
//! `chroot DIR /sbin/cryptsetup --version`.
//!
//! ## Libraries nobody names
//!
//! - `libgcc_s.so.1`: glibc `dlopen()`s it to unwind a thread in
//!   `pthread_exit` and `pthread_cancel`, and no `DT_NEEDED` names it, so
//!   `ldd` does not show it (Debian bug #1032221: cryptsetup's argon2
//!   threads abort without it). The rule: it is packed, with what it needs,
//!   whenever a packed object has an undefined dynamic symbol
//!   `pthread_exit` or `pthread_cancel` ([`UNWINDING`]).
//! - OpenSSL 3's legacy provider (`ossl-modules/legacy.so`, for hashes such
//!   as ripemd160 and whirlpool): [`Packing::add_openssl_legacy`], when the
//!   caller knows a hash needs it. It is packed where the packed
//!   `libcrypto` looks for it: the `MODULESDIR` compiled into libcrypto (the
//!   string `openssl version -m` prints), else `ossl-modules/` beside it.

use super::cpio::Archive;
use super::elf::{self, Dynamic, Header};
use std::collections::VecDeque;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The library glibc `dlopen()`s to unwind threads.
pub const LIBGCC_S: &str = "libgcc_s.so.1";
/// Undefined symbols that make glibc load [`LIBGCC_S`] at run time.
pub const UNWINDING: &[&str] = &["pthread_exit", "pthread_cancel"];
/// The configuration `ldconfig` reads, in the root.
pub const LD_SO_CONF: &str = "/etc/ld.so.conf";

/// Why a file is packed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A program asked for.
    Program,
    /// A program's `PT_INTERP`.
    Interpreter,
    /// A `DT_NEEDED` library.
    Library,
    /// Loaded at run time with `dlopen()`: `libgcc_s.so.1`, `legacy.so`.
    Dlopened,
}

/// One file to pack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packed {
    /// Where it goes in the image (absolute, normalised: no `.`, `..`, `//`).
    pub path: String,
    /// The file read on the build machine: `path` as found, inside the
    /// root, with its symbolic links followed.
    pub source: PathBuf,
    /// Permission bits of the source file.
    pub mode: u32,
    pub role: Role,
    /// The image path of the object that first needed it (`None` for a
    /// program).
    pub needed_by: Option<String>,
}

/// Where a search directory came from: where a library found there is packed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum From {
    /// `DT_RPATH`, `DT_RUNPATH` or a default directory: the image's loader
    /// looks there too.
    Loader,
    /// `ld.so.conf` only (the cache): packed in a default directory.
    Cache,
}

/// A loaded object.
#[derive(Clone, Debug)]
struct Object {
    packed: Packed,
    header: Header,
    dynamic: Dynamic,
    /// Names it answers to: the names it was asked for, its `DT_SONAME`, its path.
    names: Vec<String>,
    /// The object whose need loaded it (for the `DT_RPATH` chain).
    loader: Option<usize>,
    undefined: Vec<String>,
}

/// Programs and everything they load, found in a root directory.
#[derive(Clone, Debug)]
pub struct Packing {
    root: PathBuf,
    /// The directories of `ld.so.conf`, in order.
    conf_dirs: Vec<String>,
    objects: Vec<Object>,
}

/// Resolve `programs` (absolute paths inside `root`) with everything they
/// load: a shorthand for [`Packing::new`] and [`Packing::add_program`].
pub fn resolve(root: &Path, programs: &[&str]) -> Result<Packing, String> {
    let mut p = Packing::new(root)?;
    for program in programs {
        p.add_program(program)?;
    }
    Ok(p)
}

/// A line of `ld.so.conf` that matters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfLine {
    /// A library directory.
    Dir(String),
    /// `include PATTERN`: more configuration files, a glob (relative to the
    /// including file's directory when not absolute).
    Include(String),
}

/// `ld.so.conf` text as `ldconfig` reads it: `#` starts a comment, a line
/// `include PATTERN...` includes files, `hwcap` lines are ignored, any other
/// non-empty line is a directory (trailing `/` dropped).
pub fn parse_ld_so_conf(text: &str) -> Vec<ConfLine> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let mut words = line.split_ascii_whitespace();
        match words.next() {
            Some("include") if line.len() > "include".len() => {
                out.extend(words.map(|w| ConfLine::Include(w.to_string())));
            }
            Some("hwcap") => {}
            _ => {
                let dir = line.trim_end_matches('/');
                out.push(ConfLine::Dir(if dir.is_empty() { "/" } else { dir }.into()));
            }
        }
    }
    out
}

/// Debian's multiarch triplets of an object's class, byte order and machine.
fn triplets(h: &Header) -> &'static [&'static str] {
    match (h.machine, h.class64, h.little) {
        (62, true, true) => &["x86_64-linux-gnu"],
        (62, false, true) => &["x86_64-linux-gnux32"],
        (3, false, true) => &["i386-linux-gnu"],
        (183, true, true) => &["aarch64-linux-gnu"],
        (40, false, true) => &["arm-linux-gnueabihf", "arm-linux-gnueabi"],
        (243, true, true) => &["riscv64-linux-gnu"],
        (21, true, true) => &["powerpc64le-linux-gnu"],
        (22, true, false) => &["s390x-linux-gnu"],
        (258, true, true) => &["loongarch64-linux-gnu"],
        _ => &[],
    }
}

/// The default directories of the loader for objects like `h`, in the order
/// searched: see the module's doc.
pub fn default_dirs(h: &Header) -> Vec<String> {
    let mut out = Vec::new();
    for t in triplets(h) {
        out.push(format!("/lib/{t}"));
        out.push(format!("/usr/lib/{t}"));
    }
    if h.class64 {
        out.extend(["/lib64".to_string(), "/usr/lib64".to_string()]);
    }
    out.extend(["/lib".to_string(), "/usr/lib".to_string()]);
    out
}

/// `path` made absolute and normalised lexically (`.`, `..`, `//` removed).
pub fn normalise(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

/// The directory of an absolute, normalised path (`/` for `/x`).
fn dir_of(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

/// A search path element with `$ORIGIN` expanded to `origin`; `None` for
/// one with another dynamic string token, or relative (the loader's current
/// directory, no place in an image).
pub fn expand_origin(element: &str, origin: &str) -> Option<String> {
    let e = element
        .replace("${ORIGIN}", origin)
        .replace("$ORIGIN", origin);
    (!e.contains('$') && e.starts_with('/')).then(|| normalise(&e))
}

/// `path` (absolute) inside `root`, with every symbolic link on the way
/// followed inside the root (an absolute target starts again at the root),
/// as the path resolves after `chroot root`. A component that does not
/// exist ends the walk: the rest is appended as it is. At most 40 links.
pub fn in_root(root: &Path, path: &str) -> PathBuf {
    let mut done: Vec<String> = Vec::new();
    let mut todo: VecDeque<String> = path.split('/').map(str::to_string).collect();
    let mut links = 0;
    while let Some(c) = todo.pop_front() {
        match c.as_str() {
            "" | "." => continue,
            ".." => {
                done.pop();
                continue;
            }
            _ => {}
        }
        done.push(c);
        let here = root.join(done.join("/"));
        let Ok(meta) = std::fs::symlink_metadata(&here) else {
            done.extend(todo.drain(..).filter(|c| !c.is_empty() && c != "."));
            break;
        };
        if !meta.file_type().is_symlink() || links >= 40 {
            continue;
        }
        let Ok(target) = std::fs::read_link(&here) else {
            continue;
        };
        links += 1;
        done.pop();
        let target = target.to_string_lossy().into_owned();
        if target.starts_with('/') {
            done.clear();
        }
        for c in target.split('/').rev() {
            todo.push_front(c.to_string());
        }
    }
    root.join(done.join("/"))
}

/// Every directory of the `ld.so.conf` at `file` (an absolute path in
/// `root`) and the files it includes, in order; a missing file has none.
fn read_ld_so_conf(
    root: &Path,
    file: &str,
    depth: u32,
    out: &mut Vec<String>,
) -> Result<(), String> {
    let source = in_root(root, file);
    let text = match std::fs::read_to_string(&source) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("{}: {e}", source.display())),
    };
    for line in parse_ld_so_conf(&text) {
        match line {
            ConfLine::Dir(d) => {
                let d = normalise(&d);
                if !out.contains(&d) {
                    out.push(d);
                }
            }
            // ldconfig gives up on include loops much the same way.
            ConfLine::Include(_) if depth >= 8 => {
                return Err(format!(
                    "{}: includes nested too deep (a loop?)",
                    source.display()
                ));
            }
            ConfLine::Include(pattern) => {
                let pattern = if pattern.starts_with('/') {
                    normalise(&pattern)
                } else {
                    normalise(&format!("{}/{pattern}", dir_of(file)))
                };
                let (dir, name) = (dir_of(&pattern), &pattern[dir_of(&pattern).len()..]);
                let name = name.trim_start_matches('/');
                let Ok(entries) = std::fs::read_dir(in_root(root, dir)) else {
                    continue;
                };
                // glob(3) sorts what it finds.
                let mut names: Vec<String> = entries
                    .filter_map(|e| e.ok()?.file_name().into_string().ok())
                    .filter(|n| crate::glob::matches(name.as_bytes(), n.as_bytes()))
                    .collect();
                names.sort();
                for n in names {
                    read_ld_so_conf(root, &format!("{dir}/{n}"), depth + 1, out)?;
                }
            }
        }
    }
    Ok(())
}

/// What a candidate file turned out to be.
enum Candidate {
    Missing,
    Wrong(String),
    Found(Vec<u8>),
}

impl Packing {
    /// Nothing packed yet; `root`'s `ld.so.conf` read.
    pub fn new(root: &Path) -> Result<Packing, String> {
        let mut conf_dirs = Vec::new();
        read_ld_so_conf(root, LD_SO_CONF, 0, &mut conf_dirs)?;
        Ok(Packing {
            root: root.to_path_buf(),
            conf_dirs,
            objects: Vec::new(),
        })
    }

    /// The directories of the root's `ld.so.conf`, in order.
    pub fn conf_dirs(&self) -> &[String] {
        &self.conf_dirs
    }

    /// Every file to pack, in the order found: programs before what they load.
    pub fn files(&self) -> impl Iterator<Item = &Packed> {
        self.objects.iter().map(|o| &o.packed)
    }

    /// Pack the program at `path` (absolute, in the root) with its
    /// interpreter and every library it loads, and `libgcc_s.so.1` by the
    /// rule in the module's doc.
    pub fn add_program(&mut self, path: &str) -> Result<(), String> {
        let path = normalise(path);
        if self.loaded(&path).is_some() {
            return Ok(());
        }
        let source = in_root(&self.root, &path);
        let bytes = std::fs::read(&source).map_err(|e| format!("{path}: {e}"))?;
        let at = self.push(&path, source, &bytes, Role::Program, None, None)?;
        if let Some(interp) = self.objects[at].dynamic.interp.clone() {
            let interp = normalise(&interp);
            if self.loaded(&interp).is_none() {
                let source = in_root(&self.root, &interp);
                let b = std::fs::read(&source)
                    .map_err(|e| format!("{interp}, the program interpreter of {path}: {e}"))?;
                let needed_by = Some(path.clone());
                let i = self.push(&interp, source, &b, Role::Interpreter, needed_by, Some(at))?;
                self.check_like(i, at)?;
            }
        }
        self.load_needed(at)?;
        self.unwinding()
    }

    /// Pack OpenSSL's legacy provider (`legacy.so`) for the packed
    /// `libcrypto`, with what it needs; an error when no packed object loads
    /// libcrypto.
    pub fn add_openssl_legacy(&mut self) -> Result<(), String> {
        let crypto = self
            .objects
            .iter()
            .position(|o| o.names.iter().any(|n| n.starts_with("libcrypto.so.")))
            .ok_or("OpenSSL's legacy provider: no packed program loads libcrypto")?;
        let lib = &self.objects[crypto].packed;
        let bytes = std::fs::read(&lib.source).map_err(|e| format!("{}: {e}", lib.path))?;
        let dir =
            modules_dir(&bytes).unwrap_or_else(|| format!("{}/ossl-modules", dir_of(&lib.path)));
        let path = normalise(&format!("{dir}/legacy.so"));
        if self.loaded(&path).is_some() {
            return Ok(());
        }
        let source = in_root(&self.root, &path);
        let b = std::fs::read(&source)
            .map_err(|e| format!("{path}, OpenSSL's legacy provider for {}: {e}", lib.path))?;
        let needed_by = Some(lib.path.clone());
        let at = self.push(&path, source, &b, Role::Dlopened, needed_by, Some(crypto))?;
        self.check_like(at, crypto)?;
        self.load_needed(at)?;
        self.unwinding()
    }

    /// Add every file to `archive`: regular files, with their permission bits.
    pub fn add_to(&self, archive: &mut Archive) -> Result<(), String> {
        for f in self.files() {
            let data = std::fs::read(&f.source)
                .map_err(|e| format!("{} ({}): {e}", f.path, f.source.display()))?;
            archive.add_file(&f.path, f.mode, data)?;
        }
        Ok(())
    }

    /// The object answering to `name` (a name asked for, a soname, a path).
    fn loaded(&self, name: &str) -> Option<usize> {
        self.objects
            .iter()
            .position(|o| o.names.iter().any(|n| n == name))
    }

    /// Load the object at `path` in the image, read from `source`.
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        path: &str,
        source: PathBuf,
        bytes: &[u8],
        role: Role,
        needed_by: Option<String>,
        loader: Option<usize>,
    ) -> Result<usize, String> {
        let who = |e: &str| match &needed_by {
            Some(n) => format!("{path}, needed by {n}: {e}"),
            None => format!("{path}: {e}"),
        };
        let header = Header::parse(bytes).map_err(who)?;
        let dynamic = elf::dynamic(bytes).map_err(who)?;
        let undefined = elf::undefined_symbols(bytes).map_err(who)?;
        let mode = std::fs::metadata(&source)
            .map_err(|e| who(&e.to_string()))?
            .permissions()
            .mode()
            & 0o7777;
        let mut names = vec![path.to_string()];
        names.extend(dynamic.soname.clone());
        self.objects.push(Object {
            packed: Packed {
                path: path.to_string(),
                source,
                mode,
                role,
                needed_by,
            },
            header,
            dynamic,
            names,
            loader,
            undefined,
        });
        Ok(self.objects.len() - 1)
    }

    /// That object `at` runs with `like` (same class, byte order, machine).
    fn check_like(&self, at: usize, like: usize) -> Result<(), String> {
        let (a, b) = (&self.objects[at], &self.objects[like]);
        if (a.header.class64, a.header.little, a.header.machine)
            != (b.header.class64, b.header.little, b.header.machine)
        {
            return Err(format!(
                "{} is a {}, but {} is a {}",
                a.packed.path,
                a.header.describe(),
                b.packed.path,
                b.header.describe()
            ));
        }
        Ok(())
    }

    /// The directories to search for a name object `at` needs, in order.
    fn search_path(&self, at: usize) -> Vec<(String, From)> {
        let mut out: Vec<(String, From)> = Vec::new();
        let mut add = |dir: String, from: From| {
            if !out.iter().any(|(d, _)| *d == dir) {
                out.push((dir, from));
            }
        };
        let o = &self.objects[at];
        let expand = |o: &Object, elements: &[String]| -> Vec<String> {
            let origin = dir_of(&o.packed.path);
            elements
                .iter()
                .filter_map(|e| expand_origin(e, origin))
                .collect()
        };
        if o.dynamic.runpath.is_empty() {
            let mut chain = Some(at);
            let mut steps = 0;
            while let Some(i) = chain.filter(|_| steps <= self.objects.len()) {
                let l = &self.objects[i];
                for d in expand(l, &l.dynamic.rpath) {
                    add(d, From::Loader);
                }
                chain = l.loader;
                steps += 1;
            }
        }
        for d in expand(o, &o.dynamic.runpath) {
            add(d, From::Loader);
        }
        let defaults = default_dirs(&o.header);
        for d in &self.conf_dirs {
            let from = if defaults.contains(d) {
                From::Loader
            } else {
                From::Cache
            };
            add(d.clone(), from);
        }
        for d in defaults {
            add(d, From::Loader);
        }
        out
    }

    fn candidate(&self, path: &str, like: &Header) -> Result<Candidate, String> {
        let source = in_root(&self.root, path);
        match std::fs::metadata(&source) {
            Ok(m) if m.is_file() => {}
            Ok(_) => return Ok(Candidate::Missing),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Candidate::Missing),
            Err(e) => return Err(format!("{path}: {e}")),
        }
        let bytes = std::fs::read(&source).map_err(|e| format!("{path}: {e}"))?;
        let header = match Header::parse(&bytes) {
            Ok(h) => h,
            Err(e) => return Ok(Candidate::Wrong(format!("{path}: {e}"))),
        };
        if (header.class64, header.little, header.machine)
            != (like.class64, like.little, like.machine)
        {
            return Ok(Candidate::Wrong(format!(
                "{path} is a {}",
                header.describe()
            )));
        }
        Ok(Candidate::Found(bytes))
    }

    /// Load, breadth first, what object `first` needs and what that needs.
    fn load_needed(&mut self, first: usize) -> Result<(), String> {
        let mut queue = VecDeque::from([first]);
        while let Some(at) = queue.pop_front() {
            for name in self.objects[at].dynamic.needed.clone() {
                if let Some(i) = self.loaded(&name) {
                    if !self.objects[i].names.contains(&name) {
                        self.objects[i].names.push(name);
                    }
                    continue;
                }
                let i = self.find(&name, at, Role::Library)?;
                queue.push_back(i);
            }
        }
        Ok(())
    }

    /// Find `name` as object `at` would, and load it.
    fn find(&mut self, name: &str, at: usize, role: Role) -> Result<usize, String> {
        let needer = self.objects[at].packed.path.clone();
        let like = self.objects[at].header;
        if name.contains('/') {
            let path = normalise(name);
            return match self.candidate(&path, &like)? {
                Candidate::Found(b) => {
                    let source = in_root(&self.root, &path);
                    self.push(&path, source, &b, role, Some(needer), Some(at))
                }
                Candidate::Missing => Err(format!("{name}, needed by {needer}: not found")),
                Candidate::Wrong(why) => Err(format!("{name}, needed by {needer}: {why}")),
            };
        }
        let dirs = self.search_path(at);
        let mut skipped = Vec::new();
        for (dir, from) in &dirs {
            let path = normalise(&format!("{dir}/{name}"));
            match self.candidate(&path, &like)? {
                Candidate::Missing => continue,
                Candidate::Wrong(why) => skipped.push(why),
                Candidate::Found(b) => {
                    let packed_at = match from {
                        From::Loader => path.clone(),
                        From::Cache => {
                            let home = default_dirs(&like)
                                .into_iter()
                                .find(|d| in_root(&self.root, d).is_dir())
                                .unwrap_or_else(|| "/lib".to_string());
                            format!("{home}/{name}")
                        }
                    };
                    // Read from where it was found, packed where the image's
                    // loader looks.
                    let source = in_root(&self.root, &path);
                    let i = self.push(&packed_at, source, &b, role, Some(needer), Some(at))?;
                    self.objects[i].names.push(name.to_string());
                    return Ok(i);
                }
            }
        }
        let dirs: Vec<&str> = dirs.iter().map(|(d, _)| d.as_str()).collect();
        let mut e = format!(
            "{name}, needed by {needer}: not found in {}",
            dirs.join(", ")
        );
        if !skipped.is_empty() {
            e.push_str(&format!(" (skipped {})", skipped.join("; ")));
        }
        Err(e)
    }

    /// [`LIBGCC_S`] by the rule in the module's doc, if not loaded yet.
    fn unwinding(&mut self) -> Result<(), String> {
        if self.loaded(LIBGCC_S).is_some() {
            return Ok(());
        }
        let Some(at) = self
            .objects
            .iter()
            .position(|o| o.undefined.iter().any(|s| UNWINDING.contains(&s.as_str())))
        else {
            return Ok(());
        };
        let i = self.find(LIBGCC_S, at, Role::Dlopened)?;
        self.load_needed(i)
    }
}

/// The `MODULESDIR` compiled into a libcrypto (`MODULESDIR: "/usr/lib/..."`).
fn modules_dir(libcrypto: &[u8]) -> Option<String> {
    const KEY: &[u8] = b"MODULESDIR: \"";
    let at = libcrypto.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let rest = libcrypto.get(at..)?;
    let end = rest.iter().take(4096).position(|&c| c == b'"')?;
    let dir = std::str::from_utf8(&rest[..end]).ok()?;
    dir.starts_with('/').then(|| dir.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::elf::build_dynamic;
    use std::collections::BTreeSet;
    use std::process::Command;

    const NEEDED: u64 = 1;
    const SONAME: u64 = 14;
    const RUNPATH: u64 = 29;
    const RPATH: u64 = 15;

    #[test]
    fn ld_so_conf_lines() {
        let text = "# libc default configuration\n/usr/local/lib/\n\ninclude /etc/ld.so.conf.d/*.conf  more/*.conf\nhwcap 0 x\n  /opt/lib # trailing\n";
        assert_eq!(
            parse_ld_so_conf(text),
            [
                ConfLine::Dir("/usr/local/lib".into()),
                ConfLine::Include("/etc/ld.so.conf.d/*.conf".into()),
                ConfLine::Include("more/*.conf".into()),
                ConfLine::Dir("/opt/lib".into()),
            ]
        );
    }

    #[test]
    fn defaults_and_origin() {
        let x86_64 = Header {
            class64: true,
            little: true,
            kind: 3,
            machine: 62,
        };
        assert_eq!(
            default_dirs(&x86_64),
            [
                "/lib/x86_64-linux-gnu",
                "/usr/lib/x86_64-linux-gnu",
                "/lib64",
                "/usr/lib64",
                "/lib",
                "/usr/lib"
            ]
        );
        assert_eq!(
            expand_origin("$ORIGIN/../lib", "/opt/app/bin").as_deref(),
            Some("/opt/app/lib")
        );
        assert_eq!(expand_origin("${ORIGIN}/x", "/a").as_deref(), Some("/a/x"));
        assert_eq!(expand_origin("/usr/$LIB", "/a"), None);
        assert_eq!(expand_origin("lib", "/a"), None);
        assert_eq!(normalise("/lib//x/./../y"), "/lib/y");
    }

    /// A scratch tree; removed when dropped.
    struct Tree(PathBuf);

    impl Tree {
        fn new(name: &str) -> Tree {
            let dir = std::env::temp_dir()
                .join(format!("modboot-programs-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Tree(dir)
        }

        fn put(&self, path: &str, bytes: &[u8]) {
            let p = self.0.join(path.trim_start_matches('/'));
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, bytes).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }

        fn link(&self, path: &str, target: &str) {
            let p = self.0.join(path.trim_start_matches('/'));
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::os::unix::fs::symlink(target, p).unwrap();
        }
    }

    impl Drop for Tree {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn so(soname: &str, needed: &[&str], extra: &[(u64, &str)], undefined: &[&str]) -> Vec<u8> {
        let mut d: Vec<(u64, &str)> = needed.iter().map(|n| (NEEDED, *n)).collect();
        d.push((SONAME, soname));
        d.extend_from_slice(extra);
        build_dynamic(true, true, 62, None, &d, undefined)
    }

    fn program(needed: &[&str], extra: &[(u64, &str)]) -> Vec<u8> {
        let mut d: Vec<(u64, &str)> = needed.iter().map(|n| (NEEDED, *n)).collect();
        d.extend_from_slice(extra);
        build_dynamic(true, true, 62, Some("/lib64/ld-linux-x86-64.so.2"), &d, &[])
    }

    /// A merged-/usr tree like Debian's: /lib -> usr/lib, /lib64 an absolute
    /// link, the interpreter a link into the multiarch directory.
    fn debian_like(name: &str) -> Tree {
        let t = Tree::new(name);
        t.link("/lib", "usr/lib");
        t.link("/lib64", "/usr/lib64");
        t.link(
            "/usr/lib64/ld-linux-x86-64.so.2",
            "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
        );
        t.put(
            "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
            &so("ld-linux-x86-64.so.2", &[], &[], &[]),
        );
        t.put(
            "/usr/lib/x86_64-linux-gnu/libc.so.6",
            &so("libc.so.6", &["ld-linux-x86-64.so.2"], &[], &[]),
        );
        t.put(
            "/usr/lib/x86_64-linux-gnu/libgcc_s.so.1",
            &so("libgcc_s.so.1", &["libc.so.6"], &[], &[]),
        );
        t.put("/etc/ld.so.conf", b"include /etc/ld.so.conf.d/*.conf\n");
        t.put(
            "/etc/ld.so.conf.d/x86_64-linux-gnu.conf",
            b"/usr/local/lib/x86_64-linux-gnu\n/lib/x86_64-linux-gnu\n/usr/lib/x86_64-linux-gnu\n",
        );
        t.put("/etc/ld.so.conf.d/libc.conf", b"/usr/local/lib\n");
        t
    }

    fn paths(p: &Packing) -> Vec<(&str, Role)> {
        p.files().map(|f| (f.path.as_str(), f.role)).collect()
    }

    /// A merged-/usr tree: the loader's order, $ORIGIN, a wrong-class
    /// candidate skipped, a cache-only directory packed in a default one,
    /// a DT_NEEDED loop, libgcc_s by the rule.
    #[test]
    fn resolves_like_the_loader() {
        let t = debian_like("loader");
        t.put(
            "/usr/bin/app",
            &program(
                &["libapp.so.1", "libloop-a.so", "libc.so.6"],
                &[(RUNPATH, "$ORIGIN/../lib/app")],
            ),
        );
        t.put(
            "/usr/lib/app/libapp.so.1",
            &so("libapp.so.1", &["liblocal.so.3"], &[], &["pthread_exit"]),
        );
        t.put(
            "/usr/local/lib/liblocal.so.3",
            &so("liblocal.so.3", &["libc.so.6"], &[], &[]),
        );
        // A 32-bit libloop-a.so earlier in the order is skipped.
        t.put(
            "/usr/lib/x86_64-linux-gnu/libloop-a.so",
            &build_dynamic(false, true, 3, None, &[(SONAME, "libloop-a.so")], &[]),
        );
        t.put(
            "/usr/lib/libloop-a.so",
            &so("libloop-a.so", &["libloop-b.so"], &[], &[]),
        );
        t.put(
            "/usr/lib/libloop-b.so",
            &so("libloop-b.so", &["libloop-a.so"], &[], &[]),
        );
        let p = resolve(&t.0, &["/usr/bin/app"]).unwrap();
        assert_eq!(
            p.conf_dirs(),
            [
                "/usr/local/lib",
                "/usr/local/lib/x86_64-linux-gnu",
                "/lib/x86_64-linux-gnu",
                "/usr/lib/x86_64-linux-gnu"
            ]
        );
        assert_eq!(
            paths(&p),
            [
                ("/usr/bin/app", Role::Program),
                ("/lib64/ld-linux-x86-64.so.2", Role::Interpreter),
                ("/usr/lib/app/libapp.so.1", Role::Library),
                ("/lib/libloop-a.so", Role::Library),
                ("/lib/x86_64-linux-gnu/libc.so.6", Role::Library),
                // Found through ld.so.conf only: packed where the loader looks.
                ("/lib/x86_64-linux-gnu/liblocal.so.3", Role::Library),
                ("/lib/libloop-b.so", Role::Library),
                ("/lib/x86_64-linux-gnu/libgcc_s.so.1", Role::Dlopened),
            ]
        );
        let files: Vec<&Packed> = p.files().collect();
        assert_eq!(
            files[1].source,
            t.0.join("usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")
        );
        assert_eq!(files[5].source, t.0.join("usr/local/lib/liblocal.so.3"));
        assert_eq!(
            files[5].needed_by.as_deref(),
            Some("/usr/lib/app/libapp.so.1")
        );
        assert_eq!(files[0].mode, 0o755);
        let mut archive = Archive::new();
        p.add_to(&mut archive).unwrap();
        assert!(
            archive
                .paths()
                .any(|a| a == "lib/x86_64-linux-gnu/libgcc_s.so.1")
        );
    }

    #[test]
    fn rpath_chain_and_runpath() {
        let t = debian_like("rpath");
        t.put("/opt/bin/app", &program(&["liba.so"], &[(RPATH, "/opt/a")]));
        // liba has no RUNPATH: the program's RPATH finds libb for it too.
        t.put(
            "/opt/a/liba.so",
            &so("liba.so", &["libb.so", "libc.so.6"], &[], &[]),
        );
        t.put(
            "/opt/a/libb.so",
            &so("libb.so", &["libc.so.6"], &[(RUNPATH, "/opt/c")], &[]),
        );
        t.put(
            "/opt/c/libc.so.6",
            &build_dynamic(false, false, 2, None, &[], &[]),
        );
        let p = resolve(&t.0, &["/opt/bin/app"]).unwrap();
        let libs: Vec<&str> = p.files().skip(2).map(|f| f.path.as_str()).collect();
        // libc.so.6 first needed by liba (no RUNPATH): the default directory.
        assert_eq!(
            libs,
            [
                "/opt/a/liba.so",
                "/opt/a/libb.so",
                "/lib/x86_64-linux-gnu/libc.so.6"
            ]
        );
    }

    #[test]
    fn damage_and_absence_are_errors_naming_who() {
        let t = debian_like("errors");
        t.put("/sbin/tool", &program(&["libfoo.so.1"], &[]));
        let e = resolve(&t.0, &["/sbin/tool"]).unwrap_err();
        assert_eq!(
            e,
            "libfoo.so.1, needed by /sbin/tool: not found in /usr/local/lib, \
             /usr/local/lib/x86_64-linux-gnu, /lib/x86_64-linux-gnu, /usr/lib/x86_64-linux-gnu, \
             /lib64, /usr/lib64, /lib, /usr/lib"
        );
        let whole = program(&["libc.so.6"], &[]);
        t.put("/sbin/cut", &whole[..whole.len() / 3]);
        let e = resolve(&t.0, &["/sbin/cut"]).unwrap_err();
        assert!(e.starts_with("/sbin/cut: a damaged ELF"), "{e}");
        t.put("/sbin/uses-cut", &program(&["libcut.so"], &[]));
        let lib = so("libcut.so", &[], &[], &[]);
        t.put("/usr/lib/libcut.so", &lib[..200]);
        let e = resolve(&t.0, &["/sbin/uses-cut"]).unwrap_err();
        assert!(
            e.starts_with("/lib/libcut.so, needed by /sbin/uses-cut: a damaged ELF"),
            "{e}"
        );
        let e = resolve(&t.0, &["/sbin/none"]).unwrap_err();
        assert!(e.starts_with("/sbin/none: "), "{e}");
        t.put("/sbin/script", b"#!/bin/sh\n");
        assert_eq!(
            resolve(&t.0, &["/sbin/script"]).unwrap_err(),
            "/sbin/script: not an ELF file"
        );
    }

    #[test]
    fn in_root_follows_links_inside() {
        let t = debian_like("inroot");
        assert_eq!(
            in_root(&t.0, "/lib64/ld-linux-x86-64.so.2"),
            t.0.join("usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")
        );
        // `..` after a link is the link target's parent, as the kernel has it.
        assert_eq!(in_root(&t.0, "/lib/../etc/x/y"), t.0.join("usr/etc/x/y"));
        t.link("/loop", "/loop");
        let _ = in_root(&t.0, "/loop/x");
    }

    // The build machine's own programs, against ldd.

    fn which(names: &[&str]) -> Option<String> {
        names
            .iter()
            .find(|p| Path::new(p).exists())
            .map(|p| p.to_string())
    }

    /// `ldd`'s paths for `program`: each `name => path` and the interpreter.
    fn ldd(program: &str) -> BTreeSet<String> {
        let out = Command::new("ldd").arg(program).output().expect("ldd runs");
        assert!(out.status.success(), "ldd {program}");
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .filter_map(|l| {
                let l = l.trim();
                let path = l.split("=> ").nth(1).unwrap_or(l);
                let path = path.split(" (").next()?;
                path.starts_with('/').then(|| path.to_string())
            })
            .collect()
    }

    #[test]
    fn the_library_set_is_ldds() {
        let mut checked = 0;
        for names in [
            ["/sbin/cryptsetup", "/usr/sbin/cryptsetup"],
            ["/sbin/lvm", "/usr/sbin/lvm"],
            ["/sbin/mdadm", "/usr/sbin/mdadm"],
        ] {
            let Some(program) = which(&names) else {
                eprintln!(
                    "{} not installed (apt-get install cryptsetup-bin lvm2 mdadm); skipped",
                    names[0]
                );
                continue;
            };
            let p = resolve(Path::new("/"), &[&program]).unwrap();
            let ours: BTreeSet<String> = p.files().skip(1).map(|f| f.path.clone()).collect();
            let theirs = ldd(&program);
            let extra: Vec<&String> = ours.difference(&theirs).collect();
            let missing: Vec<&String> = theirs.difference(&ours).collect();
            assert!(missing.is_empty(), "{program}: ldd has {missing:?} too");
            let gcc = p.files().any(|f| f.role == Role::Dlopened);
            assert!(
                extra.iter().all(|e| e.ends_with("/libgcc_s.so.1"))
                    && extra.len() <= usize::from(gcc),
                "{program}: we have {extra:?} too"
            );
            if program.ends_with("cryptsetup") {
                // libargon2's threads end in pthread_exit (Debian #1032221).
                assert!(gcc, "{program}: libgcc_s.so.1 not packed");
            }
            eprintln!(
                "{program}: {} files, beyond ldd's: {extra:?}",
                ours.len() + 1
            );
            checked += 1;
        }
        eprintln!("{checked} programs compared with ldd");
    }

    fn is_root() -> bool {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                let l = s.lines().find(|l| l.starts_with("Uid:"))?;
                Some(l.split_whitespace().nth(2)? == "0")
            })
            .unwrap_or(false)
    }

    /// The archive unpacked into an empty directory runs, without
    /// ld.so.cache: the layout is what the image's loader finds.
    #[test]
    fn packed_cryptsetup_runs_without_ld_so_cache() {
        let Some(cryptsetup) = which(&["/sbin/cryptsetup", "/usr/sbin/cryptsetup"]) else {
            eprintln!("cryptsetup not installed (apt-get install cryptsetup-bin); skipped");
            return;
        };
        if !is_root() {
            eprintln!("not root: chroot needs root; skipped");
            return;
        }
        let mut programs = vec![cryptsetup.as_str()];
        let mdadm = which(&["/sbin/mdadm", "/usr/sbin/mdadm"]);
        programs.extend(mdadm.as_deref());
        let mut p = resolve(Path::new("/"), &programs).unwrap();
        p.add_openssl_legacy().unwrap();
        let mut archive = Archive::new();
        p.add_to(&mut archive).unwrap();
        let t = Tree::new("chroot");
        let (members, _) =
            crate::host::cpio::read_image(&archive.to_newc(), &|_, _| Err("no compression".into()))
                .unwrap();
        for m in members {
            let at = t.0.join(&m.path);
            match m.type_char() {
                'd' => std::fs::create_dir_all(&at).unwrap(),
                '-' => {
                    std::fs::write(&at, &m.data).unwrap();
                    std::fs::set_permissions(&at, std::fs::Permissions::from_mode(m.mode & 0o7777))
                        .unwrap();
                }
                c => panic!("{}: unexpected type {c}", m.path),
            }
        }
        assert!(!t.0.join("etc/ld.so.cache").exists());
        for (program, arg) in [(cryptsetup.as_str(), "--version")]
            .into_iter()
            .chain(mdadm.as_deref().map(|m| (m, "--version")))
        {
            let out = Command::new("chroot")
                .arg(&t.0)
                .arg(program)
                .arg(arg)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "chroot {} {program} {arg}: {}",
                t.0.display(),
                String::from_utf8_lossy(&out.stderr)
            );
            eprintln!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        // A list that misses a library does not run: the test can fail.
        let libc = p.files().find(|f| f.path.ends_with("/libc.so.6")).unwrap();
        std::fs::remove_file(t.0.join(libc.path.trim_start_matches('/'))).unwrap();
        let out = Command::new("chroot")
            .arg(&t.0)
            .arg(&cryptsetup)
            .arg("--version")
            .output()
            .unwrap();
        assert!(!out.status.success());
    }
}
