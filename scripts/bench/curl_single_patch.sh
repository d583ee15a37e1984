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
name=$(printf %s "$(basename "$file")" | base64 -w0)
type=$(printf application/octet-stream | base64 -w0)
location=$(curl -sS -o /dev/null -D - -X POST "$endpoint" -H 'Tus-Resumable: 1.0.0' \
  -H "Upload-Length: $size" -H "Upload-Metadata: filename $name,filetype $type" |
  tr -d '\r' | awk -F': ' 'tolower($1)=="location"{print $2}' | tail -n1)
case "$location" in
  http*) url=$location ;;
  *) url="$(echo "$endpoint" | sed -E 's#(https?://[^/]+).*#\1#')$location" ;;
esac
offset=$(curl -sS -o /dev/null -D - -X PATCH "$url" -T "$file" -H 'Tus-Resumable: 1.0.0' \
  -H 'Upload-Offset: 0' -H 'Content-Type: application/offset+octet-stream' -H 'Expect:' |
  tr -d '\r' | awk -F': ' 'tolower($1)=="upload-offset"{print $2}')
[ "$offset" = "$size" ] || { echo "curl: final offset '$offset', want $size" >&2; exit 1; }
echo "$url"
