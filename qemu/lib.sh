# Shared helpers for the qemu/ scripts: paths, dependency installation, kernel
# download. Sourced, not run.

MODBOOT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Downloads and unpacked kernels live here; git-ignored.
MODBOOT_CACHE=${MODBOOT_CACHE:-$MODBOOT_ROOT/.cache}
# Scratch output of builds and boots (images, disks, logs); git-ignored.
MODBOOT_OUT=${MODBOOT_OUT:-$MODBOOT_ROOT/target/qemu}

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Install what the demo and the tests need, if it is missing: Debian packages and
# the Rust targets the init is built for. Idempotent and quiet when all is there.
ensure_deps() {
    local pkgs=() p
    command -v qemu-system-x86_64 >/dev/null || pkgs+=(qemu-system-x86)
    # aarch64 and riscv64 guests (tests/arch.rs, qemu/demo --arch); OpenSBI
    # comes with QEMU's data files.
    command -v qemu-system-aarch64 >/dev/null || pkgs+=(qemu-system-arm)
    command -v qemu-system-riscv64 >/dev/null || pkgs+=(qemu-system-misc)
    # virtiofs roots (tests/roots.rs, qemu/boot --virtiofs): QEMU's virtiofsd.
    [ -x /usr/lib/qemu/virtiofsd ] || pkgs+=(qemu-system-common)
    [ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -qx poweroff \
        && file_is_static /bin/busybox || pkgs+=(busybox-static)
    command -v mke2fs >/dev/null || pkgs+=(e2fsprogs)
    command -v depmod >/dev/null || pkgs+=(kmod)
    command -v cpio >/dev/null || pkgs+=(cpio)
    # For tests/blkid.rs: images made by the real tools, read by the real blkid.
    command -v mkfs.xfs >/dev/null || pkgs+=(xfsprogs)
    command -v mkfs.btrfs >/dev/null || pkgs+=(btrfs-progs)
    command -v mkfs.vfat >/dev/null || pkgs+=(dosfstools)
    command -v mksquashfs >/dev/null || pkgs+=(squashfs-tools)
    command -v mkfs.erofs >/dev/null || pkgs+=(erofs-utils)
    command -v sfdisk >/dev/null || pkgs+=(fdisk)
    command -v blkid >/dev/null || pkgs+=(util-linux)
    # For qemu/layerdisk: LUKS, LVM and md disks made by the real tools,
    # which it packs into a guest (this machine's kernel need not have dm or md).
    command -v cryptsetup >/dev/null || pkgs+=(cryptsetup-bin)
    command -v lvm >/dev/null || pkgs+=(lvm2)
    command -v mdadm >/dev/null || pkgs+=(mdadm)
    # For tests/install.rs: the man pages rendered as man(1) renders them.
    command -v man >/dev/null || pkgs+=(man-db)
    command -v groff >/dev/null || pkgs+=(groff-base)
    # For tests/install.rs: the kernel-install plugin run by systemd's own.
    command -v kernel-install >/dev/null || pkgs+=(systemd)
    # The layers' tools images pack (src/host/layers.rs, programs.rs;
    # tests/generator.rs): the build machine's cryptsetup, lvm and mdadm.
    command -v cryptsetup >/dev/null || [ -x /sbin/cryptsetup ] || pkgs+=(cryptsetup-bin)
    [ -x /sbin/lvm ] || pkgs+=(lvm2)
    [ -x /sbin/mdadm ] || pkgs+=(mdadm)
    # For src/host/codec.rs: images and modules read back by the real tools.
    command -v zstd >/dev/null || pkgs+=(zstd)
    command -v xz >/dev/null || pkgs+=(xz-utils)
    if [ ${#pkgs[@]} -gt 0 ]; then
        log "installing ${pkgs[*]}"
        local sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
        $sudo apt-get update -q >/dev/null
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${pkgs[@]}" >/dev/null
    fi
    command -v cargo >/dev/null || die "cargo not found: install Rust with rustup first"
    # The init's build rebuilds core for size (initramfs/build-init).
    rustup component list --installed | grep -q '^rust-src' || rustup component add rust-src >&2
    local installed t
    installed=$(rustup target list --installed)
    for t in x86_64-unknown-linux-musl aarch64-unknown-linux-musl riscv64gc-unknown-linux-gnu; do
        grep -qx "$t" <<<"$installed" || rustup target add "$t" >&2
    done
}

file_is_static() {
    # busybox (the dynamic one) and busybox-static both install /bin/busybox;
    # only the static one can run on a root disk that has no libc.
    ! LC_ALL=C readelf -d "$1" 2>/dev/null | grep -q NEEDED
}

# Fetch a Debian kernel (META, resolved to its versioned package; default
# Debian 12's cloud kernel for amd64), unpack it and run depmod. Prints the
# module tree's directory (/lib/modules/<release> shaped); the kernel image is
# <tree>/../../../boot/vmlinuz-<release>. Debian 12 amd64 kernels come
# through the machine's own apt sources; other architectures and suites
# through private_apt. Debian 13 keeps modules under usr/lib/modules
# (merged /usr): the unpacked root gets lib -> usr/lib, as on such a system.
#   fetch_kernel [META [ARCH [SUITE]]]     ARCH: amd64, arm64, riscv64
fetch_kernel() {
    local meta=${1:-linux-image-cloud-amd64} arch=${2:-amd64} suite=${3:-bookworm} pkg deb dir release
    if [ "$arch-$suite" = amd64-bookworm ]; then
        pkg=$(apt-cache depends "$meta" 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
        if [ -z "$pkg" ]; then
            local sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
            $sudo apt-get update -q >/dev/null
            pkg=$(apt-cache depends "$meta" | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
        fi
    else
        private_apt "$suite" main "$arch"
        pkg=$(apt-cache "${APT_OPTS[@]}" depends "$meta" 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
    fi
    [ -n "$pkg" ] || die "cannot resolve $meta ($suite, $arch) to a versioned kernel package"
    dir=$MODBOOT_CACHE/kernels/$pkg
    if [ ! -f "$dir/.done" ]; then
        log "downloading $pkg"
        rm -rf "$dir" && mkdir -p "$dir/deb" "$dir/root"
        if [ "$arch-$suite" = amd64-bookworm ]; then
            (cd "$dir/deb" && apt-get download -q "$pkg" >/dev/null) || die "apt-get download $pkg failed"
            deb=$(ls "$dir"/deb/*.deb)
            dpkg -x "$deb" "$dir/root"
        else
            cp -a "$(fetch_deb "$suite" main "$arch" "$pkg")/." "$dir/root/"
            rm -f "$dir/root/.done"
        fi
        [ -e "$dir/root/lib" ] || ln -s usr/lib "$dir/root/lib"
        release=$(ls "$dir/root/lib/modules")
        depmod -b "$dir/root" "$release"
        touch "$dir/.done"
    fi
    release=$(ls "$dir/root/lib/modules")
    printf '%s\n' "$dir/root/lib/modules/$release"
}

# apt with a private sources list, lists and cache under
# .cache/apt/<suite>-<component>-<arch>/, for a suite, component or
# architecture this machine's apt sources do not list (bookworm's
# non-free-firmware, trixie, arm64 and riscv64 packages), without changing
# them: the mirror is the one the machine's apt already uses, and apt checks
# the suite's InRelease signature with Debian's keyring and every index's
# and package's SHA256, as for any download. Sets APT_OPTS (the options
# that make apt-get and apt-cache use it) and APT_DIR.
#   private_apt SUITE COMPONENT ARCH [refresh]
private_apt() {
    local suite=$1 component=$2 arch=$3 refresh=${4:-} mirror
    APT_DIR=$MODBOOT_CACHE/apt/$suite-$component-$arch
    APT_OPTS=(-o "Dir::Etc::sourcelist=$APT_DIR/sources.list" -o Dir::Etc::sourceparts=/nonexistent
              -o "Dir::State::Lists=$APT_DIR/lists" -o "Dir::Cache=$APT_DIR/cache"
              -o "APT::Architecture=$arch" -o "APT::Architectures=$arch")
    if [ -z "$refresh" ] && ls "$APT_DIR/lists" 2>/dev/null | grep -q _Packages; then
        return 0
    fi
    mirror=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' | awk '$2 == "bookworm" { print $1; exit }')
    if [ -z "$mirror" ]; then
        local sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
        $sudo apt-get update -q >/dev/null
        mirror=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' | awk '$2 == "bookworm" { print $1; exit }')
    fi
    [ -n "$mirror" ] || die "no Debian mirror in this machine's apt sources"
    rm -rf "$APT_DIR/lists"
    mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/cache/archives/partial" "$APT_DIR/debs"
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $suite $component" > "$APT_DIR/sources.list"
    apt-get "${APT_OPTS[@]}" update -q >/dev/null || die "apt-get update for $suite $component ($arch) failed"
}

# Download PACKAGE from SUITE COMPONENT for ARCH (private_apt) and print the
# directory it is unpacked in (dpkg -x), cached.
#   fetch_deb SUITE COMPONENT ARCH PACKAGE
fetch_deb() {
    local suite=$1 component=$2 arch=$3 pkg=$4 deb out
    out=$MODBOOT_CACHE/apt/$suite-$component-$arch/unpacked/$pkg
    if [ ! -f "$out/.done" ]; then
        private_apt "$suite" "$component" "$arch"
        log "downloading $pkg ($suite $component $arch)"
        # Lists kept from an earlier run may name a file the mirror has since
        # replaced: then read them anew once.
        (cd "$APT_DIR/debs" && apt-get "${APT_OPTS[@]}" download -q "$pkg" >/dev/null 2>&1) || {
            private_apt "$suite" "$component" "$arch" refresh
            (cd "$APT_DIR/debs" && apt-get "${APT_OPTS[@]}" download -q "$pkg" >/dev/null 2>&1)
        } || die "apt-get download $pkg ($suite $component $arch) failed"
        deb=$(ls -t "$APT_DIR/debs/${pkg}_"*.deb | head -1)
        rm -rf "$out" && mkdir -p "$out"
        dpkg -x "$deb" "$out"
        touch "$out/.done"
    fi
    printf '%s\n' "$out"
}

# Debian's architecture name for `uname -m`'s, and the init's Rust target.
deb_arch() {
    case $1 in x86_64) echo amd64 ;; aarch64) echo arm64 ;; riscv64) echo riscv64 ;; *) die "unknown architecture $1" ;; esac
}
rust_target() {
    case $1 in
        x86_64) echo x86_64-unknown-linux-musl ;;
        aarch64) echo aarch64-unknown-linux-musl ;;
        riscv64) echo riscv64gc-unknown-linux-gnu ;;
        *) die "unknown architecture $1" ;;
    esac
}

# A static busybox for the guest's architecture, for its root disk: the
# build host's for x86_64, Debian's busybox-static of that architecture
# otherwise (bookworm's arm64, trixie's riscv64: bookworm has no riscv64).
guest_busybox() {
    case $1 in
        x86_64) echo /bin/busybox ;;
        aarch64) echo "$(fetch_deb bookworm main arm64 busybox-static)/bin/busybox" ;;
        riscv64) echo "$(fetch_deb trixie main riscv64 busybox-static)/usr/bin/busybox" ;;
        *) die "unknown architecture $1" ;;
    esac
}

# The boot phase of a console log, in ms on the printk clock: from the kernel's
# "Run /init as init process" to the real init's first kmsg line ("GUEST: started").
boot_phase_ms() {
    tr -d '\r' < "$1" | sed -n 's/^\[ *\([0-9.]*\)\] \(Run \/init as init process\|GUEST: started\).*/\1/p' |
        awk 'NR == 1 { s = $1 } NR == 2 { printf "%.1f\n", ($1 - s) * 1000; exit }'
}
