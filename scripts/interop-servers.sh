#!/usr/bin/env bash
# Starts and stops the real tus servers that tusky's interop tests run against.
#
#   scripts/interop-servers.sh start    # install what's missing, start the servers, write target/interop.env
#   source target/interop.env           # exports TUSKY_INTEROP_* for `cargo test`
#   scripts/interop-servers.sh env      # print the env file (fails if the servers are not running)
#   scripts/interop-servers.sh status   # which servers are running
#   scripts/interop-servers.sh stop     # stop them and remove their data dirs
#   scripts/interop-servers.sh install  # only install (npm ci, the two Python venvs)
#
# Servers (all on 127.0.0.1, on free ports picked at start):
#   node           @tus/server 2.4.5 + FileStore            (tests/interop/tus-node-server.mjs)
#   node-expiring  the same with EXPIRE_MS (default 3000)   (expiration scenario)
#   py             tuspyserver 4.4.3 under uvicorn          (tests/interop/tuspyserver_app.py)
#   rustus         rustus 0.5.10 built with its `hashers` feature: verifies Upload-Checksum
#                  (cargo install --debug into $TUSKY_TOOLS_DIR, ~2 min once, then cached)
# plus the tuspy client venv, whose python goes into TUSKY_INTEROP_TUSPY_PYTHON.
#
# Knobs (env): TUSKY_INTEROP_EXPIRE_MS (3000), TUSKY_INTEROP_START_TIMEOUT (seconds, 60),
#   TUSKY_INTEROP_KEEP_DATA=1 (stop leaves the data dirs), PYTHON (python3),
#   TUSKY_TOOLS_DIR (where built tools are cached: ${XDG_CACHE_HOME:-~/.cache}/tusky-tools).
# See tests/interop/README.md for what each server answers and where it stores bytes.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
INTEROP="$ROOT/tests/interop"
STATE="$ROOT/target/interop"
ENV_FILE="$ROOT/target/interop.env"
SERVERS=(node node-expiring py rustus)
PYTHON=${PYTHON:-python3}
EXPIRE_MS=${TUSKY_INTEROP_EXPIRE_MS:-3000}
START_TIMEOUT=${TUSKY_INTEROP_START_TIMEOUT:-60}
TOOLS_DIR=${TUSKY_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tusky-tools}
RUSTUS_VERSION=0.5.10
RUSTUS_ROOT="$TOOLS_DIR/rustus-$RUSTUS_VERSION-hashers"
RUSTUS="$RUSTUS_ROOT/bin/rustus"

say() { echo "interop-servers: $*" >&2; }
die() {
  say "error: $*"
  exit 1
}

need() {
  command -v "$1" >/dev/null 2>&1 || die "'$1' is not on PATH ($2)"
}

# A hash of the given files, to tell whether an install is up to date.
stamp_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

install_node() {
  need node "Node.js >= 20.19 is needed for @tus/server"
  need npm "npm comes with Node.js"
  local want have=""
  want=$(stamp_of "$INTEROP/package.json" "$INTEROP/package-lock.json")
  [ -f "$INTEROP/node_modules/.tusky-stamp" ] && have=$(cat "$INTEROP/node_modules/.tusky-stamp")
  if [ "$want" != "$have" ] || [ ! -d "$INTEROP/node_modules/@tus/server" ]; then
    say "npm ci in tests/interop"
    (cd "$INTEROP" && npm ci --no-audit --no-fund --loglevel=error) >&2
    echo "$want" >"$INTEROP/node_modules/.tusky-stamp"
  fi
}

# install_venv DIR REQUIREMENTS
install_venv() {
  local venv=$1 req=$2 want have=""
  need "$PYTHON" "Python 3 with the venv module"
  want=$(stamp_of "$req"; "$PYTHON" --version 2>&1)
  want=$(echo "$want" | sha256sum | cut -d' ' -f1)
  [ -f "$venv/.tusky-stamp" ] && have=$(cat "$venv/.tusky-stamp")
  if [ "$want" != "$have" ] || [ ! -x "$venv/bin/python" ]; then
    if [ ! -x "$venv/bin/python" ]; then
      say "creating $(basename "$venv")"
      rm -rf "$venv"
      "$PYTHON" -m venv "$venv" >&2
    fi
    say "pip install -r $(basename "$req") into $(basename "$venv")"
    "$venv/bin/python" -m pip install --disable-pip-version-check --no-input -q -r "$req" >&2
    echo "$want" >"$venv/.tusky-stamp"
  fi
}

# rustus from crates.io, pinned, with the `hashers` feature (real checksum verification).
# A debug build: ~2 min on 2 cores instead of ~9 for a release one, and fast enough for tests.
# Cached under $TOOLS_DIR, keyed by version and features.
install_rustus() {
  if [ -x "$RUSTUS" ] && "$RUSTUS" --version 2>/dev/null | grep -qF "$RUSTUS_VERSION"; then
    return 0
  fi
  need cargo "rustus is built from crates.io"
  say "cargo install rustus $RUSTUS_VERSION --features hashers (debug build, once) into $RUSTUS_ROOT"
  cargo install rustus --version "$RUSTUS_VERSION" --features hashers --debug --locked \
    --root "$RUSTUS_ROOT" >&2
}

install_all() {
  install_rustus
  install_node
  install_venv "$INTEROP/.venv-server" "$INTEROP/requirements-server.txt"
  install_venv "$INTEROP/.venv-client" "$INTEROP/requirements-client.txt"
}

free_port() {
  "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# alive = exists and is not a zombie (a stopped server can stay a zombie until init reaps it)
pid_alive() {
  [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null || return 1
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true)
  [ -n "$state" ] && [ "$state" != Z ]
}

running_pid() { # running_pid NAME -> prints the pid if that server is running
  local f="$STATE/$1.pid" pid
  [ -f "$f" ] || return 1
  pid=$(cat "$f")
  pid_alive "$pid" || return 1
  # the pid must still be our server, not a process that got the number later
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qE 'tus-node-server\.mjs|tuspyserver_app\.py|rustus' || return 1
  echo "$pid"
}

stop_all() {
  local name pid stopped=0
  for name in "${SERVERS[@]}"; do
    if pid=$(running_pid "$name"); then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do
        pid_alive "$pid" || break
        sleep 0.1
      done
      if pid_alive "$pid"; then
        say "$name (pid $pid) ignored SIGTERM; sending SIGKILL"
        kill -9 "$pid" 2>/dev/null || true
      fi
      stopped=$((stopped + 1))
    fi
    rm -f "$STATE/$name.pid"
  done
  if [ -f "$STATE/data-root" ]; then
    local data
    data=$(cat "$STATE/data-root")
    if [ "${TUSKY_INTEROP_KEEP_DATA:-0}" = 1 ]; then
      say "keeping data in $data"
    else
      case "$data" in */tusky-interop.*) rm -rf "$data" ;; esac
    fi
    rm -f "$STATE/data-root"
  fi
  rm -f "$ENV_FILE"
  say "stopped $stopped server(s)"
}

# launch NAME PORT DATA_DIR CMD... : starts one server in its own session, logs to $STATE/NAME.log
launch() {
  local name=$1 port=$2 data=$3
  shift 3
  mkdir -p "$data"
  PORT=$port DATA_DIR=$data setsid "$@" >"$STATE/$name.log" 2>&1 </dev/null &
  echo $! >"$STATE/$name.pid"
}

# wait_ready NAME ENDPOINT: polls OPTIONS until 200/204, the process dies, or the timeout passes
wait_ready() {
  local name=$1 url=$2 deadline code pid
  pid=$(cat "$STATE/$name.pid")
  deadline=$((SECONDS + START_TIMEOUT))
  while :; do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 -X OPTIONS "$url" 2>/dev/null || true)
    case "$code" in 200 | 204) return 0 ;; esac
    if ! pid_alive "$pid"; then
      say "$name exited before answering OPTIONS on $url; its log ($STATE/$name.log):"
      sed 's/^/    /' "$STATE/$name.log" >&2 || true
      return 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      say "$name did not answer OPTIONS on $url within ${START_TIMEOUT}s (last status: ${code:-none}); its log ($STATE/$name.log):"
      sed 's/^/    /' "$STATE/$name.log" >&2 || true
      return 1
    fi
    sleep 0.2
  done
}

start_all() {
  need curl "used to wait for the servers"
  install_all
  mkdir -p "$STATE"
  if running_pid node >/dev/null || running_pid node-expiring >/dev/null || running_pid py >/dev/null || running_pid rustus >/dev/null; then
    say "servers already running: restarting them"
  fi
  stop_all 2>/dev/null || true

  local data_root
  data_root=$(mktemp -d "${TMPDIR:-/tmp}/tusky-interop.XXXXXX")
  echo "$data_root" >"$STATE/data-root"

  local p_node p_exp p_py p_rustus
  p_node=$(free_port)
  p_exp=$(free_port)
  p_py=$(free_port)
  p_rustus=$(free_port)
  while [ "$p_exp" = "$p_node" ]; do p_exp=$(free_port); done
  while [ "$p_py" = "$p_node" ] || [ "$p_py" = "$p_exp" ]; do p_py=$(free_port); done
  while [ "$p_rustus" = "$p_node" ] || [ "$p_rustus" = "$p_exp" ] || [ "$p_rustus" = "$p_py" ]; do
    p_rustus=$(free_port)
  done

  local e_node="http://127.0.0.1:$p_node/files/"
  local e_exp="http://127.0.0.1:$p_exp/files/"
  local e_py="http://127.0.0.1:$p_py/files/"
  local e_rustus="http://127.0.0.1:$p_rustus/files/"

  launch node "$p_node" "$data_root/node" node "$INTEROP/tus-node-server.mjs"
  launch node-expiring "$p_exp" "$data_root/node-expiring" env EXPIRE_MS="$EXPIRE_MS" node "$INTEROP/tus-node-server.mjs"
  launch py "$p_py" "$data_root/py" "$INTEROP/.venv-server/bin/python" "$INTEROP/tuspyserver_app.py"
  # rustus refuses PATCH bodies over 256 KiB by default: allow 64 MiB chunks. Bytes in
  # <data>/<id>, info in <data>/<id>.info; partial uploads removed once concatenated (as
  # tuspyserver does); one worker is plenty on loopback.
  launch rustus "$p_rustus" "$data_root/rustus" "$RUSTUS" --host 127.0.0.1 --port "$p_rustus" \
    --url /files --data-dir "$data_root/rustus" --info-dir "$data_root/rustus" \
    --max-body-size 67108864 --remove-parts true --workers 1 --log-level WARN

  local ok=1
  wait_ready node "$e_node" || ok=0
  [ "$ok" = 1 ] && { wait_ready node-expiring "$e_exp" || ok=0; }
  [ "$ok" = 1 ] && { wait_ready py "$e_py" || ok=0; }
  [ "$ok" = 1 ] && { wait_ready rustus "$e_rustus" || ok=0; }
  if [ "$ok" != 1 ]; then
    TUSKY_INTEROP_KEEP_DATA=0 stop_all
    die "interop servers failed to start (see above)"
  fi

  {
    echo "# Written by scripts/interop-servers.sh start on $(date -u '+%Y-%m-%dT%H:%M:%SZ'); source it before cargo test."
    printf 'export TUSKY_INTEROP_NODE_ENDPOINT=%q\n' "$e_node"
    printf 'export TUSKY_INTEROP_NODE_DATA_DIR=%q\n' "$data_root/node"
    printf 'export TUSKY_INTEROP_NODE_EXPIRING_ENDPOINT=%q\n' "$e_exp"
    printf 'export TUSKY_INTEROP_NODE_EXPIRING_DATA_DIR=%q\n' "$data_root/node-expiring"
    printf 'export TUSKY_INTEROP_NODE_EXPIRE_MS=%q\n' "$EXPIRE_MS"
    printf 'export TUSKY_INTEROP_PY_ENDPOINT=%q\n' "$e_py"
    printf 'export TUSKY_INTEROP_PY_DATA_DIR=%q\n' "$data_root/py"
    printf 'export TUSKY_INTEROP_RUSTUS_ENDPOINT=%q\n' "$e_rustus"
    printf 'export TUSKY_INTEROP_RUSTUS_DATA_DIR=%q\n' "$data_root/rustus"
    printf 'export TUSKY_INTEROP_TUSPY_PYTHON=%q\n' "$INTEROP/.venv-client/bin/python"
  } >"$ENV_FILE.tmp"
  mv "$ENV_FILE.tmp" "$ENV_FILE"

  say "node          $e_node (pid $(cat "$STATE/node.pid"))"
  say "node-expiring $e_exp (pid $(cat "$STATE/node-expiring.pid"), EXPIRE_MS=$EXPIRE_MS)"
  say "py            $e_py (pid $(cat "$STATE/py.pid"))"
  say "rustus        $e_rustus (pid $(cat "$STATE/rustus.pid"))"
  say "data under $data_root, logs in $STATE/*.log"
  say "wrote $ENV_FILE (source it)"
}

status_all() {
  local name pid rc=0
  for name in "${SERVERS[@]}"; do
    if pid=$(running_pid "$name"); then
      echo "$name: running (pid $pid)"
    else
      echo "$name: not running"
      rc=1
    fi
  done
  return $rc
}

case "${1:-}" in
  start) start_all ;;
  stop) stop_all ;;
  env)
    status_all >/dev/null || die "servers are not running: run '$0 start' first"
    [ -f "$ENV_FILE" ] || die "$ENV_FILE is missing: run '$0 start'"
    cat "$ENV_FILE"
    ;;
  status) status_all ;;
  install) install_all ;;
  *)
    echo "usage: $0 start|stop|env|status|install" >&2
    exit 2
    ;;
esac
