#!/usr/bin/env bash
# Builds statically linked (glibc, crt-static) sluice-broker and sluice into docker/dist/, the
# build context of docker/Dockerfile.
set -euo pipefail
cd "$(dirname "$0")/.."
target=x86_64-unknown-linux-gnu
RUSTFLAGS="-C target-feature=+crt-static" cargo build --release --locked --target "$target" \
    -p sluice-broker -p sluice-cli
mkdir -p docker/dist
cp "target/$target/release/sluice-broker" "target/$target/release/sluice" docker/dist/
# The release profile keeps line tables for profiling; the image does not need them.
strip --strip-debug docker/dist/sluice-broker docker/dist/sluice
# A static binary has no interpreter; refuse to ship a dynamic one by mistake.
for bin in docker/dist/sluice-broker docker/dist/sluice; do
    if readelf -l "$bin" | grep -q 'Requesting program interpreter'; then
        echo "error: $bin is dynamically linked" >&2
        exit 1
    fi
done
echo "static binaries in docker/dist: $(ls docker/dist | tr '\n' ' ')"
