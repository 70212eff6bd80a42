//! Loading modules, as `modprobe NAME` would for each request: a module
//! name, an alias, or a device's modalias. Each request goes through the
//! core resolver, so aliases, softdeps, options, blacklists and `install`
//! lines act as kmod's do; its probe list becomes jobs, one a module, in
//! kmod's order.
//!
//! A job starts when every dependency of its module (modules.dep) has
//! finished and so has the module before it in its probe list (so softdeps
//! and dependencies load first, as with kmod), in the order of its request's
//! rank ([`rank`]: named modules, then storage drivers, lighter chains
//! first). Up to `jobs` run at once, each in a forked worker that says its
//! outcome in the log itself and sends the parent one byte: the kernel runs
//! a module's init, and so its device probes, in the loading task, so slow
//! probes overlap, and a worker still loading at the hand-over finishes on
//! its own. With one job the init loads in its own process. The boot waits
//! only for the named modules ([`Loader::settle`]). No allocation: the
//! queue, the workers and the parameter strings live in fixed arrays.
//!
//! Loading a file: by its magic bytes, a plain module goes to
//! `finit_module(2)` as it is in the initramfs (its bytes, and so its
//! signature, untouched); a compressed one goes to `finit_module` with
//! `MODULE_INIT_COMPRESSED_FILE` when `/sys/module/compression` says the
//! kernel reads that format, and gzip is otherwise inflated here into an
//! anonymous mapping for `init_module`. `EEXIST` counts as success. A module
//! whose dependency failed is not attempted, and the line says which one.
//! Modules in `module_blacklist=` are skipped quietly: the kernel would refuse
//! them. `install NAME /bin/true` (or `/bin/false`) means "never load"; any
//! other install command cannot run here, so the module is loaded directly.

use crate::kmsg::{B, E, Ms};
use crate::sys::{self, Mapping};
use crate::{clock, files};
use core::ffi::CStr;
use modboot::blob::{Blob, Module};
use modboot::cmdline;
use modboot::compression::{self, Format, Gzip};
use modboot::modset::ModSet;
use modboot::resolve::{self, Action, Resolver, Step};
use rustix::event::{PollFd, PollFlags};
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{AtFlags, Mode, OFlags};
use rustix::io::Errno;
use rustix::process::Pid;

/// Longest parameter string passed to the kernel.
const PARAMS_MAX: usize = 4096;
/// Room for the parameter strings of the queued and running jobs.
const PARAMS_ARENA: usize = 16 * 1024;
/// Longest name or alias requested.
const NAME_MAX: usize = 256;
/// Jobs waiting for their dependencies or for a worker.
const QUEUE_MAX: usize = 256;
/// Most modules loading at once.
pub const JOBS_MAX: usize = 8;
/// Without `modboot.jobs=`.
pub const JOBS_DEFAULT: usize = 4;
/// `finit_module` flag: the file is compressed in the kernel's format.
const MODULE_INIT_COMPRESSED_FILE: u32 = 4;
const NONE: u16 = u16::MAX;
/// The rank of a module requested by name, or needed by one that was: the
/// boot's own list, the root's filesystem. The hand-over waits for these
/// ([`Loader::settle`]).
const BY_NAME: u16 = 0;
/// A job queued by the request being resolved.
const UNRANKED: u16 = u16::MAX;

/// The rank of a device's request: drivers of devices that can lead to a
/// root disk ([`modboot::devices::leads_to_storage`]) before the others',
/// and in each class the lighter chain (the bytes of the module files it
/// queued) first. On a machine with one CPU, a job does not start while
/// one of a lower rank runs: loads are mostly the kernel's CPU work, loads
/// side by side share the CPU, and the root's chain, which nothing tells
/// apart among the storage drivers until its disk shows, is most likely
/// done soonest that way (shortest job first); jobs of one rank (a chain's
/// independent modules) still run side by side. With more CPUs, every
/// ready job starts (up to `modboot.jobs=`), lowest rank first: a probe
/// that sleeps then holds back nothing.
fn rank(storage: bool, bytes: u64) -> u16 {
    let kib = (bytes >> 10).min(0x7ffe) as u16;
    match storage {
        true => 1 + kib,
        false => 0x8000 + kib,
    }
}

/// What happened to the modules.
#[derive(Default, Clone, Copy)]
pub struct Summary {
    pub loaded: u32,
    pub present: u32,
    pub failed: u32,
    /// Refused with `ENODEV`: the machine lacks the device or the CPU
    /// feature (`crc32c_intel` without SSE4.2) the module is for. Not a
    /// failure, as udev and systemd-modules-load treat it.
    pub nodev: u32,
}

/// What a name resolves to ([`Loader::resolved`]).
pub struct Resolved<'a> {
    /// How many objects (modules and built-ins).
    pub objects: usize,
    /// Whether any of those modules failed: kmod's "required" modules
    /// failing (a module's own modules.dep dependencies failing fails it
    /// too); softdeps are not among them, kmod ignores their errors.
    pub failed: bool,
    /// A module it reaches, when every object is a module blacklisted for
    /// an alias (`blacklist`, `modprobe.blacklist=`, `rd.driver.blacklist=`):
    /// then nothing loads for it.
    pub blacklisted: Option<&'a str>,
}

/// Why one module did not load.
#[derive(Clone, Copy)]
enum Failure {
    /// Opening, reading or mapping the file failed.
    Open(Errno),
    /// The kernel refused the module.
    Kernel(Errno),
    /// The gzip file is damaged.
    Gzip(compression::Error),
    /// Compressed in a format this kernel cannot read, and not gzip.
    Format(Format),
    /// The worker ended without a result.
    Worker,
}

/// What the parent counts of a load: a worker says the outcome in the log
/// itself and sends only this, one byte, through its pipe.
#[derive(Clone, Copy, PartialEq)]
enum Outcome {
    Loaded,
    /// `EEXIST`: already loaded.
    Present,
    /// `ENODEV`: see [`Summary::nodev`].
    NoDev,
    Failed,
}

impl Outcome {
    fn of(result: Result<(), Failure>) -> Outcome {
        match result {
            Ok(()) => Outcome::Loaded,
            Err(Failure::Kernel(Errno::EXIST)) => Outcome::Present,
            Err(Failure::Kernel(Errno::NODEV)) => Outcome::NoDev,
            Err(_) => Outcome::Failed,
        }
    }
}

/// A module waiting to be loaded.
#[derive(Clone, Copy)]
struct Job {
    module: u16,
    /// The module before it in its probe list, which must finish first.
    after: u16,
    /// Its parameters: a range of the arena.
    params: (u16, u16),
    /// Lower starts first (see [`rank`]); [`UNRANKED`] until the request
    /// that queued it is resolved whole.
    rank: u16,
    /// Reached again by the request being resolved: takes its rank if lower.
    again: bool,
}

/// A module loading in a forked worker.
struct Worker {
    pid: Pid,
    /// The worker writes its result here, then exits.
    result: OwnedFd,
    job: Job,
}

pub struct Loader<'a> {
    blob: Blob<'a>,
    resolver: Resolver<'a>,
    cmdline: &'a [u8],
    dir: OwnedFd,
    /// Queued, loading or finished: each module is attempted once.
    claimed: ModSet,
    /// Finished, loaded or not.
    finished: ModSet,
    failed: ModSet,
    queue: [Option<Job>; QUEUE_MAX],
    workers: [Option<Worker>; JOBS_MAX],
    jobs: usize,
    arena: [u8; PARAMS_ARENA],
    arena_len: usize,
    /// The bytes of the files the request being resolved queued.
    bytes: u64,
    /// Whether this process may run on one CPU only: then a job waits
    /// while one of a lower rank runs.
    one_cpu: bool,
    /// The highest rank that may start ([`Self::settle`]).
    ceiling: u16,
    /// The format `/sys/module/compression` names, if any.
    kernel_reads: Option<Format>,
    pub sum: Summary,
}

impl<'a> Loader<'a> {
    /// A loader for `blob`'s modules, in `/lib/modules/<release>`, with up to
    /// `jobs` loading at once; `None` (said in the log) if that directory
    /// cannot be opened.
    pub fn new(blob: Blob<'a>, cmdline: &'a [u8], jobs: usize) -> Option<Self> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let mut path = [0u8; 128];
        let dir = match files::join(&mut path, &[b"/lib/modules/", blob.release().as_bytes()])
            .ok_or(Errno::NAMETOOLONG)
            .and_then(|p| rustix::fs::open(p, flags, Mode::empty()))
        {
            Ok(d) => d,
            Err(e) => {
                error!("cannot open /lib/modules/{}: {}", blob.release(), E(e));
                return None;
            }
        };
        let mut buf = [0u8; 16];
        let kernel_reads = match files::read(b"/sys/module/compression", &mut buf) {
            Ok(b"gzip\n") => Some(Format::Gzip),
            Ok(b"xz\n") => Some(Format::Xz),
            Ok(b"zstd\n") => Some(Format::Zstd),
            _ => None,
        };
        Some(Loader {
            blob,
            resolver: Resolver::for_boot(blob, cmdline),
            cmdline,
            dir,
            claimed: ModSet::new(),
            finished: ModSet::new(),
            failed: ModSet::new(),
            queue: [None; QUEUE_MAX],
            workers: [const { None }; JOBS_MAX],
            jobs: jobs.clamp(1, JOBS_MAX),
            arena: [0; PARAMS_ARENA],
            arena_len: 0,
            bytes: 0,
            ceiling: UNRANKED,
            one_cpu: files::read(b"/sys/devices/system/cpu/online", &mut buf) == Ok(b"0\n"),
            kernel_reads,
            sum: Summary::default(),
        })
    }

    /// The boot's own requests, queued in order: `rd.driver.pre=` names, the
    /// blob's boot list, `modules-load=` / `modules_load=` /
    /// `rd.modules-load=` names.
    #[inline(never)]
    pub fn request_boot_modules(&mut self) {
        const PRE: &[&[u8]] = &[b"rd.driver.pre"];
        const LOAD: &[&[u8]] = &[b"rd.modules-load", b"modules-load", b"modules_load"];
        let (blob, cmdline) = (self.blob, self.cmdline);
        for name in cmdline::list(cmdline, PRE) {
            self.request(name);
        }
        for name in blob.load_list() {
            self.request(name.as_bytes());
        }
        for name in cmdline::list(cmdline, LOAD) {
            self.request(name);
        }
    }

    /// Run until every module requested by name (not by a device's
    /// modalias) has finished, with what it needs. The root has been found:
    /// from now on no load for a device starts (those running go on) until
    /// [`Self::finish_all`], after the hand-over.
    #[inline(never)]
    pub fn settle(&mut self) {
        self.ceiling = BY_NAME;
        loop {
            self.pump();
            let queued = self.queue.iter().flatten();
            let running = self.workers.iter().flatten().map(|w| &w.job);
            // Nothing running: nothing more can finish.
            if !queued.chain(running).any(|j| j.rank == BY_NAME) || self.running() == 0 {
                return;
            }
            self.wait(None, None);
        }
    }

    /// `modprobe NAME`; says so in the log if nothing matched.
    #[inline(never)]
    pub fn request(&mut self, name: &[u8]) -> bool {
        let found = self.lookup(name, true);
        if !found {
            error!(
                "cannot load {}: no module, alias or built-in of that name in the blob",
                B(name)
            );
        }
        found
    }

    /// `modprobe -q NAME` for a device's modalias: false when nothing
    /// matched (the caller decides whether that is worth a line).
    #[inline(never)]
    pub fn request_modalias(&mut self, modalias: &[u8]) -> bool {
        self.lookup(modalias, false)
    }

    /// What `name` resolves to, without loading (see [`Resolved`]).
    pub fn resolved(&self, name: &[u8]) -> Resolved<'a> {
        let mut buf = [0u8; NAME_MAX];
        let mut r = Resolved {
            objects: 0,
            failed: false,
            blacklisted: None,
        };
        let mut allowed = 0;
        r.objects = resolve::normalise(name, &mut buf).map_or(0, |key| {
            self.resolver.lookup(key, &mut |o| {
                let m = self.blob.find(o.name.as_bytes());
                r.failed |= m.is_some_and(|m| self.failed.contains(m.index()));
                if o.alias.is_some() && self.resolver.blacklisted(o.name) {
                    r.blacklisted = m.map(|m| m.name());
                } else {
                    allowed += 1;
                }
            })
        });
        if allowed > 0 {
            r.blacklisted = None;
        }
        r
    }

    /// Queue what `name` resolves to: a name, or a device's modalias (see
    /// [`rank`]).
    fn lookup(&mut self, name: &[u8], by_name: bool) -> bool {
        let mut buf = [0u8; NAME_MAX];
        let Some(key) = resolve::normalise(name, &mut buf) else {
            error!("cannot load {}: not a valid module name", B(name));
            return false;
        };
        let resolver = self.resolver;
        let mut prev = NONE;
        self.bytes = 0;
        let found = resolver
            .modprobe(key, &mut |step| self.step(step, &mut prev))
            .is_ok();
        // Whether the device leads to storage only matters (and is only
        // matched) when its request queued something.
        let mut r = None;
        for j in self.queue.iter_mut().flatten() {
            if j.again || j.rank == UNRANKED {
                let r = *r.get_or_insert_with(|| match by_name {
                    true => BY_NAME,
                    false => rank(modboot::devices::leads_to_storage(name), self.bytes),
                });
                j.rank = j.rank.min(r);
                j.again = false;
            }
        }
        found
    }

    fn step(&mut self, step: Step<'_>, prev: &mut u16) {
        match step.action {
            Action::Insmod(m) => self.enqueue(m, step, prev),
            Action::Install(command) if resolve::is_disabling(command) => {
                info!(
                    "not loading {}: modprobe.d says install {}",
                    step.object.name, command
                );
            }
            Action::Install(command) => match self.blob.find(step.object.name.as_bytes()) {
                Some(m) => {
                    if !self.claimed.contains(m.index()) {
                        warn!(
                            "cannot run install command for {} ({}); loading the module itself",
                            m.name(),
                            command
                        );
                    }
                    self.enqueue(m, step, prev);
                }
                None => error!(
                    "cannot run install command for {} ({}) and no such module",
                    step.object.name, command
                ),
            },
            Action::Builtin => {}
            Action::Nothing => error!(
                "{}: no module file in the image and not built in",
                step.object.name
            ),
        }
    }

    fn enqueue(&mut self, m: Module<'_>, step: Step<'_>, prev: &mut u16) {
        let index = m.index();
        let after = core::mem::replace(prev, index);
        if self.claimed.contains(index) {
            // Still queued for a request that ranks lower: it now takes the
            // rank of this one, if higher (so what a chain needs is never
            // held back behind the chain).
            for j in self.queue.iter_mut().flatten() {
                j.again |= j.module == index;
            }
            return;
        }
        if cmdline::list(self.cmdline, &[b"module_blacklist"]).contains(m.name().as_bytes()) {
            // The kernel refuses it, by the user's order.
            self.claimed.insert(index);
            self.finished.insert(index);
            return;
        }
        let mut buf = [0u8; PARAMS_MAX];
        let Some(len) = resolve::options_into(&self.resolver, step.object, &mut buf) else {
            error!(
                "not loading {}: its parameters are longer than {} bytes or hold a NUL",
                m.name(),
                PARAMS_MAX
            );
            self.claimed.insert(index);
            return self.give_up(index);
        };
        let params = buf.get(..len).unwrap_or(&[]);
        // Room in the queue and the arena: wait for running jobs if need be.
        while self.queue.iter().all(Option::is_some)
            || self.arena_len + params.len() + 1 > PARAMS_ARENA
        {
            if self.idle() {
                self.arena_len = 0;
                break;
            }
            self.wait(None, None);
        }
        let start = self.arena_len;
        if let Some(dst) = self.arena.get_mut(start..start + params.len() + 1) {
            if let Some((nul, text)) = dst.split_last_mut() {
                text.copy_from_slice(params);
                *nul = 0;
            }
        }
        self.arena_len += params.len() + 1;
        let job = Job {
            module: index,
            after,
            params: (start as u16, params.len() as u16),
            rank: UNRANKED,
            again: false,
        };
        let flags = AtFlags::empty();
        self.bytes +=
            rustix::fs::statat(&self.dir, m.path(), flags).map_or(0, |st| st.st_size as u64);
        if let Some(slot) = self.queue.iter_mut().find(|s| s.is_none()) {
            *slot = Some(job);
            self.claimed.insert(index);
        }
    }

    /// Nothing queued and nothing loading.
    pub fn idle(&self) -> bool {
        self.queue.iter().all(Option::is_none) && self.workers.iter().all(Option::is_none)
    }

    /// Start every job that can start.
    #[inline(never)]
    pub fn pump(&mut self) {
        loop {
            if self.workers.iter().all(Option::is_some) || self.running() >= self.jobs {
                return;
            }
            // The ready job of the lowest rank, first queued first; on one
            // CPU, none of a higher rank than a job running.
            let floor = self.workers.iter().flatten().map(|w| w.job.rank).min();
            let best = floor
                .filter(|_| self.one_cpu)
                .unwrap_or(UNRANKED)
                .min(self.ceiling);
            let mut pick = None;
            for (slot, j) in self.queue.iter().enumerate() {
                if let Some(j) = j {
                    if j.rank <= best
                        && pick.is_none_or(|(_, r)| j.rank < r)
                        && self.finished_or_none(j.after)
                        && self.deps_settled(j.module)
                    {
                        pick = Some((slot, j.rank));
                    }
                }
            }
            let Some((slot, _)) = pick else {
                return;
            };
            let Some(job) = self.queue.get_mut(slot).and_then(Option::take) else {
                return;
            };
            let Some(m) = self.blob.module(job.module) else {
                continue;
            };
            if let Some(dep) = m.deps().find(|&d| self.failed.contains(d)) {
                let dep = self.blob.module(dep).map(|d| d.name()).unwrap_or("?");
                error!(
                    "not loading {}: it needs {}, which did not load",
                    m.name(),
                    dep
                );
                self.give_up(job.module);
                continue;
            }
            self.start(job, m);
        }
    }

    fn running(&self) -> usize {
        self.workers.iter().filter(|w| w.is_some()).count()
    }

    fn finished_or_none(&self, module: u16) -> bool {
        module == NONE || self.finished.contains(module)
    }

    fn deps_settled(&self, module: u16) -> bool {
        self.blob.module(module).is_some_and(|m| {
            m.deps()
                .all(|d| self.finished.contains(d) || !self.claimed.contains(d))
        })
    }

    fn params(&self, job: Job) -> &CStr {
        let (start, len) = (job.params.0 as usize, job.params.1 as usize);
        self.arena
            .get(start..=start + len)
            .and_then(|b| CStr::from_bytes_with_nul(b).ok())
            .unwrap_or(c"")
    }

    /// Load `m`: in a forked worker when more than one job may run, else
    /// here. The file is opened first, so a worker still running when the
    /// initramfs is emptied holds what it loads.
    fn start(&mut self, job: Job, m: Module<'_>) {
        let started = clock::now();
        let flags = OFlags::RDONLY | OFlags::CLOEXEC;
        let result = match rustix::fs::openat(&self.dir, m.path(), flags, Mode::empty()) {
            Err(e) => Err(Failure::Open(e)),
            Ok(file) => {
                if self.jobs > 1 {
                    // No process to spare: load it here instead.
                    if let Ok(worker) = self.fork_worker(job, m, &file, started) {
                        if let Some(slot) = self.workers.iter_mut().find(|w| w.is_none()) {
                            *slot = Some(worker);
                        }
                        return;
                    }
                }
                load(&file, self.params(job), self.kernel_reads)
            }
        };
        self.say(job, m, result, started);
        self.finish(job, Outcome::of(result));
    }

    /// The worker loads, says the outcome in the log itself (the init may
    /// have handed over meanwhile), sends it as one word, and exits.
    fn fork_worker(
        &self,
        job: Job,
        m: Module<'_>,
        file: &OwnedFd,
        started: u64,
    ) -> Result<Worker, Errno> {
        let (read, write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
        match sys::fork()? {
            None => {
                drop(read);
                let result = load(file, self.params(job), self.kernel_reads);
                self.say(job, m, result, started);
                let _ = rustix::io::write(&write, &[Outcome::of(result) as u8]);
                sys::exit(0)
            }
            Some(pid) => Ok(Worker {
                pid,
                result: read,
                job,
            }),
        }
    }

    /// Wait until a worker finishes, `extra` is readable, or `timeout_ms`
    /// passes (no timeout: until one of the first two). Returns whether
    /// `extra` is readable.
    pub fn wait(&mut self, extra: Option<BorrowedFd<'_>>, timeout_ms: Option<u64>) -> bool {
        // Entry k < JOBS_MAX: worker slot k's result pipe; the last: `extra`.
        // Unused entries poll the module directory for nothing.
        let idle = self.dir.as_fd();
        let ready: [bool; JOBS_MAX + 1] = {
            let mut list: [PollFd<'_>; JOBS_MAX + 1] = core::array::from_fn(|k| {
                let fd = match self.workers.get(k) {
                    Some(Some(w)) => Some(w.result.as_fd()),
                    Some(None) => None,
                    None => extra,
                };
                let events = if fd.is_some() {
                    PollFlags::IN
                } else {
                    PollFlags::empty()
                };
                PollFd::from_borrowed_fd(fd.unwrap_or(idle), events)
            });
            let ts = timeout_ms.map(|ms| rustix::event::Timespec {
                tv_sec: (ms / 1000) as _,
                tv_nsec: ((ms % 1000) * 1_000_000) as _,
            });
            let _ = rustix::event::poll(&mut list, ts.as_ref());
            list.map(|fd| !fd.revents().is_empty())
        };
        for (slot, &r) in ready.iter().enumerate().take(JOBS_MAX) {
            if r {
                self.reap(slot);
            }
        }
        ready[JOBS_MAX]
    }

    fn reap(&mut self, slot: usize) {
        let Some(w) = self.workers.get_mut(slot).and_then(Option::take) else {
            return;
        };
        let mut byte = [Outcome::Failed as u8];
        let outcome = match rustix::io::read(&w.result, &mut byte) {
            Ok(1) => [Outcome::Loaded, Outcome::Present, Outcome::NoDev]
                .into_iter()
                .find(|&o| o as u8 == byte[0])
                .unwrap_or(Outcome::Failed),
            // It died before its line: say so here.
            _ => {
                if let Some(m) = self.blob.module(w.job.module) {
                    self.say(w.job, m, Err(Failure::Worker), 0);
                }
                Outcome::Failed
            }
        };
        // Not this process's child if it was forked before the hand-over:
        // then the real init reaps it.
        let _ = rustix::process::waitpid(Some(w.pid), rustix::process::WaitOptions::empty());
        self.finish(w.job, outcome);
    }

    /// The outcome's line in the log.
    fn say(&self, job: Job, m: Module<'_>, result: Result<(), Failure>, started: u64) {
        match result {
            Ok(()) => {
                let params = self.params(job);
                // A file in the kernel's own format went to finit_module
                // with MODULE_INIT_COMPRESSED_FILE: say so.
                let by_kernel = self.kernel_reads.map_or("", |f| {
                    match m.path().to_bytes().ends_with(f.suffix().as_bytes()) {
                        true => ", decompressed by the kernel",
                        false => "",
                    }
                });
                info!(
                    "loaded {} in {}{}{}{}",
                    m.name(),
                    Ms(clock::since(started)),
                    by_kernel,
                    if params.is_empty() { "" } else { ", params " },
                    params
                );
            }
            Err(Failure::Kernel(Errno::EXIST)) => info!("{} was already loaded", m.name()),
            Err(Failure::Kernel(Errno::NODEV)) => info!(
                "{} is not for this machine: the kernel said ENODEV (no device or CPU feature for it)",
                m.name()
            ),
            Err(failure) => {
                let (what, errno, hint) = failure.describe();
                error!(
                    "cannot load module {} ({}): {}{}{}",
                    m.name(),
                    m.path(),
                    what,
                    errno,
                    hint
                );
            }
        }
    }

    /// Count the outcome and let what waits for the module start.
    fn finish(&mut self, job: Job, outcome: Outcome) {
        match outcome {
            Outcome::Loaded => self.sum.loaded += 1,
            Outcome::Present => self.sum.present += 1,
            Outcome::NoDev => {
                // Not loaded all the same: what needs it cannot load either.
                self.failed.insert(job.module);
                self.sum.nodev += 1;
            }
            Outcome::Failed => self.give_up(job.module),
        }
        self.finished.insert(job.module);
        if self.idle() {
            self.arena_len = 0;
        }
    }

    fn give_up(&mut self, index: u16) {
        self.finished.insert(index);
        if self.failed.insert(index) {
            self.sum.failed += 1;
        }
    }

    /// Give the loads still to come, and those running, the lowest CPU
    /// priority (nice 19): after the hand-over, the real init comes first.
    pub fn yield_cpu(&self) {
        for w in self.workers.iter().flatten() {
            let _ = rustix::process::setpriority_process(Some(w.pid), 19);
        }
        let _ = rustix::process::setpriority_process(None, 19);
    }

    /// The line that sums up the loads, `start` being the boot's.
    #[inline(never)]
    pub fn summarise(&self, start: u64) {
        let s = self.sum;
        info!(
            "modules: {} loaded, {} already present, {} failed, {} not for this machine, in {}",
            s.loaded,
            s.present,
            s.failed,
            s.nodev,
            Ms(clock::since(start))
        );
    }

    /// Run until every queued job has finished.
    #[inline(never)]
    pub fn finish_all(&mut self) {
        self.ceiling = UNRANKED;
        loop {
            self.pump();
            if self.idle() {
                return;
            }
            if self.workers.iter().all(Option::is_none) {
                // Queued jobs that can never start (a cycle would do it).
                for slot in self.queue.iter_mut() {
                    if let Some(job) = slot.take() {
                        self.finished.insert(job.module);
                    }
                }
                return;
            }
            self.wait(None, None);
        }
    }
}

/// Load one module file; see the module's documentation.
fn load(fd: &OwnedFd, params: &CStr, kernel_reads: Option<Format>) -> Result<(), Failure> {
    let mut head = [0u8; 8];
    let n = rustix::io::pread(fd, &mut head, 0).map_err(Failure::Open)?;
    let format = Format::detect(head.get(..n).unwrap_or(&[]));
    // finit_module is in every kernel since 3.8, older than any this
    // targets; init_module only takes what was inflated here.
    if format == Format::Plain || Some(format) == kernel_reads {
        let flags = if format == Format::Plain {
            0
        } else {
            MODULE_INIT_COMPRESSED_FILE
        };
        return rustix::system::finit_module(fd, params, flags as _).map_err(Failure::Kernel);
    }
    if format != Format::Gzip {
        return Err(Failure::Format(format));
    }
    let len = rustix::fs::fstat(fd).map_err(Failure::Open)?.st_size as usize;
    let file = Mapping::file(fd, len).map_err(Failure::Open)?;
    let gz = Gzip::new_checked(file.bytes()).map_err(Failure::Gzip)?;
    let mut image = Mapping::anonymous(gz.inflated_len()).map_err(Failure::Open)?;
    gz.inflate_into(image.bytes_mut()).map_err(Failure::Gzip)?;
    drop(file);
    rustix::system::init_module(image.bytes(), params).map_err(Failure::Kernel)
}

impl Failure {
    /// What went wrong, the errno if any, and a hint: three pieces of the
    /// log line.
    fn describe(self) -> (&'static str, Option<Errno>, &'static str) {
        match self {
            Failure::Open(e) => ("cannot read the file: ", Some(e), ""),
            Failure::Kernel(e) => ("the kernel refused it: ", Some(e), hint(e)),
            Failure::Gzip(g) => (g.describe(), None, ""),
            Failure::Format(f) => (
                f.kernel_name().unwrap_or("?"),
                None,
                "-compressed, which this kernel cannot decompress (rebuild the image)",
            ),
            Failure::Worker => ("its worker died", None, ""),
        }
    }
}

/// What an errno from module loading usually means.
fn hint(e: Errno) -> &'static str {
    match e {
        Errno::NOEXEC => " (not a valid module for this kernel)",
        Errno::NOKEY | Errno::KEYREJECTED => " (its signature was rejected)",
        Errno::PERM => " (loading disabled, or in module_blacklist=)",
        Errno::NOENT => " (unknown symbol; see dmesg)",
        Errno::INVAL => " (invalid parameter or module; see dmesg)",
        _ => "",
    }
}
