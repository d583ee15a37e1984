#!/usr/bin/env bash
# The creation POST of the curl clients of scripts/bench-peers.sh (curl_single_patch.sh,
# curl_chunked.sh): creates an upload of FILE's length, with its name and type as metadata.
#
#   curl_create.sh ENDPOINT FILE
#
# Prints the upload URL (absolute).
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
  http*) echo "$location" ;;
  /*) echo "$(echo "$endpoint" | sed -E 's#(https?://[^/]+).*#\1#')$location" ;;
  *) echo "curl: no usable Location in the creation answer: '$location'" >&2; exit 1 ;;
esac
