#!/usr/bin/env bash
# Throughput, CPU and memory of tus clients against real servers, from one run on this machine:
# curl's single PATCH (the practical ceiling) and curl's own loop of 1 MiB PATCHes on one
# connection (the ceiling for 1 MiB chunks), tusky (default settings, 1 MiB, 8 MiB, 8 MiB with
# sha256), tuspy and tus-js-client (8 MiB), against @tus/server and `tusky serve`.
#
#   scripts/bench-peers.sh                      # 256 MiB file, 3 runs each, median
#   BENCH_SIZE_MIB=1024 BENCH_RUNS=5 scripts/bench-peers.sh
#   BENCH_SERVERS="tusky" BENCH_CLIENTS="curl tusky-default tusky-1M" scripts/bench-peers.sh
#   BENCH_TUSKY=/path/to/another/tusky BENCH_NO_BUILD=1 scripts/bench-peers.sh   # another build
#
# Prints one table per server: median MiB/s (wall time of the whole client process, start-up
# included), its ratio to curl's, client CPU seconds (user + sys) per GiB and its ratio to curl's,
# and the client's peak RSS; then the server's own peak RSS (VmHWM) over all its uploads.
# The machine is shared and noisy: compare ratios from one run, never numbers from two runs.
#
# Needs: cargo, node + npm, python3, curl, GNU time (/usr/bin/time). Installs what is missing:
# the release CLI (cargo build --release), @tus/server and tuspy (scripts/interop-servers.sh
# install), tus-js-client (npm, under target/bench-peers/node). Everything listens on 127.0.0.1.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK="$ROOT/target/bench-peers"
SIZE_MIB=${BENCH_SIZE_MIB:-256}
RUNS=${BENCH_RUNS:-3}
SERVERS=${BENCH_SERVERS:-"node tusky"}
CLIENTS=${BENCH_CLIENTS:-"curl curl-1M tusky-default tusky-1M tusky-8M tusky-8M-sha256 tuspy-8M tusjs-8M"}
TUSJS_VERSION=4.3.1
TUSKY=${BENCH_TUSKY:-"$ROOT/target/release/tusky"}
BENCH="$ROOT/scripts/bench"
SERVER_PID=
SERVER_DATA=
ENDPOINT=

say() { echo "bench-peers: $*" >&2; }
die() {
  say "error: $*"
  exit 1
}

stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
  fi
  if [ -n "$SERVER_DATA" ]; then
    rm -rf "$SERVER_DATA"
    SERVER_DATA=
  fi
}
trap stop_server EXIT

install() {
  [ -x /usr/bin/time ] || die "GNU time (/usr/bin/time) is needed: apt-get install time"
  if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
    say "cargo build --release -p tusky-cli"
    (cd "$ROOT" && cargo build -q --release -p tusky-cli)
  fi
  [ -x "$TUSKY" ] || die "no tusky binary at $TUSKY"
  "$ROOT/scripts/interop-servers.sh" install
  if [ ! -d "$WORK/node/node_modules/tus-js-client" ]; then
    say "npm install tus-js-client@$TUSJS_VERSION into $WORK/node"
    mkdir -p "$WORK/node"
    (cd "$WORK/node" && { [ -f package.json ] || echo '{"private":true}' >package.json; } &&
      npm install --no-audit --no-fund --loglevel=error "tus-js-client@$TUSJS_VERSION" >&2)
  fi
}

# The test file: random bytes, made once per size.
test_file() {
  local file="$WORK/data-${SIZE_MIB}MiB.bin"
  if [ ! -f "$file" ] || [ "$(stat -c %s "$file")" != $((SIZE_MIB * 1048576)) ]; then
    say "writing $file"
    head -c $((SIZE_MIB * 1048576)) /dev/urandom >"$file.tmp"
    mv "$file.tmp" "$file"
  fi
  echo "$file"
}

# pieces FILE BYTES: FILE split into BYTES-sized pieces (made once, outside any timing); prints
# their directory.
pieces() {
  local file=$1 bytes=$2 dir
  dir="$WORK/pieces-$(basename "$file")-$bytes"
  if [ ! -f "$dir/.done" ]; then
    rm -rf "$dir"
    mkdir -p "$dir"
    split -b "$bytes" -d -a 6 "$file" "$dir/p."
    touch "$dir/.done"
  fi
  echo "$dir"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# start_server NAME: starts it on a free port with a fresh data dir; sets SERVER_PID,
# SERVER_DATA and ENDPOINT (so it must not run in a subshell).
start_server() {
  local name=$1 port endpoint deadline
  port=$(free_port)
  SERVER_DATA=$(mktemp -d "${TMPDIR:-/tmp}/tusky-bench.XXXXXX")
  case "$name" in
    node)
      PORT=$port DATA_DIR=$SERVER_DATA node "$ROOT/tests/interop/tus-node-server.mjs" \
        >"$WORK/server-$name.log" 2>&1 &
      endpoint="http://127.0.0.1:$port/files/"
      ;;
    tusky)
      "$TUSKY" serve --port "$port" --dir "$SERVER_DATA" >"$WORK/server-$name.log" 2>&1 &
      endpoint="http://127.0.0.1:$port/files/"
      ;;
    *) die "unknown server $name (node, tusky)" ;;
  esac
  SERVER_PID=$!
  deadline=$((SECONDS + 30))
  until curl -s -o /dev/null -X OPTIONS "$endpoint"; do
    kill -0 "$SERVER_PID" 2>/dev/null || die "$name exited: $(cat "$WORK/server-$name.log")"
    [ "$SECONDS" -lt "$deadline" ] || die "$name did not answer on $endpoint"
    sleep 0.2
  done
  ENDPOINT=$endpoint
}

# The server's peak resident memory so far, in MiB.
server_peak_mib() {
  awk '/^VmHWM:/ {printf "%.0f", $2 / 1024}' "/proc/$SERVER_PID/status" 2>/dev/null || echo "?"
}

# client_command NAME ENDPOINT FILE: the command line of one client upload.
client_command() {
  local name=$1 endpoint=$2 file=$3
  local tusky=("$TUSKY" upload "$file" "$endpoint" --no-resume --json)
  case "$name" in
    curl) echo "$BENCH/curl_single_patch.sh $endpoint $file" ;;
    curl-1M) echo "$BENCH/curl_chunked.sh $endpoint $file $(pieces "$file" 1048576)" ;;
    tusky-default) echo "${tusky[*]}" ;;
    tusky-1M) echo "${tusky[*]} --chunk-size 1MiB" ;;
    tusky-8M) echo "${tusky[*]} --chunk-size 8MiB" ;;
    tusky-8M-sha256) echo "${tusky[*]} --chunk-size 8MiB --checksum sha256" ;;
    tuspy-8M) echo "$ROOT/tests/interop/.venv-client/bin/python $BENCH/tuspy_upload.py $endpoint $file 8388608" ;;
    tusjs-8M) echo "env TUSJS_DIR=$WORK/node node $BENCH/tusjs_upload.mjs $endpoint $file 8388608" ;;
    *) die "unknown client $name" ;;
  esac
}

# measure CMD...: runs it under GNU time; prints "elapsed cpu_seconds peak_kib".
measure() {
  local out="$WORK/time.out"
  /usr/bin/time -f '%e %U %S %M' -o "$out" "$@" >"$WORK/client.out" 2>"$WORK/client.err" ||
    die "failed: $* ($(tail -n3 "$WORK/client.err"))"
  awk '{printf "%s %.3f %s\n", $1, $2 + $3, $4}' "$out"
}

median() { sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

bench_server() {
  local server=$1 file=$2 client endpoint run line peak
  local size_gib
  size_gib=$(awk -v m="$SIZE_MIB" 'BEGIN {print m / 1024}')
  declare -A mibs cpus rss
  peak=0
  for client in $CLIENTS; do
    start_server "$server"
    endpoint=$ENDPOINT
    local e=() c=() r=()
    for run in $(seq "$RUNS"); do
      # shellcheck disable=SC2046
      line=$(measure $(client_command "$client" "$endpoint" "$file"))
      read -r elapsed cpu kib <<<"$line"
      e+=("$(awk -v s="$SIZE_MIB" -v t="$elapsed" 'BEGIN {printf "%.1f", s / t}')")
      c+=("$(awk -v c="$cpu" -v g="$size_gib" 'BEGIN {printf "%.2f", c / g}')")
      r+=("$(awk -v k="$kib" 'BEGIN {printf "%.0f", k / 1024}')")
      say "$server $client run $run: ${e[-1]} MiB/s, ${c[-1]} CPU s/GiB, ${r[-1]} MiB RSS"
      find "$SERVER_DATA" -mindepth 1 -delete 2>/dev/null || true
    done
    mibs[$client]=$(printf '%s\n' "${e[@]}" | median)
    cpus[$client]=$(printf '%s\n' "${c[@]}" | median)
    rss[$client]=$(printf '%s\n' "${r[@]}" | median)
    local p
    p=$(server_peak_mib)
    [ "$p" != "?" ] && [ "$p" -gt "$peak" ] && peak=$p
    stop_server
  done
  echo
  echo "### $server — ${SIZE_MIB} MiB, median of $RUNS"
  echo
  echo "| client | MiB/s | × curl | CPU s/GiB | × curl | peak RSS MiB |"
  echo "|---|---|---|---|---|---|"
  for client in $CLIENTS; do
    local x_speed="—" x_cpu="—"
    if [ -n "${mibs[curl]:-}" ]; then
      x_speed=$(awk -v a="${mibs[$client]}" -v b="${mibs[curl]}" 'BEGIN {printf "%.2f", a / b}')
      x_cpu=$(awk -v a="${cpus[$client]}" -v b="${cpus[curl]}" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')
    fi
    echo "| $client | ${mibs[$client]} | $x_speed | ${cpus[$client]} | $x_cpu | ${rss[$client]} |"
  done
  echo
  echo "server peak RSS over one client's uploads (max): $peak MiB"
}

main() {
  mkdir -p "$WORK"
  install
  local file server
  file=$(test_file)
  say "$(nproc) cores; file $file; servers: $SERVERS; clients: $CLIENTS; $RUNS runs"
  for server in $SERVERS; do
    bench_server "$server" "$file"
  done
}

main "$@"
