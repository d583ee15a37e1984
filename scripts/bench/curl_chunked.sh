#!/usr/bin/env bash
# The fair ceiling for a client sending fixed-size chunks, for scripts/bench-peers.sh: one
# creation POST, then the file as sequential PATCHes of one piece each, all from ONE curl
# process over one keep-alive connection (curl --next). What a chunked tus client loses against
# this is its own per-request cost; what this loses against curl_single_patch.sh is the
# server's.
#
#   curl_chunked.sh ENDPOINT FILE PIECES_DIR
#
# PIECES_DIR holds FILE split into pieces named in order (split -d), made before the timing.
# Checks the final offset; prints the upload URL.
set -euo pipefail
endpoint=${1:?endpoint}
file=${2:?file}
pieces=${3:?pieces dir}
size=$(stat -c %s "$file")
url=$("$(dirname "${BASH_SOURCE[0]}")/curl_create.sh" "$endpoint" "$file")
args=()
offset=0
for piece in "$pieces"/*; do
  [ "${#args[@]}" -eq 0 ] || args+=(--next)
  args+=(-sS -o /dev/null -X PATCH "$url" -T "$piece" -H 'Tus-Resumable: 1.0.0'
    -H "Upload-Offset: $offset" -H 'Content-Type: application/offset+octet-stream' -H 'Expect:')
  offset=$((offset + $(stat -c %s "$piece")))
done
[ "$size" -eq 0 ] || curl "${args[@]}"
final=$(curl -sS -o /dev/null -D - -I "$url" -H 'Tus-Resumable: 1.0.0' |
  tr -d '\r' | awk -F': ' 'tolower($1)=="upload-offset"{print $2}')
[ "$final" = "$size" ] || { echo "curl: final offset '$final', want $size" >&2; exit 1; }
echo "$url"
