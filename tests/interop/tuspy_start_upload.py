"""Starts an upload with tuspy (the Python tus client) and leaves it unfinished.

For the interop test "tusky finishes an upload another client started": run with the client
venv's python ($TUSKY_INTEROP_TUSPY_PYTHON, i.e. tests/interop/.venv-client/bin/python):

    $TUSKY_INTEROP_TUSPY_PYTHON tests/interop/tuspy_start_upload.py [--store PATH] ENDPOINT FILE STOP_AT [CHUNK]

tuspy creates the upload (POST, with metadata `filename` = FILE's base name and
`filetype` = application/octet-stream, which tuspyserver's HEAD needs) and PATCHes CHUNK-byte
chunks (default 64 KiB) until the server's offset is >= STOP_AT. It then prints one JSON line:

    {"url": "<upload URL>", "offset": <server offset>, "size": <file size>}

and exits 0. Exit status 1 with a message on stderr if tuspy failed.

--store PATH (added for tusky's "finish a tuspy upload" test): tuspy remembers the upload URL
in its FileStorage(PATH), a TinyDB JSON file `{"_default": {"1": {"key": ..., "url": ...}}}`,
keyed by its default MD5 fingerprint (`size:N--md5:<md5 of the first 64 KiB>`), exactly as a
user's tuspy with `store_url=True` would. Then the JSON line also has `"store": PATH`.
"""

import json
import os
import sys

from tusclient import client
from tusclient.storage.filestorage import FileStorage


def main() -> int:
    args = sys.argv[1:]
    # --store PATH: keep the URL in tuspy's FileStorage at PATH (see the docstring).
    store = None
    if args[:1] == ["--store"] and len(args) >= 2:
        store, args = args[1], args[2:]
    if len(args) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    endpoint, path, stop_at = args[0], args[1], int(args[2])
    chunk = int(args[3]) if len(args) == 4 else 64 * 1024
    size = os.path.getsize(path)
    if not 0 < stop_at <= size:
        print(f"STOP_AT must be in 1..={size}", file=sys.stderr)
        return 2
    # With --store: store_url=True and FileStorage(store); the fingerprinter stays tuspy's
    # default (MD5), which is what tusky's Md5Fingerprint must reproduce.
    storage = {"store_url": True, "url_storage": FileStorage(store)} if store else {}
    uploader = client.TusClient(endpoint).uploader(
        file_path=path,
        chunk_size=chunk,
        metadata={"filename": os.path.basename(path), "filetype": "application/octet-stream"},
        **storage,
    )
    try:
        uploader.upload(stop_at=stop_at)
    except Exception as exc:  # tuspy raises TusCommunicationError / TusUploadFailed
        print(f"tuspy failed: {exc!r}", file=sys.stderr)
        return 1
    result = {"url": uploader.url, "offset": uploader.offset, "size": size}
    if store:
        storage["url_storage"].close()  # flush and release TinyDB's file
        result["store"] = store
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
