#!/usr/bin/env bash
# Peak memory (RSS) and throughput of `tusky upload` of a 1 GiB file at several chunk sizes,
# against @tus/server (the interop server, tests/interop/), measured with /usr/bin/time -v.
#
#   scripts/measure-memory.sh            # builds target/release/tusky, prints a markdown table
#
# - The file is 1 GiB of random bytes (/dev/urandom), not a sparse file: every byte is read
#   from the page cache and sent, as with a real file. It is made once and kept in
#   target/measure-memory/ (delete it to make a new one).
# - The server: if scripts/interop-servers.sh is already running (its `env` works), its
#   @tus/server (TUSKY_INTEROP_NODE_ENDPOINT) is used and left running; otherwise the script
#   starts the servers and stops them at the end.
# - Each run: /usr/bin/time -v target/release/tusky upload FILE ENDPOINT --chunk-size X
#   --no-resume --json, for X in 1MiB 8MiB 64MiB 256MiB 1GiB (one PATCH for the whole file).
#   "Maximum resident set size" is the peak RSS; MiB/s is tusky's own (bytes / seconds of
#   the upload, as in its --json output). Each upload is deleted on the server afterwards
#   (DELETE) so the server's disk does not fill up.
# - Client and server share the machine's cores: compare the rows with each other, and
#   MiB/s with other clients measured on the same machine in the same way.
#
# Knobs (env): SIZE_MIB (1024), CHUNKS ("1MiB 8MiB 64MiB 256MiB 1GiB"), RUNS (1: runs per
# chunk size; the table shows the largest RSS and the median MiB/s), NO_BUILD=1.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
SIZE_MIB=${SIZE_MIB:-1024}
CHUNKS=${CHUNKS:-"1MiB 8MiB 64MiB 256MiB 1GiB"}
RUNS=${RUNS:-1}
WORK="$ROOT/target/measure-memory"
FILE="$WORK/random-${SIZE_MIB}MiB.bin"
TUSKY="$ROOT/target/release/tusky"

say() { echo "measure-memory: $*" >&2; }
die() {
  say "error: $*"
  exit 1
}

[ -x /usr/bin/time ] || die "/usr/bin/time is missing (Debian: apt-get install time)"
command -v python3 >/dev/null || die "python3 is needed to read tusky's JSON output"

if [ "${NO_BUILD:-0}" != 1 ]; then
  say "cargo build --release -p tusky-cli"
  cargo build --release -p tusky-cli >&2
fi
[ -x "$TUSKY" ] || die "$TUSKY is missing"

mkdir -p "$WORK"
if [ ! -f "$FILE" ] || [ "$(stat -c %s "$FILE")" != $((SIZE_MIB * 1024 * 1024)) ]; then
  say "writing $SIZE_MIB MiB of random bytes to $FILE"
  head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom >"$FILE.tmp"
  mv "$FILE.tmp" "$FILE"
fi

STARTED_SERVERS=0
cleanup() {
  if [ "$STARTED_SERVERS" = 1 ]; then
    scripts/interop-servers.sh stop >&2 || true
  fi
}
trap cleanup EXIT
if ! scripts/interop-servers.sh env >/dev/null 2>&1; then
  say "starting the interop servers"
  STARTED_SERVERS=1
  scripts/interop-servers.sh start >&2
fi
# shellcheck disable=SC1091
source target/interop.env
ENDPOINT=${TUSKY_INTEROP_NODE_ENDPOINT:?target/interop.env has no TUSKY_INTEROP_NODE_ENDPOINT}
say "server: @tus/server at $ENDPOINT"

json_field() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))[sys.argv[2]]; print(v)' "$1" "$2"; }

ROWS=()
for chunk in $CHUNKS; do
  rss_max=0
  rates=()
  for run in $(seq 1 "$RUNS"); do
    out="$WORK/out.json"
    timing="$WORK/time.txt"
    # Warm the page cache so each run reads the file from memory, alike.
    cat "$FILE" >/dev/null
    if ! /usr/bin/time -v -o "$timing" "$TUSKY" upload "$FILE" "$ENDPOINT" \
      --chunk-size "$chunk" --no-resume --json >"$out" 2>"$WORK/stderr.txt"; then
      cat "$WORK/stderr.txt" >&2
      die "upload with --chunk-size $chunk failed"
    fi
    rss_kib=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$timing")
    rate=$(json_field "$out" mib_per_s)
    url=$(json_field "$out" url)
    bytes=$(json_field "$out" bytes)
    [ "$bytes" = $((SIZE_MIB * 1024 * 1024)) ] || die "uploaded $bytes bytes, not $((SIZE_MIB * 1024 * 1024))"
    "$TUSKY" delete "$url" >/dev/null 2>&1 || say "could not delete $url (the server keeps the file)"
    [ "$rss_kib" -gt "$rss_max" ] && rss_max=$rss_kib
    rates+=("$rate")
    say "chunk $chunk run $run: peak RSS $((rss_kib / 1024)) MiB, $(printf '%.0f' "$rate") MiB/s"
  done
  median=$(printf '%s\n' "${rates[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  ROWS+=("| $chunk | $(awk -v k="$rss_max" 'BEGIN {printf "%.1f", k/1024}') | $(printf '%.0f' "$median") |")
done

echo
echo "tusky upload of a ${SIZE_MIB} MiB random file to @tus/server on 127.0.0.1 ($(nproc) cores shared by client and server), $(date -u '+%Y-%m-%d')"
echo
echo "| chunk size | peak RSS (MiB) | MiB/s |"
echo "|---|---|---|"
printf '%s\n' "${ROWS[@]}"
