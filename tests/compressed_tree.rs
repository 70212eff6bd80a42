//! Images from compressed module trees: Debian's cloud kernel tree
//! (`qemu/kernel`) compressed by `tests/compress-tree` with the real gzip, xz
//! and zstd, made into images by `mkmodboot image --all` (every module).
//!
//! Every module in the image must be stored in the form its path says, and
//! decompress (with the real tools) to the very bytes of the uncompressed
//! tree's file; modules kept as they are must be the compressed tree's bytes;
//! the blob must name exactly the image's module paths. The kernel config
//! says this kernel decompresses nothing, so by default xz and zstd modules
//! are stored plain; `--kernel-decompress` and `--module-compression` change
//! that. Damaged compressed modules must fail the build with an error that
//! names the file.

mod common;

use common::{compressed_tree, read_newc, root};
use modboot::blob::Blob;
use modboot::compression::Format;
use modboot::host::emit::{self, BlobSpec};
use modboot::host::image;
use modboot::host::modtree::ModTree;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The plain tree (downloaded once by `qemu/kernel`).
fn plain_tree() -> &'static Path {
    &common::kernel().tree
}

fn mkmodboot(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mkmodboot"))
        .args(args)
        .output()
        .expect("run mkmodboot")
}

/// The x86_64 init (no blob embedded in it): mkmodboot refuses an image
/// whose init is not modboot's.
fn init() -> PathBuf {
    common::x86_init().to_path_buf()
}

/// An image made by `mkmodboot image` with `args`, unpacked: its module
/// files (paths relative to the tree) and the spec its blob holds.
struct Image {
    newc: Vec<u8>,
    modules: BTreeMap<String, Vec<u8>>,
    spec: BlobSpec,
    stderr: String,
}

fn image(tree: &Path, args: &[&str]) -> Image {
    let out_file = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "compressed-tree-{}.cpio",
        std::thread::current()
            .name()
            .unwrap_or("x")
            .replace("::", "-")
    ));
    let init = init();
    let mut all = vec![
        "image",
        "--tree",
        tree.to_str().unwrap(),
        "--init",
        init.to_str().unwrap(),
        "--compress",
        "none",
        "-o",
        out_file.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    // These tests are about the storage rules of `auto` (and of what a test
    // names): `--all` alone would store every module compressed.
    if !args.contains(&"--module-compression") {
        all.extend_from_slice(&["--module-compression", "auto"]);
    }
    let out = mkmodboot(&all);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "mkmodboot {all:?}: {stderr}");
    let newc = std::fs::read(&out_file).unwrap();
    std::fs::remove_file(&out_file).unwrap();
    let files = read_newc(&newc);
    let payload = emit::payload(&files[image::BLOB_PATH]).unwrap();
    let spec = emit::decode(&Blob::new_checked(&payload).unwrap());
    let prefix = format!("lib/modules/{}/", spec.release);
    let modules = files
        .into_iter()
        .filter_map(|(p, d)| Some((p.strip_prefix(&prefix)?.to_string(), d)))
        .collect();
    Image {
        newc,
        modules,
        spec,
        stderr,
    }
}

/// The real tool's decompression of each of `files`, in one run over their
/// concatenation (gzip, xz and zstd all read concatenated members).
fn tool_decompress(format: Format, files: &[&[u8]], originals: &[&[u8]]) -> Vec<Vec<u8>> {
    let cmd = match format {
        Format::Gzip => "gzip",
        Format::Xz => "xz",
        Format::Zstd => "zstd",
        Format::Plain => return files.iter().map(|f| f.to_vec()).collect(),
    };
    let mut child = Command::new(cmd)
        .args(["-dc", "-q"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    let mut stdin = child.stdin.take().unwrap();
    let input = files.concat();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success(), "{cmd} -dc failed");
    // Split by the originals' lengths; a wrong length shows as a mismatch.
    let mut rest = &out.stdout[..];
    let mut parts = Vec::new();
    for o in originals {
        let n = o.len().min(rest.len());
        parts.push(rest[..n].to_vec());
        rest = &rest[n..];
    }
    assert!(rest.is_empty(), "{cmd} gave {} bytes more", rest.len());
    parts
}

struct Group<'a> {
    format: Format,
    stored: Vec<&'a [u8]>,
    originals: Vec<Vec<u8>>,
}

/// The checks every image gets: stored forms as `expect` says (given each
/// module's form in the tree), paths that say the form, the blob naming
/// exactly these paths, and every module decompressing to the plain tree's
/// bytes; modules kept in the tree's form are the tree's bytes.
fn check(img: &Image, tree: &Path, expect: impl Fn(Format) -> Format) {
    let plain = ModTree::open(plain_tree(), None).unwrap();
    let compressed = ModTree::open(tree, None).unwrap();
    let blob_paths: Vec<&str> = img.spec.modules.iter().map(|m| m.path.as_str()).collect();
    let image_paths: Vec<&str> = img.modules.keys().map(String::as_str).collect();
    let mut sorted = blob_paths.clone();
    sorted.sort();
    assert_eq!(
        sorted, image_paths,
        "the blob names the image's module paths"
    );
    assert!(!blob_paths.is_empty());

    // Per stored form: the stored files and the plain tree's files.
    let mut by_format: BTreeMap<&str, Group> = BTreeMap::new();
    for m in &img.spec.modules {
        let stored = &img.modules[&m.path];
        let source = &compressed.modules[compressed.find(&m.name).unwrap()].path;
        let source_bytes = std::fs::read(tree.join(source)).unwrap();
        let from = Format::detect(&source_bytes);
        let to = Format::detect(stored);
        assert_eq!(
            to,
            expect(from),
            "{}: stored form (tree has {source})",
            m.path
        );
        assert!(
            m.path.ends_with(&format!(".ko{}", to.suffix())),
            "{}: path says another form than {to:?}",
            m.path
        );
        if to == from {
            assert!(
                *stored == source_bytes,
                "{}: kept, but not untouched",
                m.path
            );
        }
        let original =
            std::fs::read(plain_tree().join(&plain.modules[plain.find(&m.name).unwrap()].path))
                .unwrap();
        let group = by_format.entry(to.suffix()).or_insert(Group {
            format: to,
            stored: vec![],
            originals: vec![],
        });
        group.stored.push(stored);
        group.originals.push(original);
    }
    for Group {
        format,
        stored,
        originals,
    } in by_format.values()
    {
        let originals: Vec<&[u8]> = originals.iter().map(Vec::as_slice).collect();
        let decoded = tool_decompress(*format, stored, &originals);
        for (i, (d, o)) in decoded.iter().zip(&originals).enumerate() {
            assert!(
                d == o,
                "{format:?} module #{i}: not the uncompressed tree's bytes"
            );
        }
    }
}

#[test]
fn gzip_modules_are_kept_as_they_are() {
    let tree = compressed_tree("gz");
    let img = image(&tree, &["--all"]);
    check(&img, &tree, |_| Format::Gzip);
    assert!(
        !img.stderr.contains("stored"),
        "nothing converted: {}",
        img.stderr
    );
}

#[test]
fn xz_modules_are_decompressed_for_a_kernel_without_xz() {
    let tree = compressed_tree("xz");
    let img = image(&tree, &["--all"]);
    check(&img, &tree, |_| Format::Plain);
    assert!(
        img.newc == image(plain_tree(), &["--all"]).newc,
        "the image is the plain tree's, byte for byte"
    );
    assert!(
        img.stderr
            .contains("xz modules stored plain (kernel decompresses none: ")
            && img.stderr.contains("boot/config-"),
        "the default comes from the kernel config: {}",
        img.stderr
    );
}

#[test]
fn zstd_modules_are_decompressed_for_a_kernel_without_zstd() {
    let tree = compressed_tree("zst");
    let img = image(&tree, &["--all"]);
    check(&img, &tree, |_| Format::Plain);
    assert!(
        img.newc == image(plain_tree(), &["--all"]).newc,
        "the image is the plain tree's, byte for byte"
    );
}

#[test]
fn xz_modules_are_kept_for_a_kernel_that_decompresses_xz() {
    let tree = compressed_tree("xz");
    let img = image(&tree, &["--all", "--kernel-decompress", "xz"]);
    check(&img, &tree, |_| Format::Xz);
}

#[test]
fn zstd_modules_are_recompressed_as_gzip_when_asked() {
    let tree = compressed_tree("zst");
    // Not --all: gzip -9 of the whole tree takes over a minute in a debug build.
    let list = root().join("initramfs/virtio.list");
    let args = ["--list", list.to_str().unwrap(), "btrfs"];
    let img = image(
        &tree,
        &[&args[..], &["--module-compression", "gzip"]].concat(),
    );
    check(&img, &tree, |_| Format::Gzip);
    assert!(img.modules.len() >= 10, "{:?}", img.modules.keys());
}

#[test]
fn auto_gzips_for_a_kernel_that_decompresses_gzip() {
    let tree = compressed_tree("xz");
    let list = root().join("initramfs/virtio.list");
    let args = ["--list", list.to_str().unwrap(), "btrfs", "xfs"];
    let gz = image(
        &tree,
        &[&args[..], &["--kernel-decompress", "gzip"]].concat(),
    );
    check(&gz, &tree, |_| Format::Gzip);
    assert!(gz.modules.len() >= 10, "{:?}", gz.modules.keys());
    let plain = image(
        &tree,
        &[
            &args[..],
            &[
                "--kernel-decompress",
                "gzip",
                "--module-compression",
                "plain",
            ],
        ]
        .concat(),
    );
    check(&plain, &tree, |_| Format::Plain);
    let zstd_kernel = image(
        &tree,
        &[&args[..], &["--kernel-decompress", "zstd"]].concat(),
    );
    check(&zstd_kernel, &tree, |_| Format::Plain);
}

/// `mkmodboot blob` decides the same stored paths as `image` does, and
/// writes the same blob.
#[test]
fn blob_command_names_the_stored_paths() {
    let tree = compressed_tree("xz");
    let list = root().join("initramfs/virtio.list");
    for extra in [
        &[][..],
        &["--kernel-decompress", "xz"],
        &["--module-compression", "gzip"],
    ] {
        let mut args = vec!["--list", list.to_str().unwrap(), "btrfs"];
        args.extend_from_slice(extra);
        let img = image(&tree, &args);
        let blob_file = Path::new(env!("CARGO_TARGET_TMPDIR")).join("compressed-tree.blob");
        let mut cmd = vec![
            "blob",
            "--tree",
            tree.to_str().unwrap(),
            "-o",
            blob_file.to_str().unwrap(),
        ];
        cmd.extend_from_slice(&args);
        let out = mkmodboot(&cmd);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let bytes = std::fs::read(&blob_file).unwrap();
        let payload = emit::payload(&bytes).unwrap();
        let spec = emit::decode(&Blob::new_checked(&payload).unwrap());
        assert_eq!(spec, img.spec, "{extra:?}");
    }
}

/// A blob whose paths were decided earlier (as `build.rs` does for a blob
/// embedded in the init) makes the image store each module as its path
/// says, whatever form the tree has it in.
#[test]
fn image_follows_the_paths_of_a_finished_blob() {
    let tree = compressed_tree("zst");
    let made = image(&tree, &["virtio_blk", "--module-compression", "gzip"]);
    let init = std::fs::read(init()).unwrap();
    let mut spec = made.spec.clone();
    let archive = image::build(&init, &spec, None, &tree).unwrap();
    let files = read_newc(&archive.to_newc());
    for m in &spec.modules {
        let path = format!("lib/modules/{}/{}", spec.release, m.path);
        assert_eq!(files[&path], made.modules[&m.path], "{path}");
    }
    // A form other than the tree's: recompressed, the module's bytes the same.
    spec.modules[0].path = format!("{}.xz", spec.modules[0].path.trim_end_matches(".gz"));
    let archive = image::build(&init, &spec, None, &tree).unwrap();
    let files = read_newc(&archive.to_newc());
    let xz = &files[&format!("lib/modules/{}/{}", spec.release, spec.modules[0].path)];
    assert_eq!(Format::detect(xz), Format::Xz);
    assert_eq!(
        xz[7] & 0x0f,
        0x01,
        "CRC-32 checks, as the kernel's decoder wants"
    );
    let plain = modboot::host::codec::decompress(Format::Xz, xz).unwrap();
    let original =
        std::fs::read(modboot::host::modstore::source_of(&tree, &spec.modules[0].path).unwrap())
            .unwrap();
    assert!(
        plain == modboot::host::codec::decompress(Format::detect(&original), &original).unwrap()
    );
}

/// A small tree: virtio_ring and virtio, as the compressed tree has them,
/// with `modules.dep` written for them, and the tree's built-ins.
fn small_tree(ext: &str, name: &str) -> PathBuf {
    let big = compressed_tree(ext);
    let release = big.file_name().unwrap().to_str().unwrap().to_string();
    let base = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("small-tree-{name}"));
    let _ = std::fs::remove_dir_all(&base);
    let dir = base.join("lib/modules").join(&release);
    let t = ModTree::open(&big, None).unwrap();
    let mut dep = String::new();
    for m in ["virtio_ring", "virtio"] {
        let i = t.find(m).unwrap();
        let path = &t.modules[i].path;
        std::fs::create_dir_all(dir.join(path).parent().unwrap()).unwrap();
        std::fs::copy(big.join(path), dir.join(path)).unwrap();
        let deps: Vec<&str> = t.modules[i]
            .deps
            .iter()
            .map(|&d| t.modules[d].path.as_str())
            .collect();
        dep += &format!("{path}: {}\n", deps.join(" "));
    }
    std::fs::write(dir.join("modules.dep"), dep).unwrap();
    // The built-ins, so that the image can mount a root (ext4 is built in).
    for f in ["modules.builtin", "modules.builtin.modinfo"] {
        std::fs::copy(big.join(f), dir.join(f)).unwrap();
    }
    dir
}

/// Damage in a compressed module that is converted, or kept as it is, fails
/// the build, naming the file; the real tool agrees it is damaged.
#[test]
fn damaged_modules_fail_the_build_naming_the_file() {
    for (ext, tool, extra) in [
        ("gz", "gzip", &[][..]),
        ("xz", "xz", &[][..]),
        ("xz", "xz", &["--kernel-decompress", "xz"][..]),
        ("zst", "zstd", &[][..]),
    ] {
        for damage in ["flip", "truncate"] {
            let name = format!("{ext}-{damage}-{}", extra.len());
            let dir = small_tree(ext, &name);
            let t = ModTree::open(&dir, None).unwrap();
            let victim = dir.join(&t.modules[t.find("virtio_ring").unwrap()].path);
            let mut bytes = std::fs::read(&victim).unwrap();
            let n = bytes.len();
            match damage {
                "flip" => bytes[n / 2] ^= 0xff,
                _ => bytes.truncate(n - 9),
            }
            std::fs::write(&victim, &bytes).unwrap();
            let test = Command::new(tool)
                .arg("-tq")
                .arg(&victim)
                .stderr(Stdio::null())
                .status()
                .unwrap();
            assert!(!test.success(), "{tool} -t accepts the damaged {name}");

            let init = init();
            let out_file = dir.join("img");
            let mut args = vec![
                "image",
                "--tree",
                dir.to_str().unwrap(),
                "--init",
                init.to_str().unwrap(),
                "-o",
                out_file.to_str().unwrap(),
                "virtio",
            ];
            args.extend_from_slice(extra);
            let out = mkmodboot(&args);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
            assert!(
                stderr.contains(&format!("{}: ", victim.display())),
                "{name}: the error names the file: {stderr}"
            );
            assert!(!out_file.exists(), "{name}: no image written");
        }
    }
}

/// Without `--kernel-decompress`, the kernel config beside the tree decides.
#[test]
fn kernel_config_beside_the_tree_is_read() {
    let dir = small_tree("zst", "config");
    let release = dir.file_name().unwrap().to_str().unwrap();
    let boot = dir.join("../../../boot");
    std::fs::create_dir_all(&boot).unwrap();
    let config = boot.join(format!("config-{release}"));
    let blob = dir.join("blob");
    let run = || {
        let out = mkmodboot(&[
            "blob",
            "--tree",
            dir.to_str().unwrap(),
            "-o",
            blob.to_str().unwrap(),
            "virtio",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let bytes = std::fs::read(&blob).unwrap();
        let payload = emit::payload(&bytes).unwrap();
        let spec = emit::decode(&Blob::new_checked(&payload).unwrap());
        let mut paths: Vec<String> = spec.modules.into_iter().map(|m| m.path).collect();
        paths.sort();
        paths
    };
    std::fs::write(
        &config,
        "CONFIG_MODULE_DECOMPRESS=y\nCONFIG_MODULE_COMPRESS_ZSTD=y\n",
    )
    .unwrap();
    assert!(run().iter().all(|p| p.ends_with(".ko.zst")), "{:?}", run());
    std::fs::write(&config, "CONFIG_MODULE_COMPRESS_NONE=y\n").unwrap();
    assert!(run().iter().all(|p| p.ends_with(".ko")), "{:?}", run());
    std::fs::remove_file(&config).unwrap();
    assert!(run().iter().all(|p| p.ends_with(".ko")), "no config: none");
}
