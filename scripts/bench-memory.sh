#!/usr/bin/env bash
# Peak memory of `gatewright translate` and steady-state RSS of `gatewright serve` at 1,000 and
# 10,000 routes (scripts/gen-scale.sh inputs in a temporary directory). Prints a Markdown table.
#
#   scripts/bench-memory.sh [SIZES...]        # default: 1000 10000
#
# Needs /usr/bin/time (Debian package `time`) and Envoy (for serve: $GATEWRIGHT_ENVOY, else
# .venv/bin/envoy from scripts/install-envoy.sh); everything listens on loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 10000)

if [ ! -x /usr/bin/time ]; then
  echo "installing GNU time" >&2
  apt-get install -y time >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y time >/dev/null; }
fi
envoy=${GATEWRIGHT_ENVOY:-$PWD/.venv/bin/envoy}
[ -x "$envoy" ] || scripts/install-envoy.sh >&2
cargo build --release -q -p gatewright-controller
bin=${CARGO_TARGET_DIR:-$PWD/target}/release/gatewright

work=$(mktemp -d)
serve_pid=
cleanup() {
  if [ -n "$serve_pid" ]; then kill "$serve_pid" 2>/dev/null || true; wait "$serve_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

kib() { awk '{printf "%.1f MiB", $1 / 1024}' <<<"$1"; }

echo "| routes | translate: peak RSS | translate: wall time | serve: steady RSS | serve: peak RSS (VmHWM) | serve: first translation |"
echo "|---:|---:|---:|---:|---:|---:|"
for n in "${sizes[@]}"; do
  dir=$work/in-$n
  port=$((20000 + RANDOM % 9000))
  scripts/gen-scale.sh "$n" "$dir" "$port"

  /usr/bin/time -v "$bin" translate -f "$dir" > /dev/null 2> "$work/time-$n.txt"
  t_rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time-$n.txt")
  t_wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/time-$n.txt")

  RUST_LOG=info "$bin" serve --config-dir "$dir" --envoy-path "$envoy" \
    --xds-address 127.0.0.1:0 --admin-address 127.0.0.1:0 --listen-address 127.0.0.1 \
    > "$work/serve-$n.log" 2>&1 &
  serve_pid=$!
  # Steady state: the first translation logged, then RSS unchanged (±1 %) over 3 seconds.
  for _ in $(seq 1 600); do
    grep -q '"translated"\|translated' "$work/serve-$n.log" && break
    kill -0 "$serve_pid" 2>/dev/null || { cat "$work/serve-$n.log" >&2; exit 1; }
    sleep 0.5
  done
  first=$(grep -o 'elapsed_ms=[0-9]*' "$work/serve-$n.log" | head -1 | cut -d= -f2 || true)
  prev=0
  for _ in $(seq 1 60); do
    sleep 1
    rss=$(awk '/^VmRSS/ {print $2}' /proc/$serve_pid/status)
    if [ "$prev" -gt 0 ] && [ $((rss * 100)) -le $((prev * 101)) ] && [ $((rss * 101)) -ge $((prev * 100)) ]; then
      stable=$((stable + 1))
    else
      stable=0
    fi
    prev=$rss
    [ "${stable:-0}" -ge 3 ] && break
  done
  hwm=$(awk '/^VmHWM/ {print $2}' /proc/$serve_pid/status)
  kill "$serve_pid"; wait "$serve_pid" 2>/dev/null || true; serve_pid=
  echo "| $n | $(kib "$t_rss") | $t_wall | $(kib "$rss") | $(kib "$hwm") | ${first:-?} ms |"
done
