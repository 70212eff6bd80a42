//! Differential test: modboot's resolver against the real `modprobe` (kmod,
//! Debian's package) on a whole real tree, Debian's amd64 cloud kernel.
//!
//! For every module name, every `modules.alias` pattern (made into a concrete
//! string that matches it), every built-in name and built-in alias, every
//! configuration alias, and names that match nothing, this compares
//! `mkmodboot show-depends` from the blob (the code the init runs) with
//! `modprobe -d ROOT -S KVER -C tests/kmod/modprobe.d --show-depends NAME`,
//! run with `tests/kmod/cmdline` bind-mounted over `/proc/cmdline` in a
//! private mount namespace. Output lines and exit codes must be identical.

use modboot::blob::Blob;
use modboot::glob;
use modboot::host::emit::{self, Deflate};
use modboot::host::modprobe_d::Config;
use modboot::host::modtree::ModTree;
use modboot::host::select;
use modboot::host::show_depends::show_depends;
use modboot::resolve::Resolver;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn tree_dir() -> PathBuf {
    let out = Command::new(root().join("qemu/kernel"))
        .stderr(Stdio::inherit())
        .output()
        .expect("run qemu/kernel");
    assert!(out.status.success(), "qemu/kernel failed");
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// A string that `pattern` matches (see `glob::example_into`).
fn instantiate(pattern: &str) -> Option<String> {
    let mut buf = [0u8; 512];
    let s = glob::example_into(pattern.as_bytes(), &mut buf)?;
    String::from_utf8(s.to_vec()).ok()
}

/// The real modprobe's output and exit code for each name, in one private
/// mount namespace.
fn real_modprobe(modules_root: &Path, release: &str, names: &[String]) -> Vec<(String, i32)> {
    let conf = root().join("tests/kmod/modprobe.d");
    let cmdline = root().join("tests/kmod/cmdline");
    let script = r#"
        mount --bind "$CMDLINE" /proc/cmdline || exit 99
        while IFS= read -r n; do
            modprobe -d "$ROOT" -S "$KVER" -C "$CONF" --show-depends -- "$n" 2>/dev/null
            echo "=== $?"
        done"#;
    let mut child = Command::new("unshare")
        .args(["-m", "sh", "-c", script])
        .env("CMDLINE", &cmdline)
        .env("ROOT", modules_root)
        .env("KVER", release)
        .env("CONF", &conf)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run unshare (root and util-linux needed)");
    let mut stdin = child.stdin.take().unwrap();
    let input: String = names.iter().map(|n| format!("{n}\n")).collect();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(
        out.status.success(),
        "modprobe batch failed: {:?}",
        out.status
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut results = Vec::new();
    let mut cur = String::new();
    for line in text.split_inclusive('\n') {
        match line.strip_prefix("=== ") {
            Some(rc) => results.push((std::mem::take(&mut cur), rc.trim().parse().unwrap())),
            None => cur.push_str(line),
        }
    }
    results
}

#[test]
fn show_depends_matches_real_modprobe_on_the_whole_tree() {
    let dir = tree_dir();
    let release = dir.file_name().unwrap().to_str().unwrap().to_string();
    let modules_root = dir
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let tree = ModTree::open(&dir, None).unwrap();
    let config = Config::load(
        &[root().join("tests/kmod/modprobe.d")],
        Some(&dir.join("modules.softdep")),
    )
    .unwrap();
    let spec = select::full_spec(&tree, &config, &[]);

    // The cases, by kind; each name once.
    let mut names: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut add = |n: String, names: &mut Vec<String>| {
        if seen.insert(n.clone()) {
            names.push(n);
        }
    };
    let mut counts = Vec::new();
    let before = names.len();
    for m in &tree.modules {
        add(m.name.clone(), &mut names);
    }
    counts.push(("module names", names.len() - before));
    let (before, mut uninstantiable) = (names.len(), Vec::new());
    for (pattern, _, _) in &spec.aliases {
        match instantiate(pattern) {
            Some(s) => add(s, &mut names),
            None => uninstantiable.push(pattern.clone()),
        }
    }
    counts.push(("modules.alias patterns", names.len() - before));
    let before = names.len();
    for b in &spec.builtin {
        add(b.clone(), &mut names);
    }
    for (pattern, _) in &spec.builtin_aliases {
        match instantiate(pattern) {
            Some(s) => add(s, &mut names),
            None => uninstantiable.push(pattern.clone()),
        }
    }
    counts.push(("built-in names and aliases", names.len() - before));
    let before = names.len();
    for (pattern, _) in &spec.config_aliases {
        add(pattern.clone(), &mut names);
        add(instantiate(pattern).unwrap(), &mut names);
    }
    for n in [
        "nonexistent",
        "pci:v0000FFFFd0000FFFFsv00000000sd00000000bc00sc00i00",
        "xor.ko",
        "x]y",
        "a[b",
        "",
        "fs-nonexistent",
        "crc32c-intel",
        "raid6-pq",
        "my-disk",
        "mynetwork",
        "floppy",
        "nls_cp437",
        "symbolic",
    ] {
        add(n.to_string(), &mut names);
    }
    counts.push((
        "configuration aliases and other names",
        names.len() - before,
    ));
    assert!(
        uninstantiable.is_empty(),
        "patterns with no matching string found: {uninstantiable:?}"
    );

    let bytes = emit::emit_with(&spec, Deflate::Always).unwrap();
    let payload = emit::payload(&bytes).unwrap();
    let blob = Blob::new_checked(&payload).unwrap();
    let cmdline = std::fs::read(root().join("tests/kmod/cmdline")).unwrap();
    let resolver = Resolver::new(blob, &cmdline);
    let dirname = dir.display().to_string();

    let theirs = real_modprobe(&modules_root, &release, &names);
    assert_eq!(
        theirs.len(),
        names.len(),
        "modprobe gave fewer results than names"
    );
    let mut differ = Vec::new();
    let mut lines = 0;
    for (name, (their_out, their_rc)) in names.iter().zip(&theirs) {
        let (our_out, our_rc) = match show_depends(&resolver, name, &dirname) {
            Ok(out) => (out, 0),
            Err(_) => (String::new(), 1),
        };
        lines += their_out.lines().count();
        if (&our_out, our_rc) != (their_out, *their_rc) {
            differ.push(format!("{name:?}:\n  modprobe (rc {their_rc}):\n{their_out}  modboot (rc {our_rc}):\n{our_out}"));
        }
    }
    let kinds: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
    println!(
        "kmod differential: {} names compared ({}), {} lines of modprobe output; {} differ",
        names.len(),
        kinds.join(", "),
        lines,
        differ.len()
    );
    for d in differ.iter().take(15) {
        println!("{d}");
    }
    assert!(
        differ.is_empty(),
        "{} of {} names differ from modprobe",
        differ.len(),
        names.len()
    );
}

/// `mkmodboot show-depends ... -- NAME...` prints what
/// `modprobe --show-depends -- NAME` does, name by name, and exits as it
/// does (`--` ends the options of both, so a name may start with `-`).
#[test]
fn show_depends_command_line_matches_modprobe() {
    let dir = tree_dir();
    let release = dir.file_name().unwrap().to_str().unwrap().to_string();
    let modules_root = dir.ancestors().nth(3).unwrap().to_path_buf();
    let names: Vec<String> = [
        "virtio_blk",
        "ext4",
        "fs-xfs",
        "pci:v00008086d00002922sv00001AF4sd00001100bc01sc06i01",
        "crc32c",
        "nonexistent",
        "-dash",
        "--help",
    ]
    .map(String::from)
    .to_vec();
    let theirs = real_modprobe(&modules_root, &release, &names);
    let cmdline = std::fs::read_to_string(root().join("tests/kmod/cmdline")).unwrap();
    let conf = root().join("tests/kmod/modprobe.d");
    for (name, (their_out, their_rc)) in names.iter().zip(&theirs) {
        let o = Command::new(env!("CARGO_BIN_EXE_mkmodboot"))
            .args(["show-depends", "--tree"])
            .arg(&dir)
            .arg("--config")
            .arg(&conf)
            .args(["--cmdline", cmdline.trim_end(), "--", name])
            .output()
            .unwrap();
        assert_eq!(
            (
                String::from_utf8_lossy(&o.stdout).as_ref(),
                o.status.code().unwrap()
            ),
            (their_out.as_str(), *their_rc),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    // Several names in one run exit 1 if any is not found, as modprobe does.
    let o = Command::new(env!("CARGO_BIN_EXE_mkmodboot"))
        .args(["show-depends", "--tree"])
        .arg(&dir)
        .args(["--", "virtio_blk", "-dash"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
}
