#!/usr/bin/env bash
# Peak memory (RSS) and throughput of `tusky upload` of a 1 GiB file at several chunk sizes,
# against @tus/server (the interop server, tests/interop/), measured with /usr/bin/time -v.
#
#   scripts/measure-memory.sh            # builds target/release/tusky, prints a markdown table
#   scripts/measure-memory.sh bundled    # the bundled server instead (see below)
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
# `bundled` measures tusky's own streaming server (no interop servers needed):
# - `tusky serve` (its peak RSS, under /usr/bin/time -v) receiving the file as one streamed
#   PATCH from curl, then from `tusky upload FILE ENDPOINT` with default settings; the server
#   is stopped with SIGINT after each and its directory emptied;
# - `tusky upload FILE` with no endpoint: a LOCAL upload, client and bundled server in one
#   process (its peak RSS).
#
# Knobs (env): SIZE_MIB (1024), CHUNKS ("1MiB 8MiB 64MiB 256MiB 1GiB"), RUNS (1: runs per
# chunk size; the table shows the largest RSS and the median MiB/s), NO_BUILD=1. The binary
# is ${CARGO_TARGET_DIR:-target}/release/tusky.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
SIZE_MIB=${SIZE_MIB:-1024}
CHUNKS=${CHUNKS:-"1MiB 8MiB 64MiB 256MiB 1GiB"}
RUNS=${RUNS:-1}
WORK="$ROOT/target/measure-memory"
FILE="$WORK/random-${SIZE_MIB}MiB.bin"
TUSKY="${CARGO_TARGET_DIR:-$ROOT/target}/release/tusky"
MODE=${1:-client}
case "$MODE" in
  client | bundled) ;;
  *)
    echo "usage: $0 [client|bundled]" >&2
    exit 2
    ;;
esac

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

json_field() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))[sys.argv[2]]; print(v)' "$1" "$2"; }
# peak RSS in MiB from a /usr/bin/time -v output file
rss_mib() { awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2 / 1024}' "$1"; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

# serve_receiving LABEL CLIENT: `tusky serve` under /usr/bin/time while CLIENT (a function
# given the endpoint) uploads $FILE; adds a row with the server's peak RSS and CLIENT's MiB/s.
serve_receiving() {
  local label=$1 client=$2 dir="$WORK/served" port timing="$WORK/serve-time.txt" out="$WORK/serve-out.txt"
  rm -rf "$dir"
  port=$(free_port)
  /usr/bin/time -v -o "$timing" "$TUSKY" serve --port "$port" --dir "$dir" >"$out" 2>"$WORK/serve-err.txt" &
  local timer=$! server="" endpoint=""
  for _ in $(seq 300); do
    endpoint=$(head -n1 "$out" 2>/dev/null || true)
    [ -n "$endpoint" ] && break
    sleep 0.1
  done
  [ -n "$endpoint" ] || die "tusky serve did not print its endpoint: $(cat "$WORK/serve-err.txt")"
  # /usr/bin/time ignores SIGINT: the signal goes to the server, its child.
  server=$(pgrep -P "$timer")
  cat "$FILE" >/dev/null
  local started ended rate
  started=$(date +%s.%N)
  "$client" "$endpoint"
  ended=$(date +%s.%N)
  rate=$(awk -v b=$((SIZE_MIB * 1024 * 1024)) -v s="$started" -v e="$ended" 'BEGIN {printf "%.0f", b / 1048576 / (e - s)}')
  kill -INT "$server"
  wait "$timer" || die "tusky serve failed: $(cat "$WORK/serve-err.txt")"
  local stored
  stored=$(find "$dir" -maxdepth 1 -type f ! -name '*.*' -size "$((SIZE_MIB * 1024))k" | wc -l)
  [ "$stored" -ge 1 ] || die "the server holds no ${SIZE_MIB} MiB file after: $label"
  say "$label: server peak RSS $(rss_mib "$timing") MiB, $rate MiB/s"
  ROWS+=("| \`tusky serve\` receiving $label | $(rss_mib "$timing") | $rate |")
  rm -rf "$dir"
}

curl_one_patch() {
  local location
  location=$(curl -sS -D - -o /dev/null -X POST "$1" -H 'Tus-Resumable: 1.0.0' \
    -H "Upload-Length: $((SIZE_MIB * 1024 * 1024))" | tr -d '\r' | awk -F': ' 'tolower($1) == "location" {print $2}')
  [ -n "$location" ] || die "curl: no Location from $1"
  curl -sS -f -o /dev/null -X PATCH "$location" -H 'Tus-Resumable: 1.0.0' -H 'Upload-Offset: 0' \
    -H 'Content-Type: application/offset+octet-stream' -T "$FILE" || die "curl: the PATCH failed"
}

tusky_default() {
  "$TUSKY" upload "$FILE" "$1" --no-resume --json >"$WORK/out.json" 2>"$WORK/stderr.txt" ||
    die "tusky upload failed: $(cat "$WORK/stderr.txt")"
}

measure_bundled() {
  ROWS=()
  serve_receiving "one ${SIZE_MIB} MiB PATCH (curl)" curl_one_patch
  serve_receiving "\`tusky upload FILE ENDPOINT\` (defaults)" tusky_default
  local timing="$WORK/local-time.txt" out="$WORK/out.json"
  rm -rf "$WORK/local"
  cat "$FILE" >/dev/null
  /usr/bin/time -v -o "$timing" "$TUSKY" upload "$FILE" --local-dir "$WORK/local" --json >"$out" 2>"$WORK/stderr.txt" ||
    die "the LOCAL upload failed: $(cat "$WORK/stderr.txt")"
  [ "$(json_field "$out" verified)" = True ] || die "the LOCAL upload was not verified"
  say "LOCAL upload: peak RSS $(rss_mib "$timing") MiB, $(printf '%.0f' "$(json_field "$out" mib_per_s)") MiB/s"
  ROWS+=("| \`tusky upload FILE\` (LOCAL: client and bundled server in one process) | $(rss_mib "$timing") | $(printf '%.0f' "$(json_field "$out" mib_per_s)") |")
  rm -rf "$WORK/local"
  echo
  echo "tusky's bundled streaming server and a ${SIZE_MIB} MiB random file on 127.0.0.1 ($(nproc) cores shared by client and server), $(date -u '+%Y-%m-%d')"
  echo
  echo "| what | peak RSS (MiB) | MiB/s |"
  echo "|---|---|---|"
  printf '%s\n' "${ROWS[@]}"
}

if [ "$MODE" = bundled ]; then
  need_curl=$(command -v curl || true)
  [ -n "$need_curl" ] || die "curl is needed for the bundled mode"
  measure_bundled
  exit 0
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
