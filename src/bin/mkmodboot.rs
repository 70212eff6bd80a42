//! mkmodboot: the host-side tool's command line. Parses it (clap), turns
//! its arguments into `modboot::host`'s plain inputs (`host::settings`
//! merges them with the configuration file) and dispatches: the blob and
//! initramfs image of a kernel's module tree (`host::assemble`), the images
//! of installed kernels (`host::update`), what the init would load
//! (`host::show_depends`), what an image holds (`host::inspect`), a boot's
//! chart (`host::chart`).
//!
//! Exit status: 0 success; 1 a data error (a file, tree or name that is
//! wrong), told in one message; 2 a usage error, with the usage.

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};
use modboot::compression::Format;
use modboot::host::conf;
use modboot::host::emit::Deflate;
use modboot::host::modstore::{KernelDecompress, ModuleCompression};
use modboot::host::settings::{Given, GivenImage, settings};
use modboot::host::{assemble, chart, inspect, show_depends, update};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "mkmodboot",
    version,
    about = "Build modboot initramfs images and blobs from a kernel's module tree",
    after_help = "A data error (a file, tree or name that is wrong) exits 1 with one message; \
                  a usage error exits 2. `--` ends the options. See mkmodboot(8)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build an initramfs image: the init, the selected modules and their blob
    Image(ImageArgs),
    /// Write the blob alone (for an init that embeds it, or to look at)
    Blob(BlobArgs),
    /// Write BOOTDIR/initrd.img-VERSION for installed kernels (as update-initramfs)
    Update(UpdateArgs),
    /// Print what the init would load for each NAME, as modprobe --show-depends does
    ShowDepends(ShowDependsArgs),
    /// Show what an image, a blob or an init holds
    Inspect(InspectArgs),
    /// Draw a boot's console or dmesg log as an SVG timeline (loads on their lanes, milestones)
    Chart(ChartArgs),
}

/// Which modules an image or blob holds and loads; each replaces the
/// configuration file's key of the same meaning.
#[derive(Args)]
struct SelectionArgs {
    /// Names (modules or aliases) to load at boot, as modprobe takes them;
    /// their dependencies and softdeps come along [conf: modules]
    #[arg(value_name = "NAME")]
    names: Vec<String>,
    /// More names to load, one a line (`#` comments), before the NAMEs [conf: modules]
    #[arg(long, value_name = "FILE")]
    list: Vec<PathBuf>,
    /// Names packed but not loaded at boot (for modules-load= and the kernel's requests) [conf: pack]
    #[arg(long, value_name = "NAME[,NAME...]", value_delimiter = ',')]
    pack: Vec<String>,
    /// Pack every module of the tree
    #[arg(long)]
    all: bool,
    /// Pack every storage controller and filesystem driver and what they need;
    /// coldplug loads what the machine has [conf: generic]
    #[arg(long, overrides_with = "no_generic")]
    generic: bool,
    /// Do not pack the generic set, whatever the configuration says
    #[arg(long)]
    no_generic: bool,
    /// Pack what this machine's root needs: the devices from its block device
    /// up (their modaliases, resolved against the tree) and its filesystem
    /// [conf: hostonly]
    #[arg(long, overrides_with = "no_hostonly")]
    hostonly: bool,
    /// Not host-only, whatever the configuration says
    #[arg(long)]
    no_hostonly: bool,
    /// Root filesystem types to pack: block filesystems, virtiofs, 9p (with
    /// its virtio transport) (default: ext4 and this machine's root
    /// filesystem, unless --generic, --all or --hostonly) [conf: rootfs]
    #[arg(long, value_name = "TYPE[,TYPE...]", value_delimiter = ',')]
    rootfs: Vec<String>,
    /// Layers between the disks and the root to pack, each with its modules,
    /// its tool (/sbin/cryptsetup, /sbin/lvm, /sbin/mdadm) and its
    /// configuration: luks, lvm, md (default: none, but those this machine's
    /// root is on for a generic image of one of its kernels; --hostonly adds
    /// the root's own) [conf: layers]
    #[arg(long, value_name = "LAYER[,LAYER...]", value_delimiter = ',')]
    layers: Vec<String>,
    /// No layers asked for, whatever the configuration says
    #[arg(long, conflicts_with = "layers")]
    no_layers: bool,
    /// modprobe.d directory or file (repeatable; kmod's order); the tree's
    /// modules.softdep is always read [conf: modprobe_d]
    #[arg(long = "config", short = 'c', value_name = "PATH")]
    modprobe_d: Vec<PathBuf>,
    /// The kernel release the modules must be built for (checked against their vermagic)
    #[arg(long, value_name = "RELEASE")]
    release: Option<String>,
    /// Store the blob deflated: auto (when over 4 KiB and smaller), always, never
    #[arg(long, value_enum, value_name = "WHEN")]
    deflate: Option<DeflateArg>,
    /// The format the target kernel decompresses modules in itself
    /// (CONFIG_MODULE_DECOMPRESS): none, gzip, xz, zstd; default: from the
    /// tree's kernel config (<root>/boot/config-<release>, DIR/build/.config),
    /// else none [conf: kernel_decompress]
    #[arg(long, value_name = "FORMAT", value_parser = parse_kernel_decompress)]
    kernel_decompress: Option<KernelDecompress>,
    /// How to store .xz/.zst modules that kernel cannot load: plain, gzip, or
    /// auto (gzip if the kernel decompresses gzip, else plain); none: every
    /// module decompressed, even those the kernel could load as they are;
    /// compressed: every module compressed, in the kernel's own format if it
    /// decompresses modules, else gzip (for --compress none: only what a boot
    /// loads is ever decompressed). Default: auto; with --generic or --all,
    /// none when the tree's modules are plain and add up to at most 24 MiB,
    /// else compressed [conf: module_compression]
    #[arg(long, value_name = "HOW", value_parser = parse_module_compression)]
    module_compression: Option<ModuleCompression>,
    /// Read this configuration file instead of the installed modboot.conf and modboot.conf.d
    #[arg(long, value_name = "FILE")]
    conf: Option<PathBuf>,
    /// Read no configuration file
    #[arg(long, conflicts_with = "conf")]
    no_conf: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum DeflateArg {
    Auto,
    Always,
    Never,
}

fn parse_kernel_decompress(w: &str) -> Result<KernelDecompress, String> {
    KernelDecompress::parse(w).ok_or_else(|| "none, gzip, xz or zstd".into())
}

fn parse_module_compression(w: &str) -> Result<ModuleCompression, String> {
    ModuleCompression::parse(w).ok_or_else(|| "auto, plain, gzip, compressed or none".into())
}

fn parse_compress(w: &str) -> Result<Format, String> {
    conf::parse_compress(w).ok_or_else(|| "zstd, gzip, xz or none".into())
}

/// How an image is put together, beyond its modules.
#[derive(Args)]
struct ImageOptions {
    /// The init binary (default: the installed init for the modules' architecture)
    #[arg(long, value_name = "FILE")]
    init: Option<PathBuf>,
    /// The image's compression: zstd, gzip (the default), xz, none (the
    /// default with --generic or --all, whose modules are compressed one by
    /// one) [conf: compress]
    #[arg(long, value_name = "FORMAT", value_parser = parse_compress)]
    compress: Option<Format>,
    /// The compression level (gzip 1-9, default 9; zstd 1-19, default 3; xz 0-9,
    /// default 6) [conf: compress_level]
    #[arg(long, value_name = "N")]
    compress_level: Option<i32>,
    /// Pack the file SOURCE at PATH in the image (repeatable) [conf: add]
    #[arg(long, value_name = "PATH=SOURCE", value_parser = conf::parse_add)]
    add: Vec<(String, PathBuf)>,
    /// Where the firmware that packed modules ask for, and CPU microcode, come
    /// from (default: /lib/firmware) [conf: firmware_dir]
    #[arg(long, value_name = "DIR")]
    firmware_dir: Option<PathBuf>,
    /// No early CPU microcode (x86) [conf: microcode]
    #[arg(long)]
    no_microcode: bool,
    /// Pack a static rescue shell at /bin/sh: the build machine's busybox
    /// (busybox-static), or FILE; the init starts it for rd.shell, rd.break and
    /// a failed boot that rd.emergency= or panic= does not decide [conf: rescue]
    #[arg(
        long,
        value_name = "FILE",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "yes"
    )]
    rescue: Option<String>,
    /// No rescue shell, whatever the configuration says
    #[arg(long, conflicts_with = "rescue")]
    no_rescue: bool,
}

#[derive(Args)]
struct ImageArgs {
    #[command(flatten)]
    selection: SelectionArgs,
    #[command(flatten)]
    image: ImageOptions,
    /// The module tree, a /lib/modules/<release> directory on which depmod has
    /// run (default: the running kernel's)
    #[arg(long, value_name = "DIR")]
    tree: Option<PathBuf>,
    /// Where to write the image (replaced atomically)
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: PathBuf,
}

#[derive(Args)]
struct BlobArgs {
    #[command(flatten)]
    selection: SelectionArgs,
    /// The module tree (default: the running kernel's)
    #[arg(long, value_name = "DIR")]
    tree: Option<PathBuf>,
    /// Where to write the blob (replaced atomically)
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: PathBuf,
}

#[derive(Args)]
struct UpdateArgs {
    #[command(flatten)]
    selection: SelectionArgs,
    #[command(flatten)]
    image: ImageOptions,
    /// The kernel version whose image to write, or `all` (every tree in MODDIR)
    #[arg(short = 'k', long = "kernel", value_name = "VERSION|all")]
    kernel: String,
    /// Where the module trees are
    #[arg(long, value_name = "DIR", default_value = "/lib/modules")]
    moddir: PathBuf,
    /// Where the images go, as initrd.img-VERSION
    #[arg(long, value_name = "DIR", default_value = "/boot")]
    bootdir: PathBuf,
}

#[derive(Args)]
#[command(group(ArgGroup::new("source").required(true).args(["blob", "tree"])))]
struct ShowDependsArgs {
    /// Resolve from this blob
    #[arg(long, value_name = "FILE")]
    blob: Option<PathBuf>,
    /// Resolve from this module tree (all of it)
    #[arg(long, value_name = "DIR")]
    tree: Option<PathBuf>,
    /// modprobe.d directory or file, with --tree (repeatable)
    #[arg(long = "config", short = 'c', value_name = "PATH", requires = "tree")]
    modprobe_d: Vec<PathBuf>,
    /// A kernel command line, for its module options and modprobe.blacklist=
    #[arg(long, value_name = "STRING", default_value = "")]
    cmdline: String,
    /// Where the paths printed start (default: the tree, or /lib/modules/<release>)
    #[arg(long, value_name = "DIR")]
    dirname: Option<String>,
    /// The names to resolve
    #[arg(value_name = "NAME", required = true)]
    names: Vec<String>,
}

#[derive(Args)]
#[command(group(ArgGroup::new("what").required(true).args(["image", "blob", "init"])))]
struct InspectArgs {
    /// An initramfs image: its files, its init, its blob and what the boot list resolves to
    #[arg(long, value_name = "FILE")]
    image: Option<PathBuf>,
    /// A blob file
    #[arg(long, value_name = "FILE")]
    blob: Option<PathBuf>,
    /// An init binary with an embedded blob
    #[arg(long, value_name = "FILE")]
    init: Option<PathBuf>,
}

#[derive(Args)]
struct ChartArgs {
    /// The log: a serial console capture or `dmesg` output of a modboot boot
    #[arg(value_name = "LOG")]
    log: PathBuf,
    /// Where to write the SVG (replaced atomically)
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: PathBuf,
    /// The chart's title (default: the log's file name)
    #[arg(long, value_name = "TEXT")]
    title: Option<String>,
}

impl SelectionArgs {
    /// The plain inputs of [`settings()`].
    fn given(&self) -> Given {
        Given {
            names: self.names.clone(),
            list: self.list.clone(),
            pack: self.pack.clone(),
            all: self.all,
            generic: self.generic,
            no_generic: self.no_generic,
            hostonly: self.hostonly,
            no_hostonly: self.no_hostonly,
            rootfs: self.rootfs.clone(),
            layers: self.layers.clone(),
            no_layers: self.no_layers,
            modprobe_d: self.modprobe_d.clone(),
            release: self.release.clone(),
            deflate: self.deflate.map(|d| match d {
                DeflateArg::Auto => Deflate::Auto,
                DeflateArg::Always => Deflate::Always,
                DeflateArg::Never => Deflate::Never,
            }),
            kernel_decompress: self.kernel_decompress,
            module_compression: self.module_compression,
            conf: self.conf.clone(),
            no_conf: self.no_conf,
        }
    }
}

impl ImageOptions {
    /// The plain inputs of [`settings()`] for an image.
    fn given(&self) -> GivenImage {
        GivenImage {
            init: self.init.clone(),
            compress: self.compress,
            compress_level: self.compress_level,
            add: self.add.clone(),
            firmware_dir: self.firmware_dir.clone(),
            no_microcode: self.no_microcode,
            rescue: self.rescue.clone(),
            no_rescue: self.no_rescue,
        }
    }
}

// Each command: `Ok(true)` done; `Ok(false)` done, with what it found
// wrong told (exit 1); `Err` the one message.

fn cmd_blob(a: &BlobArgs) -> Result<bool, String> {
    let s = settings(&a.selection.given(), None)?;
    assemble::blob(&s, a.tree.as_deref(), &a.output).map(|()| true)
}

fn cmd_image(a: &ImageArgs) -> Result<bool, String> {
    let s = settings(&a.selection.given(), Some(&a.image.given()))?;
    assemble::image(&s, a.tree.as_deref(), &a.output).map(|()| true)
}

fn cmd_update(a: &UpdateArgs) -> Result<bool, String> {
    let s = settings(&a.selection.given(), Some(&a.image.given()))?;
    update::update(&s, &a.kernel, &a.moddir, &a.bootdir).map(|()| true)
}

/// Print what the init would do, in `modprobe --show-depends` format. Exit 1
/// if a name is not found, as modprobe does.
fn cmd_show_depends(a: &ShowDependsArgs) -> Result<bool, String> {
    let source = match (&a.blob, &a.tree) {
        (Some(b), _) => show_depends::Source::Blob(b),
        (None, Some(dir)) => show_depends::Source::Tree(dir, &a.modprobe_d),
        (None, None) => unreachable!("clap requires one"),
    };
    show_depends::command(
        source,
        &a.cmdline,
        a.dirname.as_deref(),
        &a.names,
        &mut std::io::stdout().lock(),
        &mut std::io::stderr(),
    )
}

/// Show what an image, a blob or an init holds. Exit 1 if an image lacks
/// its init, its blob or a module.
fn cmd_inspect(a: &InspectArgs) -> Result<bool, String> {
    let what = match (&a.image, &a.blob, &a.init) {
        (Some(i), _, _) => inspect::What::Image(i),
        (None, Some(b), _) => inspect::What::Blob(b),
        (None, None, Some(i)) => inspect::What::Init(i),
        _ => unreachable!("clap requires one"),
    };
    inspect::inspect(what, &mut std::io::stdout().lock())
}

fn cmd_chart(a: &ChartArgs) -> Result<bool, String> {
    chart::draw(&a.log, a.title.as_deref(), &a.output).map(|()| true)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Image(a) => cmd_image(a),
        Command::Blob(a) => cmd_blob(a),
        Command::Update(a) => cmd_update(a),
        Command::ShowDepends(a) => cmd_show_depends(a),
        Command::Inspect(a) => cmd_inspect(a),
        Command::Chart(a) => cmd_chart(a),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("mkmodboot: {e}");
            ExitCode::from(1)
        }
    }
}
