# Shared by run.sh and test.sh: install what is missing, then configure and build incrementally.
# Sourced, not run.

KVMSCOPE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KVMSCOPE_BUILD=${KVMSCOPE_BUILD:-$KVMSCOPE_ROOT/build}

# Debian 12 packages kvmscope needs to build, run and test.
KVMSCOPE_PACKAGES=(
    build-essential cmake ninja-build ccache pkg-config
    qt6-base-dev qt6-charts-dev libqt6opengl6-dev libspdlog-dev libfmt-dev libvterm-dev libzydis-dev
    liblzma-dev zlib1g-dev libzstd-dev
    fonts-dejavu-core desktop-file-utils appstream
    binutils gcc
    qt6-qpa-plugins xvfb xauth
    clang libclang-rt-14-dev
    gdb acpica-tools
    qemu-system-x86
    seabios
    grub-pc-bin grub-common xorriso mtools e2fsprogs
)

log_step() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

install_packages() {
    local missing=()
    local package
    for package in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$package")
        fi
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    log_step "installing ${missing[*]}"
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || { echo "kvmscope: need root (or sudo) to install: ${missing[*]}" >&2; return 1; }
        sudo=(sudo)
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# One compiler cache for every checkout of kvmscope: paths below the checkout are hashed as
# relative paths, and the build directory is left out of the hash, so a fresh clone elsewhere
# (CI's) reuses what an earlier build compiled. Debug info of cached objects then names the
# directory of the build that compiled them first.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$KVMSCOPE_ROOT}"
export CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"

configure_and_build() {
    local jobs
    jobs=$(nproc)
    if [ ! -f "$KVMSCOPE_BUILD/build.ninja" ]; then
        log_step "configuring in $KVMSCOPE_BUILD"
        cmake -S "$KVMSCOPE_ROOT" -B "$KVMSCOPE_BUILD" -G Ninja \
            -DCMAKE_BUILD_TYPE=RelWithDebInfo \
            -DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache "$@" >/dev/null
    fi
    log_step "building"
    cmake --build "$KVMSCOPE_BUILD" -j "$jobs"
}

# Whether this host's /dev/kvm can run guests: prints nothing and succeeds, or prints why not.
kvm_unusable_reason() {
    if [ ! -e /dev/kvm ]; then
        echo "this host has no /dev/kvm (no VMX/SVM, or kvm_intel/kvm_amd not loaded)"
    elif [ ! -c /dev/kvm ]; then
        echo "/dev/kvm is not a character device"
    elif [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
        echo "/dev/kvm is not readable and writable for $(id -un) (be root or in the kvm group)"
    else
        return 1
    fi
}
