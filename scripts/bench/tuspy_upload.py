#!/usr/bin/env python3
"""Uploads FILE to ENDPOINT with tuspy (the Python tus client), for scripts/bench-peers.sh.

Usage: python tuspy_upload.py ENDPOINT FILE CHUNK_BYTES   (0: the whole file in one PATCH)
Checks that the server's final offset is the file's size; prints the upload URL.
"""
import os
import sys

from tusclient import client


def main():
    endpoint, path, chunk = sys.argv[1], sys.argv[2], int(sys.argv[3])
    size = os.path.getsize(path)
    kwargs = {"chunk_size": chunk} if chunk > 0 else {}
    metadata = {"filename": os.path.basename(path), "filetype": "application/octet-stream"}
    uploader = client.TusClient(endpoint).uploader(path, metadata=metadata, **kwargs)
    uploader.upload()
    if uploader.offset != size:
        sys.exit(f"tuspy: offset {uploader.offset} after the upload, want {size}")
    print(uploader.url)


if __name__ == "__main__":
    main()
