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
    # For tests/install.rs: the man pages rendered as man(1) renders them.
    command -v man >/dev/null || pkgs+=(man-db)
    command -v groff >/dev/null || pkgs+=(groff-base)
    # For tests/install.rs: the kernel-install plugin run by systemd's own.
    command -v kernel-install >/dev/null || pkgs+=(systemd)
    # For src/host/codec.rs: images and modules read back by the real tools.
    command -v zstd >/dev/null || pkgs+=(zstd)
    command -v xz >/dev/null || pkgs+=(xz-utils)
    if [ ${#pkgs[@]} -gt 0 ]; then
        log "installing ${pkgs[*]}"
        local sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
        $sudo apt-get update -q >/dev/null
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${pkgs[@]}" >/dev/null
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

# Fetch Debian's current cloud kernel for amd64 (resolving the metapackage to
# its versioned package), unpack it and run depmod. Prints the module tree's
# directory (/lib/modules/<release> shaped); the kernel image is
# <tree>/../../../boot/vmlinuz-<release>.
fetch_kernel() {
    local meta=${1:-linux-image-cloud-amd64} pkg deb dir release
    pkg=$(apt-cache depends "$meta" 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
    if [ -z "$pkg" ]; then
        local sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
        $sudo apt-get update -q >/dev/null
        pkg=$(apt-cache depends "$meta" | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
    fi
    [ -n "$pkg" ] || die "cannot resolve $meta to a versioned kernel package"
    dir=$MODBOOT_CACHE/kernels/$pkg
    if [ ! -f "$dir/.done" ]; then
        log "downloading $pkg"
        rm -rf "$dir" && mkdir -p "$dir/deb" "$dir/root"
        (cd "$dir/deb" && apt-get download -q "$pkg" >/dev/null) || die "apt-get download $pkg failed"
        deb=$(ls "$dir"/deb/*.deb)
        dpkg -x "$deb" "$dir/root"
        release=$(ls "$dir/root/lib/modules")
        depmod -b "$dir/root" "$release"
        touch "$dir/.done"
    fi
    release=$(ls "$dir/root/lib/modules")
    printf '%s\n' "$dir/root/lib/modules/$release"
}

# Fetch a Debian package from a suite or component this machine's apt
# sources do not list (bookworm's non-free-firmware, another release's
# suite), without changing them: apt runs with a private sources list, lists
# and cache under .cache/apt/<suite>-<component>-<arch>/, on the mirror the
# machine's apt already uses. apt checks the suite's InRelease signature
# with Debian's keyring and every index's and package's SHA256, as for any
# download. Prints the directory the package is unpacked in (dpkg -x).
#   fetch_deb SUITE COMPONENT ARCH PACKAGE
fetch_deb() {
    local suite=$1 component=$2 arch=$3 pkg=$4 dir mirror opts deb
    dir=$MODBOOT_CACHE/apt/$suite-$component-$arch
    if [ ! -f "$dir/unpacked/$pkg/.done" ]; then
        mirror=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' | awk '$2 == "bookworm" { print $1; exit }')
        [ -n "$mirror" ] || { apt-get update -q >/dev/null; mirror=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' | awk '$2 == "bookworm" { print $1; exit }'); }
        [ -n "$mirror" ] || die "no Debian mirror in this machine's apt sources"
        mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial" "$dir/debs"
        echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $suite $component" > "$dir/sources.list"
        opts=(-o "Dir::Etc::sourcelist=$dir/sources.list" -o Dir::Etc::sourceparts=/nonexistent
              -o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir/cache"
              -o "APT::Architecture=$arch" -o "APT::Architectures=$arch")
        [ -n "$(ls "$dir/lists" 2>/dev/null | grep Packages)" ] || apt-get "${opts[@]}" update -q >/dev/null ||
            die "apt-get update for $suite $component ($arch) failed"
        log "downloading $pkg ($suite $component $arch)"
        (cd "$dir/debs" && apt-get "${opts[@]}" download -q "$pkg" >/dev/null 2>&1) || die "apt-get download $pkg failed"
        deb=$(ls "$dir/debs/${pkg}_"*.deb | tail -1)
        rm -rf "$dir/unpacked/$pkg" && mkdir -p "$dir/unpacked/$pkg"
        dpkg -x "$deb" "$dir/unpacked/$pkg"
        touch "$dir/unpacked/$pkg/.done"
    fi
    printf '%s\n' "$dir/unpacked/$pkg"
}

# The boot phase of a console log, in ms on the printk clock: from the kernel's
# "Run /init as init process" to the real init's first kmsg line ("GUEST: started").
boot_phase_ms() {
    tr -d '\r' < "$1" | sed -n 's/^\[ *\([0-9.]*\)\] \(Run \/init as init process\|GUEST: started\).*/\1/p' |
        awk 'NR == 1 { s = $1 } NR == 2 { printf "%.1f\n", ($1 - s) * 1000; exit }'
}
