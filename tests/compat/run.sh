#!/usr/bin/env bash
# Kafka compatibility suite: real Kafka clients (kcat, kafka-python,
# confluent-kafka) against sluice-broker's Kafka listener.
#
#   tests/compat/run.sh [pytest args...]
#
# Starts one broker (native listener and --kafka-listen both on free loopback
# ports, a temporary data directory), runs the pytest suite in this folder
# against it, stops the broker, and exits non-zero on any failure.
#
# Environment:
#   SLUICE_BROKER_BIN   broker binary; default: build target/release/sluice-broker
#   SLUICE_CLI_BIN      the `sluice` CLI; default: next to the broker binary
#   SLUICE_COMPAT_CACHE where the virtualenv lives; default ~/.cache/sluice-compat
#   CI=true             a missing client is a failure instead of a skip
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
ci="${CI:-false}"
cache="${SLUICE_COMPAT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sluice-compat}"

log() { echo "compat: $*" >&2; }
missing() {
    if [ "$ci" = "true" ]; then
        log "FAIL: $* (CI=true: a missing client is a failure)"
        exit 1
    fi
    log "warning: $* (the tests that need it will be skipped)"
}

# --- binaries -----------------------------------------------------------------
if [ -z "${SLUICE_BROKER_BIN:-}" ]; then
    log "building sluice-broker and sluice (release)"
    (cd "$root" && cargo build --release -p sluice-broker -p sluice-cli)
    SLUICE_BROKER_BIN="$root/target/release/sluice-broker"
fi
SLUICE_CLI_BIN="${SLUICE_CLI_BIN:-$(dirname "$SLUICE_BROKER_BIN")/sluice}"
[ -x "$SLUICE_BROKER_BIN" ] || { log "FAIL: no broker binary at $SLUICE_BROKER_BIN"; exit 1; }
[ -x "$SLUICE_CLI_BIN" ] || missing "no sluice CLI at $SLUICE_CLI_BIN"
export SLUICE_BROKER_BIN SLUICE_CLI_BIN

# --- kcat (Debian package) ----------------------------------------------------
if ! command -v kcat >/dev/null 2>&1; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        log "installing kcat"
        timeout 600 apt-get update -qq >/dev/null || true
        DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq kcat >/dev/null || true
    fi
fi
command -v kcat >/dev/null 2>&1 || missing "kcat is not installed"

# --- Python clients (PyPI, in a virtualenv) -----------------------------------
venv="$cache/.venv"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    log "creating $venv"
    mkdir -p "$cache"
    python3 -m venv "$venv"
    if timeout 900 "$venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements.txt"; then
        echo "$want" >"$stamp"
    else
        log "FAIL: pip install -r requirements.txt failed"
        exit 1
    fi
fi
python="$venv/bin/python"

# --- the broker ---------------------------------------------------------------
work="$(mktemp -d "${TMPDIR:-/tmp}/sluice-compat.XXXXXX")"
broker_pid=""
cleanup() {
    if [ -n "$broker_pid" ] && kill -0 "$broker_pid" 2>/dev/null; then
        kill -TERM "$broker_pid" 2>/dev/null || true
        for _ in $(seq 1 100); do
            kill -0 "$broker_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$broker_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

"$SLUICE_BROKER_BIN" \
    --data-dir "$work/data" \
    --listen 127.0.0.1:0 \
    --kafka-listen 127.0.0.1:0 \
    --auto-create-topics \
    --default-partitions 1 \
    --default-segment-bytes 16777216 \
    --group-initial-rebalance-delay-ms 300 \
    >"$work/broker.out" 2>"$work/broker.log" &
broker_pid=$!

native="" kafka=""
for _ in $(seq 1 300); do
    native="$(sed -n 's/^sluice-broker listening on //p' "$work/broker.out")"
    kafka="$(sed -n 's/^sluice-broker kafka listening on //p' "$work/broker.out")"
    [ -n "$native" ] && [ -n "$kafka" ] && break
    kill -0 "$broker_pid" 2>/dev/null || break
    sleep 0.1
done
if [ -z "$kafka" ]; then
    log "FAIL: the broker did not start"
    cat "$work/broker.log" >&2
    exit 1
fi
log "broker pid $broker_pid: native $native, kafka $kafka"

# --- the suite ----------------------------------------------------------------
set +e
SLUICE_KAFKA="$kafka" SLUICE_NATIVE="$native" SLUICE_COMPAT_DATA_DIR="$work/data" CI="$ci" \
    timeout 1200 "$python" -m pytest -p no:cacheprovider -W ignore::DeprecationWarning -v "$here" "$@"
status=$?
set -e

if ! kill -0 "$broker_pid" 2>/dev/null; then
    log "FAIL: the broker died during the suite"
    status=1
fi
if [ "$status" -ne 0 ]; then
    log "broker log tail:"
    tail -n 40 "$work/broker.log" >&2
fi
exit "$status"
