//! The recipe: from a build's [`Settings`] to the bytes of an image (or a
//! blob) written to its file, step by step, each step another module's
//! function. [`image()`] reads, in order:
//!
//! 1. the modules: selected from the tree ([`selection`]) and stored
//!    ([`selection::store`]), their blob written ([`emit`]); or those of the
//!    blob the given init embeds;
//! 2. the init: the given one, or the installed one for the modules'
//!    machine ([`paths`]), checked for that machine ([`bootable`]), and the
//!    image's compression checked against the kernel;
//! 3. the archive ([`image::build`]): init, blob, modules; then the
//!    layers' tools, configuration and keys ([`layers::pack`]), the
//!    `--add` files, the firmware the modules ask for ([`firmware::add`]),
//!    the rescue shell ([`rescue::pack`]);
//! 4. early microcode before it on x86 ([`microcode::early`]), the archive
//!    compressed ([`codec::compress`]);
//! 5. the file replaced atomically ([`output::replace`]), the image told
//!    (and a warning when it holds key files others can read).

use super::bootable::{self, TreeFacts};
use super::emit::{self, BlobSpec};
use super::layers::{self, Layers};
use super::modtree::ModTree;
use super::notes::note;
use super::settings::Settings;
use super::{codec, elf, firmware, image, microcode, output, paths, rescue, selection, tree};
use crate::resolve::Resolver;
use std::path::{Path, PathBuf};

/// An image's modules: the tree they come from, what its modules say
/// about themselves, the blob's spec, the blob to write at
/// `/etc/modboot.blob` (`None`: the init embeds it), and the layers under
/// the root they were chosen for.
struct Modules {
    tree: ModTree,
    facts: Option<TreeFacts>,
    spec: BlobSpec,
    blob: Option<Vec<u8>>,
    layers: Layers,
}

/// Build the image of the tree in `dir` (or of an init with an embedded
/// blob) and write it to `out`.
pub fn image(s: &Settings, dir: Option<&Path>, out: &Path) -> Result<(), String> {
    let init_given = s
        .init
        .as_ref()
        .map(|p| output::read(p).map(|b| (p.clone(), b)))
        .transpose()?;
    let embedded = init_given
        .as_ref()
        .and_then(|(path, bytes)| emit::find_embedded(bytes).map(|b| (path, b)));
    let m = match embedded {
        Some((init, embedded)) => embedded_modules(s, init, embedded, dir)?,
        None => selected_modules(s, dir)?,
    };
    let machine = m.facts.as_ref().map(|f| f.machine);
    let (init_path, init) = match init_given {
        Some(i) => i,
        None => {
            let m = machine.ok_or("--init FILE is required for a tree without modules")?;
            let p = paths::installed_init(&elf::machine_name(m))?;
            let bytes = output::read(&p)?;
            (p, bytes)
        }
    };
    bootable::check_init(&init, &init_path, machine)?;
    bootable::check_compression(&m.tree, s.compress)?;
    let mut archive = image::build(&init, &m.spec, m.blob.as_deref(), &m.tree.dir)?;
    let packed = layers::pack(&m.layers, Path::new("/"), &mut archive)?;
    image::add_files(&mut archive, &s.add)?;
    firmware::add(&s.firmware_dir, &m.tree, &m.spec, &mut archive)?;
    if let Some(shell) = &s.rescue {
        rescue::pack(shell, machine, &mut archive)?;
    }
    // EM_X86_64: the only machine with early microcode.
    let mut bytes = match (s.microcode, machine) {
        (true, Some(62)) => microcode::early(&s.firmware_dir, s.hostonly)?,
        _ => Vec::new(),
    };
    bytes.extend(codec::compress(
        s.compress,
        s.compress_level,
        &archive.to_newc(),
    )?);
    output::replace(out, &bytes)?;
    if !packed.files.is_empty() {
        note(&format!(
            "{}: the layers' files: {}",
            out.display(),
            packed.describe()
        ));
    }
    layers::check_readable(out, &packed);
    note(&format!(
        "{}: {} modules for {}, blob {}, init for {}, {} image of {} bytes",
        out.display(),
        m.spec.modules.len(),
        m.spec.release,
        if m.blob.is_some() {
            "in /etc/modboot.blob"
        } else {
            "embedded in /init"
        },
        machine.map_or_else(|| "?".into(), elf::machine_name),
        s.compress.kernel_name().unwrap_or("uncompressed"),
        bytes.len()
    ));
    Ok(())
}

/// Build the blob of the tree in `dir` (default: the running kernel's) and
/// write it to `out`.
pub fn blob(s: &Settings, dir: Option<&Path>, out: &Path) -> Result<(), String> {
    let dir = dir
        .map(Path::to_path_buf)
        .unwrap_or_else(paths::running_tree);
    let (tree, _) = tree::open(&dir, s.release.as_deref())?;
    let (mut sel, _) = selection::choose(s, &tree)?;
    selection::store(s, &tree, &mut sel.spec)?;
    output::replace(out, &emit::emit_with(&sel.spec, s.deflate)?)
}

/// The modules the settings select from the tree in `dir` (default: the
/// running kernel's), stored, and their blob.
fn selected_modules(s: &Settings, dir: Option<&Path>) -> Result<Modules, String> {
    let dir = dir
        .map(Path::to_path_buf)
        .unwrap_or_else(paths::running_tree);
    let (tree, facts) = tree::open(&dir, s.release.as_deref())?;
    let (mut sel, layers) = selection::choose(s, &tree)?;
    selection::store(s, &tree, &mut sel.spec)?;
    let blob = emit::emit_with(&sel.spec, s.deflate)?;
    Ok(Modules {
        tree,
        facts,
        spec: sel.spec,
        blob: Some(blob),
        layers,
    })
}

/// The modules of the blob `embedded` in the init at `init`, from the tree
/// in `dir` (default: `/lib/modules/<the blob's release>`). The settings
/// may select none, and the blob must mount some root.
fn embedded_modules(
    s: &Settings,
    init: &Path,
    embedded: &[u8],
    dir: Option<&Path>,
) -> Result<Modules, String> {
    let layers_asked = s.layers.as_ref().is_some_and(|l| !l.is_empty());
    if !s.names.is_empty()
        || !s.pack.is_empty()
        || s.all
        || s.generic
        || s.rootfs.is_some()
        || layers_asked
    {
        return Err(format!(
            "{} embeds a blob already; its modules are packed, name none here",
            init.display()
        ));
    }
    let payload = emit::payload_of(embedded)?;
    let blob = emit::checked(&payload)?;
    if bootable::mountable(&Resolver::new(blob, b"")).is_empty() {
        return Err(format!(
            "the blob embedded in {} can mount no root: no block filesystem is built into \
             kernel {} or packed (embed one: MODBOOT_PACK=fs-ext4, or mkimage --embed --rootfs)",
            init.display(),
            blob.release()
        ));
    }
    let spec = emit::decode(&blob);
    let dir = dir
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(format!("/lib/modules/{}", spec.release)));
    let (tree, facts) = tree::open(&dir, Some(&spec.release))?;
    Ok(Modules {
        tree,
        facts,
        spec,
        blob: None,
        layers: Layers::default(),
    })
}
