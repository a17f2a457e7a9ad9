#!/bin/sh
# Install everything libcocoimg needs to build and to run its test suite on
# Debian 12. Idempotent: packages already present are not touched, and the
# script prints nothing when there is nothing to do.
#   scripts/install-deps.sh          build + test dependencies
#   scripts/install-deps.sh --build  build dependencies only
set -eu

BUILD_PKGS="build-essential meson ninja-build pkg-config \
libarchive-dev libssl-dev libjansson-dev libcurl4-openssl-dev \
zlib1g-dev libzstd-dev libisal-dev libsodium-dev libyaml-dev libcmocka-dev"

TEST_PKGS="docker-registry skopeo umoci gnupg openssl g++ \
python3-grpcio python3-cryptography python3-protobuf \
clang libclang-rt-14-dev apache2-utils tar gzip zstd curl time bc bsdutils nodejs \
groff-base man-db zsh strace"
# npm: the test setup installs pinned sigstore-js peers with it (outside the
# tree); Debian's own package, unless the installed nodejs ships npm itself.
command -v npm >/dev/null 2>&1 || TEST_PKGS="$TEST_PKGS npm"

pkgs="$BUILD_PKGS"
[ "${1:-}" = "--build" ] || pkgs="$pkgs $TEST_PKGS"

missing=""
for p in $pkgs; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
echo "install-deps: installing:$missing" >&2
$SUDO apt-get update -qq >/dev/null
# docker-registry's maintainer scripts try to start a service; keep them quiet
# and never let a policy-rc.d failure stop the install.
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
