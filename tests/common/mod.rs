//! What the test crates that boot QEMU or read the kernel's trees share: the
//! kernel (`qemu/kernel`) and compressed copies of its module tree
//! (`tests/compress-tree`), one `qemu/boot` run, and its console.

// Each test crate uses its own part of this.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The init built by `initramfs/build-init` for a Rust target triple (the
/// x86_64 one: `x86_64-unknown-linux-musl`); its path.
pub fn init_for(target: &str) -> PathBuf {
    let out = Command::new(root().join("initramfs/build-init"))
        .args(["--target", target])
        .stderr(Stdio::inherit())
        .output()
        .expect("run initramfs/build-init");
    assert!(
        out.status.success(),
        "initramfs/build-init --target {target} failed"
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// The x86_64 init, built once per test crate.
pub fn x86_init() -> &'static Path {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| init_for("x86_64-unknown-linux-musl"))
}

/// An empty scratch directory `GROUP/NAME` under the test target's
/// temporary directory (emptied if it was there).
pub fn scratch_dir(group: &str, name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(group)
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Debian's cloud kernel (`qemu/kernel` fetches it once) and its plain
/// module tree.
pub struct Kernel {
    pub vmlinuz: PathBuf,
    pub tree: PathBuf,
}

pub fn kernel() -> &'static Kernel {
    static K: OnceLock<Kernel> = OnceLock::new();
    K.get_or_init(|| fetch("linux-image-cloud-amd64"))
}

/// Debian's standard amd64 kernel (`linux-image-amd64`: ext4, ahci, nvme
/// are modules there).
pub fn std_kernel() -> &'static Kernel {
    static K: OnceLock<Kernel> = OnceLock::new();
    K.get_or_init(|| fetch("linux-image-amd64"))
}

/// A Debian kernel of any architecture and suite (`qemu/kernel META ARCH
/// SUITE`: ARCH amd64, arm64, riscv64; SUITE bookworm, trixie).
pub fn kernel_of(meta: &str, arch: &str, suite: &str) -> Kernel {
    fetch_with(&[meta, arch, suite])
}

fn fetch(meta: &str) -> Kernel {
    fetch_with(&[meta])
}

fn fetch_with(args: &[&str]) -> Kernel {
    let out = Command::new(root().join("qemu/kernel"))
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .expect("run qemu/kernel");
    assert!(out.status.success(), "qemu/kernel {args:?} failed");
    let tree = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
    let release = tree.file_name().unwrap().to_str().unwrap().to_string();
    // <root>/boot beside <root>/lib/modules/<release>, taken lexically (lib
    // may be a link to usr/lib); riscv64's image is vmlinux-<release> (an
    // EFI image QEMU boots as it is).
    let boot = tree.ancestors().nth(3).unwrap().join("boot");
    let vmlinuz = ["vmlinuz", "vmlinux"]
        .map(|n| boot.join(format!("{n}-{release}")))
        .into_iter()
        .find(|p| p.is_file())
        .unwrap_or_else(|| boot.join(format!("vmlinuz-{release}")));
    assert!(vmlinuz.is_file(), "{} missing", vmlinuz.display());
    Kernel { vmlinuz, tree }
}

/// The kernel's tree compressed as `ext` (gz, xz, zst) by the real tools;
/// made once, reused by every test crate after.
pub fn compressed_tree(ext: &str) -> PathBuf {
    let dest = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("compressed-trees")
        .join(ext);
    let out = Command::new(root().join("tests/compress-tree"))
        .arg(&kernel().tree)
        .arg(&dest)
        .arg(ext)
        .stderr(Stdio::inherit())
        .output()
        .expect("run tests/compress-tree");
    assert!(out.status.success(), "tests/compress-tree {ext} failed");
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// Run `qemu/boot` (`cmd`, its arguments given) until the VM powers off or
/// `timeout` passes; with `until`, stop a grace period after a line
/// containing its text (a boot that halts on purpose never powers off).
/// The console is kept in `log`.
pub fn run_boot(
    cmd: Command,
    log: PathBuf,
    until: Option<(&str, Duration)>,
    timeout: Duration,
) -> Console {
    run_boot_typing(cmd, log, until, timeout, &[])
}

/// [`run_boot`], typing into the serial console: for each `(after, text)`
/// of `script`, in order, `text` is written to the console a second after a
/// line containing `after` has appeared (time for the shell that line
/// announces to start; `cmd` must have `--serial-input`).
pub fn run_boot_typing(
    mut cmd: Command,
    log: PathBuf,
    until: Option<(&str, Duration)>,
    timeout: Duration,
    script: &[(&str, &str)],
) -> Console {
    let started = Instant::now();
    // Its own process group, so that stopping it stops QEMU too.
    let mut child = cmd
        .stdin(if script.is_empty() {
            Stdio::null()
        } else {
            Stdio::piped()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .process_group(0)
        .spawn()
        .expect("start qemu/boot");
    let mut stdin = child.stdin.take();
    let mut script = script.iter().peekable();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).split(b'\n').map_while(Result::ok) {
            let line = String::from_utf8_lossy(&line)
                .trim_end_matches('\r')
                .to_string();
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let mut deadline = started + timeout;
    let mut stopping = false;
    let exited = loop {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => {
                if let Some((needle, grace)) = until {
                    if !stopping && line.contains(needle) {
                        stopping = true;
                        deadline = Instant::now() + grace;
                    }
                }
                while let Some((_, text)) = script.next_if(|(after, _)| line.contains(after)) {
                    use std::io::Write;
                    std::thread::sleep(Duration::from_secs(1));
                    let input = stdin.as_mut().expect("--serial-input");
                    input.write_all(text.as_bytes()).unwrap();
                    input.flush().unwrap();
                }
                lines.push(line);
            }
            // The VM is gone: it powered off, rebooted (-no-reboot) or
            // was stopped by qemu/boot's own timeout.
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break true,
            // Timed out, or the grace period is over: still running.
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => break false,
        }
    };
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .status();
    let _ = child.wait();
    drop(stdin);
    std::fs::write(&log, lines.join("\n")).unwrap();
    eprintln!(
        "boot: {:.1} s wall, log {}",
        started.elapsed().as_secs_f64(),
        log.display()
    );
    Console { lines, log, exited }
}

/// The files of an uncompressed newc archive, by path (a reader of our own,
/// apart from the writer under test).
pub fn read_newc(mut b: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let pad = |n: usize| (4 - n % 4) % 4;
    loop {
        assert!(b.len() >= 110 && &b[..6] == b"070701", "bad cpio header");
        let field = |i: usize| {
            u32::from_str_radix(std::str::from_utf8(&b[6 + 8 * i..14 + 8 * i]).unwrap(), 16)
                .unwrap() as usize
        };
        let (mode, size, namesize) = (field(1), field(6), field(11));
        let name = std::str::from_utf8(&b[110..110 + namesize - 1])
            .unwrap()
            .to_string();
        let data_at = 110 + namesize + pad(110 + namesize);
        if name == "TRAILER!!!" {
            return files;
        }
        if mode & 0o170000 == 0o100000 {
            files.insert(name, b[data_at..data_at + size].to_vec());
        }
        b = &b[data_at + size + pad(size)..];
    }
}

/// A finished boot: its console, line by line.
pub struct Console {
    pub lines: Vec<String>,
    pub log: PathBuf,
    /// The VM ended by itself (powered off, or rebooted: qemu/boot runs
    /// QEMU with -no-reboot), not stopped after `until` or the timeout.
    pub exited: bool,
}

impl Console {
    pub fn has(&self, needle: &str) -> bool {
        self.lines.iter().any(|l| l.contains(needle))
    }

    #[track_caller]
    pub fn expect(&self, needle: &str) {
        assert!(
            self.has(needle),
            "console lacks {needle:?}; see {}",
            self.log.display()
        );
    }

    #[track_caller]
    pub fn expect_not(&self, needle: &str) {
        assert!(
            !self.has(needle),
            "console has {needle:?}; see {}",
            self.log.display()
        );
    }

    /// Index of the first line containing `needle`.
    #[track_caller]
    pub fn position(&self, needle: &str) -> usize {
        self.lines
            .iter()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("console lacks {needle:?}; see {}", self.log.display()))
    }

    /// The kernel's printk timestamp (seconds) of the first line containing
    /// `needle`.
    #[track_caller]
    pub fn time_of(&self, needle: &str) -> f64 {
        let line = &self.lines[self.position(needle)];
        line.strip_prefix('[')
            .and_then(|l| l.split(']').next())
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or_else(|| panic!("no timestamp on {line:?}; see {}", self.log.display()))
    }

    /// Text after `prefix` on the first line containing it.
    pub fn after(&self, prefix: &str) -> Option<&str> {
        self.lines
            .iter()
            .find_map(|l| l.find(prefix).map(|i| &l[i + prefix.len()..]))
    }

    /// Module names in the order modboot's "loaded X" lines name them.
    pub fn loaded(&self) -> Vec<String> {
        self.lines
            .iter()
            .filter_map(|l| {
                l.split_once("modboot: loaded ")
                    .map(|(_, r)| r.split(' ').next().unwrap().to_string())
            })
            .collect()
    }

    /// The modules in the guest's `/proc/modules` (guest-init's
    /// `GUEST: modules` line): what modboot and its modprobe mode loaded.
    #[track_caller]
    pub fn guest_modules(&self) -> BTreeSet<String> {
        let line = self
            .lines
            .iter()
            .find_map(|l| l.strip_prefix("GUEST: modules"))
            .unwrap_or_else(|| {
                panic!(
                    "no GUEST: modules line (the root was not reached); see {}",
                    self.log.display()
                )
            });
        line.split_whitespace().map(str::to_string).collect()
    }

    /// The guest loaded exactly `expected` (module, why), no more, no less.
    #[track_caller]
    pub fn expect_modules(&self, expected: &[(&str, &str)]) {
        let loaded = self.guest_modules();
        let want: BTreeSet<String> = expected.iter().map(|(m, _)| m.to_string()).collect();
        let missing: Vec<_> = expected
            .iter()
            .filter(|(m, _)| !loaded.contains(*m))
            .map(|(m, why)| format!("{m} ({why})"))
            .collect();
        let unrelated: Vec<_> = loaded.difference(&want).collect();
        assert!(
            missing.is_empty() && unrelated.is_empty(),
            "modules not loaded: {missing:?}; loaded though no device of this VM needs them: {unrelated:?}; see {}",
            self.log.display()
        );
    }
}
