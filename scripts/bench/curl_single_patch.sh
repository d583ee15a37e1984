#!/usr/bin/env bash
# The practical ceiling, for scripts/bench-peers.sh: one creation POST and ONE PATCH streaming
# the whole file from disk (curl -T; 'Expect:' skips the 100-continue round trip).
#
#   curl_single_patch.sh ENDPOINT FILE
#
# Checks the final offset; prints the upload URL.
set -euo pipefail
endpoint=${1:?endpoint}
file=${2:?file}
size=$(stat -c %s "$file")
url=$("$(dirname "${BASH_SOURCE[0]}")/curl_create.sh" "$endpoint" "$file")
offset=$(curl -sS -o /dev/null -D - -X PATCH "$url" -T "$file" -H 'Tus-Resumable: 1.0.0' \
  -H 'Upload-Offset: 0' -H 'Content-Type: application/offset+octet-stream' -H 'Expect:' |
  tr -d '\r' | awk -F': ' 'tolower($1)=="upload-offset"{print $2}')
[ "$offset" = "$size" ] || { echo "curl: final offset '$offset', want $size" >&2; exit 1; }
echo "$url"
