//! Blob size and lookup speed on a whole real tree (Debian's amd64 cloud
//! kernel, fetched by `qemu/kernel`): a benchmark, not a test.
//!
//!     cargo bench --bench resolve
//!
//! Reports the blob of every module of the tree (with the tree's own
//! `modules.softdep`, no other configuration) next to the kmod indexes it
//! replaces, and the time to resolve every alias of `modules.alias` (one
//! concrete string per pattern): `lookup` (which modules a name means) and
//! the full `modprobe` probe list (dependencies, softdeps, actions). Times are
//! medians of 7 rounds, per name.

use modboot::blob::Blob;
use modboot::glob;
use modboot::host::codec::gzip;
use modboot::host::emit::{self, Deflate};
use modboot::host::modprobe_d::Config;
use modboot::host::modtree::ModTree;
use modboot::host::select;
use modboot::resolve::Resolver;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(root.join("qemu/kernel"))
        .stderr(Stdio::inherit())
        .output()
        .expect("run qemu/kernel");
    let dir = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
    let tree = ModTree::open(&dir, None).unwrap();
    let config = Config::load(&[], Some(&dir.join("modules.softdep"))).unwrap();
    let spec = select::full_spec(&tree, &config, &[]);

    let kmod_files = [
        "modules.dep.bin",
        "modules.alias.bin",
        "modules.softdep",
        "modules.builtin.bin",
        "modules.builtin.alias.bin",
    ];
    let kmod: usize = kmod_files
        .iter()
        .map(|f| std::fs::metadata(dir.join(f)).unwrap().len() as usize)
        .sum();
    let kmod_gz: usize = kmod_files
        .iter()
        .map(|f| gzip(&std::fs::read(dir.join(f)).unwrap()).len())
        .sum();
    let stored = emit::emit_with(&spec, Deflate::Always).unwrap();
    let payload = emit::payload(&stored).unwrap();
    let raw_gz = gzip(&payload).len();
    println!(
        "tree: {} ({} modules, {} aliases, {} built-in)",
        tree.release,
        spec.modules.len(),
        spec.aliases.len(),
        spec.builtin.len()
    );
    println!(
        "kmod indexes ({}): {kmod} bytes ({kmod_gz} gzipped)",
        kmod_files.join(" + ")
    );
    println!(
        "modboot blob: {} bytes stored (deflated) = {:.1} % of the kmod indexes; payload {} bytes raw, {raw_gz} gzipped ({:.1} % of the indexes gzipped)",
        stored.len(),
        100.0 * stored.len() as f64 / kmod as f64,
        payload.len(),
        100.0 * raw_gz as f64 / kmod_gz as f64
    );

    let blob = Blob::new_checked(&payload).unwrap();
    let resolver = Resolver::new(blob, b"");
    let mut buf = [0u8; 512];
    let names: Vec<String> = spec
        .aliases
        .iter()
        .filter_map(|(p, _, _)| {
            glob::example_into(p.as_bytes(), &mut buf)
                .map(|s| String::from_utf8_lossy(s).into_owned())
        })
        .collect();
    let round = |full: bool| {
        let start = Instant::now();
        let mut hits = 0usize;
        for n in &names {
            if full {
                let _ = resolver.modprobe(n, &mut |s| hits += black_box(s.object.name.len()));
            } else {
                resolver.lookup(n, &mut |o| hits += black_box(o.name.len()));
            }
        }
        black_box(hits);
        start.elapsed().as_secs_f64() * 1e6 / names.len() as f64
    };
    let lookup = median((0..7).map(|_| round(false)).collect());
    let probe = median((0..7).map(|_| round(true)).collect());
    println!(
        "resolving {} alias strings (one per modules.alias pattern), median of 7 rounds:",
        names.len()
    );
    println!("  lookup: {lookup:.1} us per name; full modprobe probe list: {probe:.1} us per name");
}
