//! The layers between the disks and the root: LUKS, LVM and md RAID. For
//! each layer an image holds (`--layers`, `layers =`, what `--hostonly`
//! found under the root, or what the build machine's own root is on), what
//! the init needs to open it ([`wanted`], then [`pack`]):
//!
//! | layer | modules | tool | configuration |
//! | --- | --- | --- | --- |
//! | luks | `dm_crypt`, `algif_skcipher`; the cipher's and hashes' (`crypto-aes`, `crypto-xts`, `crypto-sha256`...) | `/sbin/cryptsetup`, OpenSSL's legacy provider when a hash needs it | the `/etc/crypttab` entries the image needs, as its own command line (`rd.luks.name=`, `.key=`, `.options=` by UUID), their key files (mode 0600) |
//! | lvm | `dm_mod` (generic: `dm_snapshot`, `dm_mirror`, `dm_raid`, `dm_thin_pool`) | `/sbin/lvm` | `/etc/lvm/lvm.conf` |
//! | md | `md_mod`; the array's personality (generic: `raid0`, `raid1`, `raid10`, `raid456`, `linear`) | `/sbin/mdadm` | `/etc/mdadm/mdadm.conf` |
//!
//! The modules are packed, not loaded by name: the init asks for `dm_crypt`
//! and `dm_mod` when it meets a container, and the kernel asks for the
//! rest (`crypto-xts(aes)`, `md-level-1`), which the init's modprobe mode
//! answers from the blob. A host-only image reads the cipher and hashes
//! from the LUKS header of the device itself ([`luks_header`]) and the
//! level of each md array; a generic one packs the usual ones where the
//! tree has them as modules (a name built in or missing is skipped).
//!
//! The tools are the build machine's, packed with every library they load
//! ([`programs::Packing`]) at the paths the init runs them from. Every
//! tool or library that cannot be packed refuses the image in one line:
//! an image for a root on these layers without its tools cannot boot.
//!
//! `/etc/crypttab` is read as Debian's `cryptroot` hook reads it
//! ([`crypttab::needed`]): the entries behind the root and `/usr` of the
//! build root's `/etc/fstab` and behind the resume device
//! (`/etc/initramfs-tools/conf.d/resume`), found by following the devices
//! down through `/sys` ([`hostonly::walk`]) or named `/dev/mapper/NAME`;
//! for a host-only image also those behind the mounted root; then every
//! entry with the `initramfs` option. They reach the init as the image's
//! own command line ([`crypttab_files`]), read before the kernel's, as
//! dracut's host-only images keep `rd.luks.*` in `/etc/cmdline.d`: one
//! reader in the init for both.

use super::cpio::Archive;
use super::crypttab;
use super::hostonly::{self, StackKind, Stacked};
use super::notes::note;
use super::programs::{self, Packing};
use crate::blkid::Layer;
use std::path::{Path, PathBuf};

/// Every layer, in the order an image lists them.
pub const ALL: [Layer; 3] = [Layer::Luks, Layer::Lvm, Layer::Md];

/// `--layers`' and `layers`' word for a layer.
pub fn parse(word: &str) -> Option<Layer> {
    ALL.into_iter().find(|l| name(*l) == word)
}

/// A layer's word.
pub fn name(layer: Layer) -> &'static str {
    match layer {
        Layer::Luks => "luks",
        Layer::Lvm => "lvm",
        Layer::Md => "md",
    }
}

/// Where the init runs a layer's tool, and the package that has it (for
/// the message when it is missing).
pub fn tool(layer: Layer) -> (&'static str, &'static str) {
    match layer {
        Layer::Luks => ("/sbin/cryptsetup", "cryptsetup-bin"),
        Layer::Lvm => ("/sbin/lvm", "lvm2"),
        Layer::Md => ("/sbin/mdadm", "mdadm"),
    }
}

/// Hashes whose OpenSSL 3 implementation is in its legacy provider (as
/// cryptsetup names them).
pub const LEGACY_HASHES: &[&str] = &["ripemd160", "whirlpool", "md4", "md2", "mdc2"];

/// The module names a generic image's layer packs where the tree has them
/// as modules.
fn generic_optional(layer: Layer) -> &'static [&'static str] {
    match layer {
        Layer::Luks => &[
            "crypto-aes",
            "crypto-xts",
            "crypto-cbc",
            "crypto-essiv",
            "crypto-sha256",
            "crypto-sha512",
        ],
        Layer::Lvm => &["dm_snapshot", "dm_mirror", "dm_raid", "dm_thin_pool"],
        Layer::Md => &["raid0", "raid1", "raid10", "raid456", "linear"],
    }
}

/// The module names every image with the layer packs: the tree must have
/// them (as modules or built in).
fn required(layer: Layer) -> &'static [&'static str] {
    match layer {
        Layer::Luks => &["dm_crypt", "algif_skcipher"],
        Layer::Lvm => &["dm_mod"],
        Layer::Md => &["md_mod"],
    }
}

/// What a LUKS header says about its encryption.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LuksHeader {
    /// 1 or 2.
    pub version: u16,
    /// dm-crypt cipher specifications: `aes-xts-plain64`, `aes-cbc-essiv:sha256`.
    pub ciphers: Vec<String>,
    /// Hashes: the key digest's and the PBKDF2 and AF hashes (`sha256`).
    pub hashes: Vec<String>,
}

/// The LUKS magic, `LUKS\xba\xbe`.
const LUKS_MAGIC: &[u8] = b"LUKS\xba\xbe";
/// LUKS2's binary header: the JSON area follows it.
const LUKS2_BINARY: usize = 4096;

/// Read a LUKS1 or LUKS2 header (from the device's first bytes: LUKS1's
/// first 104, LUKS2's whole header, whose size is at offset 8).
///
/// LUKS1 (the on-disk format, version 1.2.3): `cipher-name` at 8,
/// `cipher-mode` at 40, `hash-spec` at 72, each 32 bytes NUL-padded.
/// LUKS2 (on-disk format 1.1.x): the JSON text after the 4096-byte binary
/// header, up to the header's size; its `"encryption"` values (segments,
/// keyslot areas) and `"hash"` values (digests, PBKDF2, AF).
pub fn luks_header(b: &[u8]) -> Result<LuksHeader, String> {
    if b.get(..6) != Some(LUKS_MAGIC) {
        return Err("not a LUKS header (no LUKS magic)".into());
    }
    let version = u16::from_be_bytes([b[6], *b.get(7).ok_or("LUKS header truncated")?]);
    let field = |at: usize| -> Result<String, String> {
        let f = b
            .get(at..at + 32)
            .ok_or("LUKS1 header truncated")?
            .split(|&c| c == 0)
            .next()
            .unwrap_or(&[]);
        Ok(String::from_utf8_lossy(f).into_owned())
    };
    match version {
        1 => {
            let (cipher, mode, hash) = (field(8)?, field(40)?, field(72)?);
            Ok(LuksHeader {
                version,
                ciphers: vec![format!("{cipher}-{mode}")],
                hashes: vec![hash],
            })
        }
        2 => {
            let size = b
                .get(8..16)
                .map(|s| u64::from_be_bytes(s.try_into().unwrap_or_default()))
                .ok_or("LUKS2 header truncated")? as usize;
            let end = size.min(b.len());
            let json = b
                .get(LUKS2_BINARY..end)
                .ok_or("LUKS2 header truncated before its JSON area")?;
            let json = json.split(|&c| c == 0).next().unwrap_or(&[]);
            let json = String::from_utf8_lossy(json);
            Ok(LuksHeader {
                version,
                ciphers: json_strings(&json, "encryption"),
                hashes: json_strings(&json, "hash"),
            })
        }
        v => Err(format!("LUKS version {v}: not 1 or 2")),
    }
}

/// Every string value of `key` in JSON text, each once, in order. Enough
/// for LUKS2's metadata, whose strings hold no escapes cryptsetup writes.
fn json_strings(json: &str, key: &str) -> Vec<String> {
    let quoted = format!("\"{key}\"");
    let mut out: Vec<String> = Vec::new();
    let mut rest = json;
    while let Some(at) = rest.find(&quoted) {
        rest = &rest[at + quoted.len()..];
        let after = rest.trim_start();
        let Some(after) = after.strip_prefix(':') else {
            continue;
        };
        let Some(value) = after.trim_start().strip_prefix('"') else {
            continue;
        };
        if let Some(end) = value.find('"') {
            let v = value[..end].to_string();
            if !v.is_empty() && !out.contains(&v) {
                out.push(v);
            }
        }
    }
    out
}

/// The kernel's name of a hash (cryptsetup's and OpenSSL's `ripemd160`
/// is the kernel's `rmd160`, `whirlpool` its `wp512`).
fn kernel_hash(hash: &str) -> &str {
    match hash {
        "ripemd160" => "rmd160",
        "whirlpool" => "wp512",
        h => h,
    }
}

/// The crypto API names the kernel asks for to set up a dm-crypt cipher
/// specification (`aes-xts-plain64`: `crypto-aes`, `crypto-xts`;
/// `aes-cbc-essiv:sha256` adds `crypto-essiv` and `crypto-sha256`). The
/// kernel's own form (`capi:xts(aes)-plain64`) is read too.
pub fn cipher_names(spec: &str) -> Vec<String> {
    let mut out = Vec::new();
    let ivopts = match spec.strip_prefix("capi:") {
        Some(capi) => {
            // capi:MODE(CIPHER)-IV
            let (alg, iv) = capi.rsplit_once('-').unwrap_or((capi, ""));
            for part in alg.split(['(', ')', ',']).filter(|p| !p.is_empty()) {
                out.push(format!("crypto-{part}"));
            }
            iv
        }
        None => {
            // CIPHER-MODE-IV
            let mut parts = spec.splitn(3, '-');
            for part in [parts.next(), parts.next()].into_iter().flatten() {
                out.push(format!("crypto-{part}"));
            }
            parts.next().unwrap_or("")
        }
    };
    let (iv, hash) = ivopts.split_once(':').unwrap_or((ivopts, ""));
    if iv == "essiv" {
        out.push("crypto-essiv".into());
    }
    if !hash.is_empty() {
        out.push(format!("crypto-{}", kernel_hash(hash)));
    }
    out.retain(|n| n != "crypto-");
    out
}

/// The layers an image holds and what they pack.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Layers {
    /// Each layer once, in [`ALL`]'s order.
    pub layers: Vec<Layer>,
    /// Names the tree must have, with where they came from (`layers=luks`).
    pub required: Vec<(String, String)>,
    /// Names packed where the tree has them as modules; skipped otherwise.
    pub optional: Vec<String>,
    /// Pack OpenSSL's legacy provider with cryptsetup.
    pub openssl_legacy: bool,
    /// The LUKS mappings found under the mounted root (host-only): their
    /// crypttab entries are needed.
    pub crypt_targets: Vec<String>,
}

impl Layers {
    fn add(&mut self, layer: Layer, why: &str, generic: bool) {
        if !self.layers.contains(&layer) {
            self.layers.push(layer);
            self.layers
                .sort_by_key(|l| ALL.iter().position(|a| a == l).unwrap_or(0));
            for r in required(layer) {
                self.required.push((r.to_string(), why.to_string()));
            }
        }
        if generic {
            self.optional(generic_optional(layer).iter().map(|n| n.to_string()));
            if layer == Layer::Luks {
                self.openssl_legacy = true;
            }
        }
    }

    fn optional(&mut self, names: impl IntoIterator<Item = String>) {
        for n in names {
            if !self.optional.contains(&n) {
                self.optional.push(n);
            }
        }
    }

    /// The layers of the stacked devices `stacked` (found under a root by
    /// host-only detection), with what each device needs; a LUKS header is
    /// read from `/dev/` of the container (`dev`: `/dev` on a machine).
    pub fn add_stacked(&mut self, stacked: &[Stacked], dev: &Path, why: &str) {
        for s in stacked {
            match &s.kind {
                StackKind::Luks => {
                    self.add(Layer::Luks, why, false);
                    if let Some(n) = &s.dm_name {
                        if !self.crypt_targets.contains(n) {
                            self.crypt_targets.push(n.clone());
                        }
                    }
                    let Some(slave) = s.slaves.first() else {
                        continue;
                    };
                    let path = dev.join(slave);
                    match read_header(&path).and_then(|b| luks_header(&b)) {
                        Ok(h) => {
                            note(&format!(
                                "host-only: {} is LUKS{} with {}, hashes {}",
                                path.display(),
                                h.version,
                                h.ciphers.join(" "),
                                h.hashes.join(" ")
                            ));
                            for c in &h.ciphers {
                                self.optional(cipher_names(c));
                            }
                            for hash in &h.hashes {
                                self.optional([format!("crypto-{}", kernel_hash(hash))]);
                                if LEGACY_HASHES.contains(&hash.as_str()) {
                                    self.openssl_legacy = true;
                                }
                            }
                        }
                        Err(e) => {
                            note(&format!(
                                "warning: host-only: {}: {e}; packing the usual ciphers and hashes",
                                path.display()
                            ));
                            self.add(Layer::Luks, why, true);
                        }
                    }
                }
                StackKind::Lvm => self.add(Layer::Lvm, why, false),
                StackKind::Md(level) => {
                    self.add(Layer::Md, why, false);
                    match level.as_str() {
                        "container" | "" => {}
                        l => self
                            .required
                            .push((format!("md-{l}"), format!("{why}: {}", s.name))),
                    }
                }
                StackKind::OtherDm(uuid) => note(&format!(
                    "warning: {why}: {} is a device-mapper device modboot's init does not open \
                     (dm/uuid {uuid:?})",
                    hostonly::describe(s)
                )),
            }
        }
    }
}

/// The first bytes of a LUKS device: its whole header (LUKS2's size is
/// in its first 16 bytes; at most 4 MiB).
fn read_header(path: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut b = vec![0u8; LUKS2_BINARY];
    f.read_exact(&mut b).map_err(|e| e.to_string())?;
    if b.get(6..8) == Some(&[0, 2]) {
        let size = u64::from_be_bytes(b[8..16].try_into().unwrap_or_default()).min(4 << 20);
        let mut more = vec![0u8; (size as usize).saturating_sub(LUKS2_BINARY)];
        f.read_exact(&mut more).map_err(|e| e.to_string())?;
        b.extend(more);
    }
    Ok(b)
}

/// Whether `tree_dir` is one of the build machine's own kernels (under
/// `/lib/modules` or `/usr/lib/modules`): an image of it boots this
/// machine.
pub fn own_tree(tree_dir: &Path) -> bool {
    let dir = std::fs::canonicalize(tree_dir).unwrap_or_else(|_| tree_dir.to_path_buf());
    ["/lib/modules", "/usr/lib/modules"].iter().any(|m| {
        let m = std::fs::canonicalize(m).unwrap_or_else(|_| PathBuf::from(m));
        dir.parent() == Some(&m)
    })
}

/// The layers a build packs: those `asked` for (`--layers`, `layers =`:
/// generic sets of modules), those under the root host-only detection
/// found (`stacked`, with their own modules), and, when none are asked for
/// (`asked` unset), a `generic` image of one of the build machine's own
/// kernels takes those its root is on.
pub fn wanted(
    asked: Option<&[Layer]>,
    generic: bool,
    tree_dir: &Path,
    stacked: Option<&[Stacked]>,
) -> Layers {
    let mut l = Layers::default();
    for layer in asked.into_iter().flatten() {
        l.add(*layer, &format!("layers={}", name(*layer)), true);
    }
    if let Some(stacked) = stacked {
        l.add_stacked(stacked, Path::new("/dev"), "host-only");
    }
    if asked.is_none() && generic && stacked.is_none() && own_tree(tree_dir) {
        match own_root_stack() {
            Ok(stacked) => {
                for st in &stacked {
                    let layer = match st.kind {
                        StackKind::Luks => Layer::Luks,
                        StackKind::Lvm => Layer::Lvm,
                        StackKind::Md(_) => Layer::Md,
                        StackKind::OtherDm(_) => continue,
                    };
                    if !l.layers.contains(&layer) {
                        note(&format!(
                            "this machine's root is on {}: packing the {} layer (layers = sets \
                             the layers, --no-layers none)",
                            hostonly::describe(st),
                            name(layer)
                        ));
                    }
                    l.add(layer, "this machine's root", true);
                }
            }
            Err(e) => note(&format!(
                "warning: cannot tell what this machine's root is on: {e}"
            )),
        }
    }
    l
}

/// The stacked devices under the build machine's root.
fn own_root_stack() -> Result<Vec<Stacked>, String> {
    let mountinfo = "/proc/self/mountinfo";
    let text = std::fs::read_to_string(mountinfo).map_err(|e| format!("{mountinfo}: {e}"))?;
    let root = hostonly::root_mount(&text).ok_or_else(|| format!("{mountinfo}: no mount on /"))?;
    hostonly::root_stack(Path::new("/sys"), &root)
}

/// What [`pack`] put in the image.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Packed {
    /// The files packed, image paths: tools and configuration first.
    pub files: Vec<String>,
    /// How many of them are libraries (and the program interpreter).
    pub libraries: usize,
    /// The crypttab entries packed (their targets).
    pub crypttab: Vec<String>,
    /// Key files packed (mode 0600): the image must not be readable by others.
    pub keys: Vec<String>,
    /// The image's own command line ([`crate::cmdline::IMAGE_CMDLINE`]):
    /// the crypttab entries' `rd.luks.*`, the root's `rd.lvm.vg=`.
    pub cmdline: String,
}

/// Pack what the layers need from the build root `root` (`/` on a
/// machine): the tools with their libraries, the configuration files, the
/// crypttab entries the image needs and their key files. An error (one
/// line) when a tool or a library cannot be packed.
pub fn pack(l: &Layers, root: &Path, archive: &mut Archive) -> Result<Packed, String> {
    let mut out = Packed::default();
    if l.layers.is_empty() {
        return Ok(out);
    }
    let names: Vec<&str> = l.layers.iter().map(|l| name(*l)).collect();
    let refuse = |what: &str, e: &str| {
        format!(
            "the image's layers ({}) need {what}, which cannot be packed: {e}",
            names.join(" ")
        )
    };
    let mut p = Packing::new(root).map_err(|e| refuse("the loader's configuration", &e))?;
    let mut links = Vec::new();
    for layer in &l.layers {
        let (path, package) = tool(*layer);
        let usr = format!("/usr{path}");
        let found = [path, usr.as_str()]
            .into_iter()
            .find(|c| programs::in_root(root, c).is_file());
        let Some(found) = found else {
            return Err(refuse(
                path,
                &format!("not in {} (install {package})", root.display()),
            ));
        };
        p.add_program(found).map_err(|e| refuse(path, &e))?;
        if found != path {
            links.push((path, found.to_string()));
        }
    }
    if l.openssl_legacy && l.layers.contains(&Layer::Luks) {
        p.add_openssl_legacy()
            .map_err(|e| refuse("OpenSSL's legacy provider", &e))?;
    }
    p.add_to(archive)?;
    for f in p.files() {
        if f.role == programs::Role::Program {
            out.files.push(f.path.clone());
        } else {
            out.libraries += 1;
        }
    }
    for (path, target) in links {
        archive.add_symlink(path, &target)?;
        out.files.push(path.to_string());
    }
    let config: &[(Layer, &[&str])] = &[
        (Layer::Lvm, &["/etc/lvm/lvm.conf"]),
        (Layer::Md, &["/etc/mdadm/mdadm.conf", "/etc/mdadm.conf"]),
    ];
    for (layer, files) in config {
        if !l.layers.contains(layer) {
            continue;
        }
        for f in *files {
            let source = programs::in_root(root, f);
            if source.is_file() {
                archive.add_file(f, 0o644, super::output::read(&source)?)?;
                out.files.push(f.to_string());
            }
        }
    }
    if l.layers.contains(&Layer::Luks) {
        let targets = crypt_targets(root, Path::new("/sys"), &l.crypt_targets);
        crypttab_files(root, &targets, archive, &mut out)?;
    }
    if l.layers.contains(&Layer::Lvm) {
        if let Some(vg) = root_vg(root) {
            out.cmdline += &format!("rd.lvm.vg={vg}\n");
        }
    }
    if !out.cmdline.is_empty() {
        let path = crate::cmdline::IMAGE_CMDLINE;
        archive.add_file(path, 0o644, out.cmdline.clone().into_bytes())?;
        out.files.push(path.to_string());
    }
    Ok(out)
}

/// The volume group the build root's `/etc/fstab` mounts `/` from, when
/// it names it (`/dev/mapper/VG-LV`, `/dev/VG/LV`, as the Debian installer
/// writes them): only that group is activated at boot (dracut's
/// `rd.lvm.vg=`), not every group the disks hold.
fn root_vg(root: &Path) -> Option<String> {
    let fstab = std::fs::read_to_string(programs::in_root(root, "/etc/fstab")).ok()?;
    let source = fstab_source(&fstab, "/")?;
    let mut buf = [0u8; 128];
    let vg = crate::dmname::root_vg(source.as_bytes(), &mut buf)?;
    Some(String::from_utf8_lossy(vg).into_owned())
}

/// The source device of mount point `at` in fstab text.
fn fstab_source(fstab: &str, at: &str) -> Option<String> {
    fstab.lines().find_map(|l| {
        let l = l.split('#').next().unwrap_or("");
        let mut f = l.split_whitespace();
        let (source, point) = (f.next()?, f.next()?);
        (point == at).then(|| source.to_string())
    })
}

/// A device's path in `/dev` from an fstab or crypttab source.
fn dev_path(source: &str) -> Option<PathBuf> {
    for (tag, dir) in [
        ("UUID=", "by-uuid"),
        ("PARTUUID=", "by-partuuid"),
        ("LABEL=", "by-label"),
        ("PARTLABEL=", "by-partlabel"),
    ] {
        if let Some(v) = source.strip_prefix(tag) {
            return Some(Path::new("/dev/disk").join(dir).join(v.trim_matches('"')));
        }
    }
    source.starts_with("/dev/").then(|| PathBuf::from(source))
}

/// The mappings whose crypttab entries an image needs, as Debian's
/// cryptroot hook finds them: behind the root and `/usr` of the build
/// root's `/etc/fstab` and the resume device of
/// `/etc/initramfs-tools/conf.d/resume`: a `/dev/mapper/NAME` source names
/// one; a device that exists here is followed down through `sys` and its
/// LUKS mappings are taken. Then `found` (host-only's, under the mounted
/// root).
pub fn crypt_targets(root: &Path, sys: &Path, found: &[String]) -> Vec<String> {
    let read = |p: &str| std::fs::read_to_string(programs::in_root(root, p)).unwrap_or_default();
    let fstab = read("/etc/fstab");
    let resume = read("/etc/initramfs-tools/conf.d/resume");
    let mut sources: Vec<String> = ["/", "/usr"]
        .iter()
        .filter_map(|at| fstab_source(&fstab, at))
        .collect();
    sources.extend(resume.lines().find_map(|l| {
        l.trim()
            .strip_prefix("RESUME=")
            .map(|v| v.trim_matches('"').to_string())
            .filter(|v| !v.is_empty() && v != "none")
    }));
    let mut out: Vec<String> = Vec::new();
    let mut push = |n: String| {
        if !out.contains(&n) {
            out.push(n);
        }
    };
    for source in sources {
        if let Some(name) = source.strip_prefix("/dev/mapper/") {
            push(name.to_string());
        }
        let Some(path) = dev_path(&source) else {
            continue;
        };
        let Ok(dev) = std::fs::canonicalize(&path) else {
            continue;
        };
        let Some(kname) = dev.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            continue;
        };
        if let Ok(w) = hostonly::walk(sys, &kname) {
            for s in w.stacked.into_iter().filter(|s| s.kind == StackKind::Luks) {
                push(s.dm_name.unwrap_or(s.name));
            }
        }
    }
    for f in found {
        push(f.clone());
    }
    out
}

/// The build root's `/etc/crypttab` entries the image needs for the
/// mappings `targets` ([`crypttab::needed`]; a target without an entry is
/// told, and opened by the init as `luks-UUID`), added to the image's own
/// command line (`out.cmdline`, [`crate::cmdline::IMAGE_CMDLINE`]), one
/// line an entry:
/// `rd.luks.name=UUID=TARGET`, `rd.luks.key=UUID=PATH` for a key file
/// (packed at its path, mode 0600), `rd.luks.options=UUID=OPTIONS` — the
/// init reads the same parameters from the kernel's command line. The
/// container's UUID is the source's `UUID=`, else read from the LUKS
/// header of the device the source names here. No crypttab: nothing, told.
pub fn crypttab_files(
    root: &Path,
    targets: &[String],
    archive: &mut Archive,
    out: &mut Packed,
) -> Result<(), String> {
    const CRYPTTAB: &str = "/etc/crypttab";
    let source = programs::in_root(root, CRYPTTAB);
    let text = match std::fs::read_to_string(&source) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            note(&format!(
                "{}: none; the init opens LUKS devices as rd.luks.name=, rd.luks.uuid=, \
                 cryptdevice= or luks-UUID name them",
                source.display()
            ));
            return Ok(());
        }
        Err(e) => return Err(format!("{}: {e}", source.display())),
    };
    let name = source.display().to_string();
    let entries = crypttab::parse(&name, &text)?;
    for e in &entries {
        for w in e.warnings(&name) {
            note(&format!("warning: {w}"));
        }
    }
    let mut known: Vec<&str> = Vec::new();
    for t in targets {
        if entries.iter().any(|e| &e.target == t) {
            known.push(t);
        } else {
            note(&format!(
                "warning: {t}: no entry in {name}; the init names its device \
                 luks-UUID unless the command line names it (rd.luks.name=)"
            ));
        }
    }
    let needed = crypttab::needed(&entries, &known)?;
    let mut lines = String::new();
    for e in &needed {
        let Some(uuid) = luks_uuid(root, &e.source) else {
            note(&format!(
                "warning: {name}:{}: {}: the LUKS UUID of its source cannot be read here; \
                 the init cannot tell its device by this line (write the source as UUID=)",
                e.line, e.target
            ));
            continue;
        };
        out.crypttab.push(e.target.clone());
        lines += &format!("rd.luks.name={uuid}={}", e.target);
        // The options crypttab(5) knows (the init takes the same).
        match e.known_options() {
            Some(o) if o.is_empty() => {}
            Some(o) => lines += &format!(" rd.luks.options={uuid}={o}"),
            None => note(&format!(
                "warning: {name}:{}: {}: an option's value holds a space, a quote or a comma: \
                 the options are not passed to the init",
                e.line, e.target
            )),
        }
        if e.options.keyscript.is_some() {
            note(&format!(
                "warning: {name}:{}: {}: keyscript= is not run by modboot's init; it asks for \
                 a passphrase",
                e.line, e.target
            ));
        } else if let crypttab::Key::File(key) = &e.key {
            if key.starts_with("/dev/") {
                note(&format!(
                    "warning: {name}:{}: {}: a key on a device ({key}) is not read by modboot's \
                     init; it asks for a passphrase",
                    e.line, e.target
                ));
            } else {
                lines += &format!(" rd.luks.key={uuid}={key}");
                if !out.keys.contains(key) {
                    let source = programs::in_root(root, key);
                    let bytes = std::fs::read(&source).map_err(|err| {
                        format!("{name}:{}: {}: key file {key}: {err}", e.line, e.target)
                    })?;
                    archive.add_file(key, 0o600, bytes)?;
                    out.keys.push(key.clone());
                    out.files.push(key.clone());
                }
            }
        }
        lines.push('\n');
    }
    out.cmdline += &lines;
    Ok(())
}

/// The LUKS UUID of a crypttab source: a `UUID=` as written, else what the
/// LUKS header of the device it names in `root` says.
fn luks_uuid(root: &Path, source: &crypttab::Source) -> Option<String> {
    let path = match source {
        crypttab::Source::Uuid(u) => return Some(u.clone()),
        crypttab::Source::Path(p) => PathBuf::from(p),
        crypttab::Source::Label(v) => Path::new("/dev/disk/by-label").join(v),
        crypttab::Source::PartUuid(v) => Path::new("/dev/disk/by-partuuid").join(v),
        crypttab::Source::PartLabel(v) => Path::new("/dev/disk/by-partlabel").join(v),
    };
    use std::io::Read;
    let mut head = vec![0u8; 4096];
    let mut f = std::fs::File::open(programs::in_root(root, &path.to_string_lossy())).ok()?;
    let n = f.read(&mut head).ok()?;
    let sb = crate::blkid::probe(head.get(..n)?)?;
    if sb.fstype != crate::blkid::FsType::CryptoLuks {
        return None;
    }
    let mut buf = [0u8; 36];
    let n = sb.uuid?.format(&mut buf);
    Some(String::from_utf8_lossy(&buf[..n]).into_owned())
}

impl Packed {
    /// One line: the tools, the number of libraries, the other files.
    pub fn describe(&self) -> String {
        let mut line = self.files.join(" ");
        if self.libraries > 0 {
            line += &format!(", {} libraries", self.libraries);
        }
        if !self.crypttab.is_empty() {
            line += &format!(", crypttab entries {}", self.crypttab.join(" "));
        }
        line
    }
}

/// Warn when an image holding key files can be read by others.
pub fn check_readable(out: &Path, packed: &Packed) {
    use std::os::unix::fs::PermissionsExt;
    if packed.keys.is_empty() {
        return;
    }
    let mode = std::fs::metadata(out).map_or(0, |m| m.permissions().mode());
    if mode & 0o004 != 0 {
        note(&format!(
            "warning: {} holds the key file{} {} and others can read it (mode {:04o}): \
             chmod 0600 it, or build it with umask 077",
            out.display(),
            if packed.keys.len() == 1 { "" } else { "s" },
            packed.keys.join(" "),
            mode & 0o7777
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("modboot-layers-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// A LUKS container in a plain file, formatted by the real cryptsetup
    /// (no device-mapper needed); `None` when cryptsetup is not there.
    fn luks_format(file: &Path, args: &[&str]) -> Option<Vec<u8>> {
        let cryptsetup = ["/sbin/cryptsetup", "/usr/sbin/cryptsetup"]
            .into_iter()
            .find(|p| Path::new(p).exists())?;
        std::fs::write(file, vec![0u8; 20 << 20]).unwrap();
        let mut child = Command::new(cryptsetup)
            .args(["luksFormat", "-q", "--pbkdf-force-iterations", "1000"])
            .args(args)
            .arg("--key-file=-")
            .arg(file)
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(b"k").unwrap();
        assert!(child.wait().unwrap().success(), "luksFormat {args:?}");
        Some(std::fs::read(file).unwrap())
    }

    #[test]
    fn reads_luks_headers_cryptsetup_wrote() {
        let d = scratch("luks");
        let f = d.join("c");
        let cases: [(&[&str], u16, &str, &[&str]); 4] = [
            (
                &["--type", "luks2", "--pbkdf", "pbkdf2"],
                2,
                "aes-xts-plain64",
                &["sha256"],
            ),
            (
                &[
                    "--type",
                    "luks2",
                    "--pbkdf",
                    "pbkdf2",
                    "--cipher",
                    "aes-cbc-essiv:sha256",
                    "--key-size",
                    "256",
                    "--hash",
                    "sha512",
                ],
                2,
                "aes-cbc-essiv:sha256",
                &["sha512"],
            ),
            (&["--type", "luks1"], 1, "aes-xts-plain64", &["sha256"]),
            (
                &[
                    "--type",
                    "luks1",
                    "--cipher",
                    "aes-cbc-essiv:sha256",
                    "--key-size",
                    "256",
                    "--hash",
                    "ripemd160",
                ],
                1,
                "aes-cbc-essiv:sha256",
                &["ripemd160"],
            ),
        ];
        for (args, version, cipher, hashes) in cases {
            let Some(bytes) = luks_format(&f, args) else {
                eprintln!("cryptsetup not installed (apt-get install cryptsetup-bin); skipped");
                return;
            };
            let h = luks_header(&bytes).unwrap();
            assert_eq!(h.version, version, "{args:?}");
            assert!(h.ciphers.iter().any(|c| c == cipher), "{args:?}: {h:?}");
            for hash in hashes {
                assert!(h.hashes.iter().any(|x| x == hash), "{args:?}: {h:?}");
            }
            // What the slaves walk reads for a host-only image.
            let mut l = Layers::default();
            l.add_stacked(
                &[Stacked {
                    name: "dm-0".into(),
                    kind: StackKind::Luks,
                    dm_name: Some("cryptroot".into()),
                    slaves: vec!["c".into()],
                }],
                &d,
                "host-only",
            );
            assert_eq!(l.layers, [Layer::Luks]);
            assert_eq!(l.crypt_targets, ["cryptroot"]);
            for n in cipher_names(cipher) {
                assert!(l.optional.contains(&n), "{n}: {l:?}");
            }
            assert_eq!(l.openssl_legacy, hashes.contains(&"ripemd160"), "{args:?}");
        }
        assert_eq!(
            luks_header(b"not luks").unwrap_err(),
            "not a LUKS header (no LUKS magic)"
        );
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn cipher_specifications() {
        assert_eq!(
            cipher_names("aes-xts-plain64"),
            ["crypto-aes", "crypto-xts"]
        );
        assert_eq!(
            cipher_names("aes-cbc-essiv:sha256"),
            ["crypto-aes", "crypto-cbc", "crypto-essiv", "crypto-sha256"]
        );
        assert_eq!(
            cipher_names("capi:xts(aes)-plain64"),
            ["crypto-xts", "crypto-aes"]
        );
        assert_eq!(
            cipher_names("cipher_null-ecb"),
            ["crypto-cipher_null", "crypto-ecb"]
        );
        assert_eq!(
            json_strings(
                r#"{"a":{"hash": "sha256"},"b":{"hash":"sha256","x":"hash"},"c":{"hash":"sha1"}}"#,
                "hash"
            ),
            ["sha256", "sha1"]
        );
    }

    #[test]
    fn layer_words_and_sets() {
        assert_eq!(ALL.map(name), ["luks", "lvm", "md"]);
        assert_eq!(parse("lvm"), Some(Layer::Lvm));
        assert_eq!(parse("LVM"), None);
        let mut l = Layers::default();
        l.add(Layer::Md, "layers=md", true);
        l.add(Layer::Luks, "layers=luks", true);
        assert_eq!(l.layers, [Layer::Luks, Layer::Md]);
        assert!(l.openssl_legacy);
        let req: Vec<&str> = l.required.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(req, ["md_mod", "dm_crypt", "algif_skcipher"]);
        assert!(l.optional.contains(&"raid456".to_string()));
        // Host-only: the array's own personality, no generic set.
        let mut h = Layers::default();
        h.add_stacked(
            &[Stacked {
                name: "md0".into(),
                kind: StackKind::Md("raid1".into()),
                dm_name: None,
                slaves: vec!["vda1".into(), "vdb1".into()],
            }],
            Path::new("/nonexistent"),
            "host-only",
        );
        let req: Vec<&str> = h.required.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(req, ["md_mod", "md-raid1"]);
        assert!(h.optional.is_empty());
    }

    /// A build root with a crypttab: the root's entry (named by fstab as
    /// `/dev/mapper/NAME`) and the `initramfs` one are packed, with the key
    /// file at its path, mode 0600; the others are not.
    #[test]
    fn crypttab_entries_and_keys_the_image_needs() {
        let root = scratch("crypttab");
        let put = |p: &str, text: &str| {
            let at = root.join(p.trim_start_matches('/'));
            std::fs::create_dir_all(at.parent().unwrap()).unwrap();
            std::fs::write(at, text).unwrap();
        };
        put(
            "/etc/fstab",
            "# <fs> <mount> <type>\n/dev/mapper/cryptroot / ext4 errors=remount-ro 0 1\n\
             UUID=1234 /boot ext4 defaults 0 2\n",
        );
        put(
            "/etc/crypttab",
            "cryptroot UUID=0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0 none luks,discard\n\
             home UUID=11111111-2222-3333-4444-555555555555 /etc/keys/home.key luks\n\
             early /dev/vdc /etc/keys/early.key luks,initramfs,keyslot=1\n",
        );
        put("/etc/keys/home.key", "home secret");
        put("/etc/keys/early.key", "early secret");
        // /dev/vdc here: a LUKS header, as cryptsetup writes it.
        let vdc = root.join("dev/vdc");
        std::fs::create_dir_all(vdc.parent().unwrap()).unwrap();
        let luks = "5d1b2c3a-0000-4000-8000-00000000abcd";
        let format = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "truncate -s 8M {0} && printf k | cryptsetup luksFormat -q --type luks1 \
                 --pbkdf-force-iterations 1000 --uuid {luks} --key-file=- {0}",
                vdc.display()
            ))
            .status()
            .unwrap();
        assert!(format.success(), "cryptsetup luksFormat on a file");
        let targets = crypt_targets(&root, &root.join("sys"), &[]);
        assert_eq!(targets, ["cryptroot"]);
        let mut a = Archive::new();
        let mut out = Packed::default();
        crypttab_files(&root, &targets, &mut a, &mut out).unwrap();
        assert_eq!(out.crypttab, ["cryptroot", "early"]);
        assert_eq!(out.keys, ["/etc/keys/early.key"]);
        let (members, _) =
            super::super::cpio::read_image(&a.to_newc(), &|_, _| Err("none".into())).unwrap();
        let get = |p: &str| members.iter().find(|m| m.path == p).unwrap();
        assert_eq!(
            out.cmdline,
            format!(
                "rd.luks.name=0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0=cryptroot \
                 rd.luks.options=0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0=luks,discard\n\
                 rd.luks.name={luks}=early rd.luks.options={luks}=luks,initramfs,keyslot=1 \
                 rd.luks.key={luks}=/etc/keys/early.key\n"
            )
        );
        assert!(!members.iter().any(|m| m.path == "etc/crypttab"));
        let key = get("etc/keys/early.key");
        assert_eq!(
            (key.mode & 0o7777, &key.data[..]),
            (0o600, &b"early secret"[..])
        );
        assert!(!members.iter().any(|m| m.path == "etc/keys/home.key"));
        // A needed key file that is missing stops the build, naming it.
        std::fs::remove_file(root.join("etc/keys/early.key")).unwrap();
        let e = crypttab_files(&root, &targets, &mut Archive::new(), &mut Packed::default())
            .unwrap_err();
        assert!(
            e.contains("crypttab:3: early: key file /etc/keys/early.key: "),
            "{e}"
        );
        std::fs::remove_dir_all(&root).unwrap();
    }

    /// The root's volume group, as the Debian installer's fstab names it,
    /// and none for a root on no volume group.
    #[test]
    fn the_roots_volume_group_from_fstab() {
        let root = scratch("rootvg");
        let fstab = root.join("etc/fstab");
        std::fs::create_dir_all(fstab.parent().unwrap()).unwrap();
        for (line, vg) in [
            ("/dev/mapper/debian--vg-root / ext4 errors=remount-ro 0 1", Some("debian-vg")),
            ("/dev/vg0/root / xfs defaults 0 1", Some("vg0")),
            ("/dev/mapper/cryptroot / ext4 defaults 0 1", None),
            ("UUID=1234 / ext4 defaults 0 1", None),
        ] {
            std::fs::write(&fstab, format!("# comment\n{line}\n")).unwrap();
            assert_eq!(root_vg(&root).as_deref(), vg, "{line}");
        }
        std::fs::remove_dir_all(&root).unwrap();
    }

    /// A build root without the tools: the image is refused in one line
    /// naming the tool and its package.
    #[test]
    fn a_missing_tool_refuses_the_image() {
        let root = scratch("notools");
        let mut l = Layers::default();
        l.add(Layer::Lvm, "layers=lvm", true);
        let e = pack(&l, &root, &mut Archive::new()).unwrap_err();
        assert_eq!(
            e,
            format!(
                "the image's layers (lvm) need /sbin/lvm, which cannot be packed: not in {} \
                 (install lvm2)",
                root.display()
            )
        );
        assert!(!e.contains('\n'));
        // Nothing asked: nothing packed, nothing needed.
        assert_eq!(
            pack(&Layers::default(), &root, &mut Archive::new()),
            Ok(Packed::default())
        );
        std::fs::remove_dir_all(&root).unwrap();
    }
}
