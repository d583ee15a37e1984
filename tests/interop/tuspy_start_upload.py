"""Starts an upload with tuspy (the Python tus client) and leaves it unfinished.

For the interop test "tusky finishes an upload another client started": run with the client
venv's python ($TUSKY_INTEROP_TUSPY_PYTHON, i.e. tests/interop/.venv-client/bin/python):

    $TUSKY_INTEROP_TUSPY_PYTHON tests/interop/tuspy_start_upload.py ENDPOINT FILE STOP_AT [CHUNK]

tuspy creates the upload (POST, with metadata `filename` = FILE's base name and
`filetype` = application/octet-stream, which tuspyserver's HEAD needs) and PATCHes CHUNK-byte
chunks (default 64 KiB) until the server's offset is >= STOP_AT. It then prints one JSON line:

    {"url": "<upload URL>", "offset": <server offset>, "size": <file size>}

and exits 0. Exit status 1 with a message on stderr if tuspy failed.
"""

import json
import os
import sys

from tusclient import client


def main() -> int:
    if len(sys.argv) not in (4, 5):
        print(__doc__, file=sys.stderr)
        return 2
    endpoint, path, stop_at = sys.argv[1], sys.argv[2], int(sys.argv[3])
    chunk = int(sys.argv[4]) if len(sys.argv) == 5 else 64 * 1024
    size = os.path.getsize(path)
    if not 0 < stop_at <= size:
        print(f"STOP_AT must be in 1..={size}", file=sys.stderr)
        return 2
    uploader = client.TusClient(endpoint).uploader(
        file_path=path,
        chunk_size=chunk,
        metadata={"filename": os.path.basename(path), "filetype": "application/octet-stream"},
    )
    try:
        uploader.upload(stop_at=stop_at)
    except Exception as exc:  # tuspy raises TusCommunicationError / TusUploadFailed
        print(f"tuspy failed: {exc!r}", file=sys.stderr)
        return 1
    print(json.dumps({"url": uploader.url, "offset": uploader.offset, "size": size}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
