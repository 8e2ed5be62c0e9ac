#!/usr/bin/env bash
# Containerized load test: builds static binaries and the image, starts the broker, runs a bounded
# produce and then consume benchmark in the load-generator container, prints both reports, and
# tears everything down, also on failure or Ctrl-C.
#
#   docker/loadtest.sh                       # 200k messages of 1000 bytes
#   BENCH_MESSAGES=20000 docker/loadtest.sh  # a short run (what CI does)
set -euo pipefail
cd "$(dirname "$0")/.."

export SLUICE_IMAGE=${SLUICE_IMAGE:-sluice:local}
export SLUICE_PORT=${SLUICE_PORT:-19393}
export BENCH_MESSAGES=${BENCH_MESSAGES:-200000}
export BENCH_MESSAGE_SIZE=${BENCH_MESSAGE_SIZE:-1000}
export BENCH_TOPIC=${BENCH_TOPIC:-load}
project=sluice-loadtest-$$
compose=(docker-compose -p "$project" -f docker/compose.yml)

teardown() {
    status=$?
    if [ $status -ne 0 ]; then
        echo "== load test failed (exit $status); broker logs:" >&2
        "${compose[@]}" logs --no-color broker >&2 || true
    fi
    "${compose[@]}" down --volumes --remove-orphans >/dev/null 2>&1 || true
    exit $status
}
trap teardown EXIT INT TERM

echo "== building static binaries"
docker/build-static.sh
echo "== building image $SLUICE_IMAGE"
docker build -q -t "$SLUICE_IMAGE" -f docker/Dockerfile docker/dist

echo "== starting broker on 127.0.0.1:$SLUICE_PORT"
"${compose[@]}" up -d broker
for _ in $(seq 1 60); do
    state=$(docker inspect -f '{{.State.Health.Status}}' "$("${compose[@]}" ps -q broker)" 2>/dev/null || true)
    [ "$state" = healthy ] && break
    sleep 1
done
[ "$state" = healthy ] || { echo "broker did not become healthy" >&2; exit 1; }

echo "== produce: $BENCH_MESSAGES messages of $BENCH_MESSAGE_SIZE bytes"
timeout 600 "${compose[@]}" run --rm loadgen
echo "== consume: $BENCH_MESSAGES messages"
timeout 600 "${compose[@]}" run --rm loadgen bench consume \
    --topic="$BENCH_TOPIC" --messages="$BENCH_MESSAGES" --consumers=2 --timeout-secs=120
echo "== load test passed"
