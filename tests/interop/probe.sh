#!/usr/bin/env bash
# Probes a running tus server with curl and prints what it answers to each case, one line per
# case: `case: status [headers of interest]`. This is how the server table in README.md was
# measured; run it again after bumping a server version.
#
#   tests/interop/probe.sh http://127.0.0.1:PORT/files/ [DATA_DIR]
#
# With DATA_DIR it also lists the files an upload leaves there.
# Creates a handful of small uploads on the server; needs curl.
set -euo pipefail

EP=${1:?usage: probe.sh ENDPOINT [DATA_DIR]}
DATA_DIR=${2:-}
TR='Tus-Resumable: 1.0.0'
CT='Content-Type: application/offset+octet-stream'
META="Upload-Metadata: filename $(printf a.txt | base64),filetype $(printf text/plain | base64)"
HDRS=$(mktemp)
trap 'rm -f "$HDRS"' EXIT

# req METHOD URL [curl args...] -> sets STATUS, and the response headers are in $HDRS
req() {
  local method=$1 url=$2
  shift 2
  local how=(-X "$method")
  [ "$method" = HEAD ] && how=(-I) # -X HEAD would make curl wait for a body
  STATUS=$(curl -s --max-time 20 -o /dev/null -D "$HDRS" -w '%{http_code}' "${how[@]}" "$url" "$@" || true)
}
hdr() { grep -i "^$1:" "$HDRS" | head -n1 | cut -d' ' -f2- | tr -d '\r' || true; }
show() {
  local label=$1
  shift
  local extra=""
  for h in "$@"; do
    local v
    v=$(hdr "$h")
    [ -n "$v" ] && extra="$extra $h=$v"
  done
  printf '%-44s %s%s\n' "$label:" "$STATUS" "$extra"
}
create() { # create [extra curl args] -> echoes the absolute upload URL
  req POST "$EP" -H "$TR" "$@"
  local loc
  loc=$(hdr Location)
  case "$loc" in
    http*) echo "$loc" ;;
    /*) echo "$(printf '%s' "$EP" | sed -E 's#^(https?://[^/]+).*#\1#')$loc" ;;
    *) echo "$EP$loc" ;;
  esac
}

req OPTIONS "$EP"
show "OPTIONS" Tus-Version Tus-Extension Tus-Max-Size Tus-Checksum-Algorithm
req OPTIONS "$EP" -H 'Tus-Resumable: 0.2.0'
show "OPTIONS with Tus-Resumable 0.2.0"

req POST "$EP" -H "$TR" -H 'Upload-Length: 11' -H "$META"
show "POST Upload-Length 11 + metadata" Location Upload-Expires Upload-Offset
U=$(create -H 'Upload-Length: 11' -H "$META")
echo "    upload URL: $U"
ID=${U##*/}
echo "    upload id (last path segment): $ID"
req HEAD "$U" -H "$TR"
show "HEAD fresh upload" Upload-Offset Upload-Length Upload-Metadata Cache-Control
req HEAD "$U"
show "HEAD without Tus-Resumable" Tus-Version
req HEAD "$U" -H 'Tus-Resumable: 0.2.0'
show "HEAD with Tus-Resumable 0.2.0" Tus-Version
req PATCH "$U" -H "$TR" -H "$CT" -H 'Upload-Offset: 0' --data-binary 'hello'
show "PATCH 5 bytes at 0" Upload-Offset Upload-Expires
req PATCH "$U" -H "$TR" -H "$CT" -H 'Upload-Offset: 2' --data-binary 'hello'
show "PATCH at wrong offset 2" Upload-Offset
req PATCH "$U" -H "$TR" -H 'Content-Type: text/plain' -H 'Upload-Offset: 5' --data-binary ' wo'
show "PATCH wrong Content-Type"  Upload-Offset
req PATCH "$U" -H "$TR" -H "$CT" -H 'Upload-Offset: 5' -H 'Upload-Checksum: sha1 AAAAAAAAAAAAAAAAAAAAAAAAAAA=' --data-binary ' wo'
show "PATCH bad sha1 checksum (3 bytes at 5)" Upload-Offset
req HEAD "$U" -H "$TR"
show "HEAD after bad checksum PATCH" Upload-Offset
OFF=$(hdr Upload-Offset)
req PATCH "$U" -H "$TR" -H "$CT" -H "Upload-Offset: $OFF" -H 'Upload-Checksum: nope AAAA' --data-binary 'r'
show "PATCH unknown checksum algo (1 byte)" Upload-Offset
req HEAD "$U" -H "$TR"
show "HEAD after unknown-algo PATCH" Upload-Offset
OFF=$(hdr Upload-Offset)
req PATCH "$U" -H "$TR" -H "$CT" -H "Upload-Offset: $OFF" --data-binary '0123456789'
show "PATCH 10 bytes past Upload-Length 11" Upload-Offset
req HEAD "$U" -H "$TR"
show "HEAD after PATCH past length" Upload-Offset
OFF=$(hdr Upload-Offset)
REST=$(printf 'hello world' | cut -c$((OFF + 1))-)
req PATCH "$U" -H "$TR" -H "$CT" -H "Upload-Offset: $OFF" --data-binary "$REST"
show "PATCH the rest (completes)" Upload-Offset Upload-Expires
req PATCH "$U" -H "$TR" -H "$CT" -H 'Upload-Offset: 11' --data-binary ''
show "PATCH 0 bytes to complete upload" Upload-Offset
if [ -n "$DATA_DIR" ]; then
  echo "    files in DATA_DIR for it:"
  (cd "$DATA_DIR" && find . -path "*$ID*" -printf '      %p %s bytes\n')
  if [ -f "$DATA_DIR/$ID" ]; then
    echo "    $DATA_DIR/$ID holds: $(cat "$DATA_DIR/$ID")"
  fi
fi

# streamed PATCH: no Content-Length (chunked transfer encoding)
S=$(create -H 'Upload-Length: 5' -H "$META")
STATUS=$(printf 'hello' | curl -s --max-time 20 -o /dev/null -D "$HDRS" -w '%{http_code}' -X PATCH "$S" -H "$TR" -H "$CT" \
  -H 'Upload-Offset: 0' -H 'Transfer-Encoding: chunked' --data-binary @- || true)
show "PATCH chunked (no Content-Length)" Upload-Offset

req POST "$EP" -H "$TR" -H 'Upload-Length: 0' -H "$META"
show "POST Upload-Length 0" Location Upload-Offset
Z=$(create -H 'Upload-Length: 0' -H "$META")
req HEAD "$Z" -H "$TR"
show "HEAD of empty upload" Upload-Offset Upload-Length

req POST "$EP" -H "$TR" -H 'Upload-Length: 11' -H "$META" -H "$CT" --data-binary 'hello'
show "POST creation-with-upload (5 of 11)" Location Upload-Offset

D=$(create -H 'Upload-Defer-Length: 1' -H "$META")
req HEAD "$D" -H "$TR"
show "HEAD deferred-length upload" Upload-Offset Upload-Length Upload-Defer-Length
req PATCH "$D" -H "$TR" -H "$CT" -H 'Upload-Offset: 0' --data-binary 'abc'
show "PATCH deferred, no Upload-Length yet" Upload-Offset
req PATCH "$D" -H "$TR" -H "$CT" -H 'Upload-Offset: 3' -H 'Upload-Length: 6' --data-binary 'def'
show "PATCH deferred, Upload-Length on last" Upload-Offset
req HEAD "$D" -H "$TR"
show "HEAD deferred after completion" Upload-Offset Upload-Length Upload-Defer-Length

N=$(create -H 'Upload-Length: 3')
req HEAD "$N" -H "$TR"
show "HEAD of upload created without metadata" Upload-Offset Upload-Length
F=$(create -H 'Upload-Length: 3' -H "Upload-Metadata: filename $(printf b.bin | base64)")
req HEAD "$F" -H "$TR"
show "HEAD, metadata has filename only" Upload-Offset
req POST "$EP" -H "$TR" -H 'Upload-Length: 3' -H 'Upload-Metadata: '
show "POST with empty Upload-Metadata header" Location
req POST "$EP" -H "$TR" -H 'Upload-Length: 3' -H 'Upload-Metadata: empty'
show "POST metadata key with no value" Location

req POST "$EP" -H 'Tus-Resumable: 0.2.0' -H 'Upload-Length: 3'
show "POST with Tus-Resumable 0.2.0" Tus-Version
req POST "$EP" -H 'Upload-Length: 3'
show "POST without Tus-Resumable" Tus-Version
req POST "$EP" -H "$TR"
show "POST without Upload-Length" 
req POST "$EP" -H "$TR" -H 'Upload-Length: 200000000000'
show "POST Upload-Length 200e9" 
P=$(create -H 'Upload-Length: 3' -H 'Upload-Concat: partial' -H "$META")
req PATCH "$P" -H "$TR" -H "$CT" -H 'Upload-Offset: 0' --data-binary 'abc'
show "PATCH partial upload (complete it)" Upload-Offset
req POST "$EP" -H "$TR" -H "Upload-Concat: final;$P" -H "$META"
show "POST Upload-Concat final;<partial URL>" Location
P2=$(create -H 'Upload-Length: 3' -H 'Upload-Concat: partial' -H "$META")
req PATCH "$P2" -H "$TR" -H "$CT" -H 'Upload-Offset: 0' --data-binary 'abc'
req POST "$EP" -H "$TR" -H "Upload-Concat: final;${P2#http*://*/}" -H "$META"
show "POST Upload-Concat final;<partial path>" Location

X=$(create -H 'Upload-Length: 3' -H "$META")
req DELETE "$X" -H "$TR"
show "DELETE upload" 
req HEAD "$X" -H "$TR"
show "HEAD after DELETE" Upload-Offset
req PATCH "$X" -H "$TR" -H "$CT" -H 'Upload-Offset: 0' --data-binary 'abc'
show "PATCH after DELETE" Upload-Offset
req HEAD "${EP}0123456789abcdef0123456789abcdef" -H "$TR"
show "HEAD unknown id" Upload-Offset
req POST "$U" -H "$TR" -H 'X-HTTP-Method-Override: HEAD'
show "POST + X-HTTP-Method-Override: HEAD" Upload-Offset
