"""tuspyserver (a FastAPI tus server from PyPI) on 127.0.0.1: tusky's second real interop server.

Started by scripts/interop-servers.sh with the venv in tests/interop/.venv-server:

    PORT=P DATA_DIR=D tests/interop/.venv-server/bin/python tests/interop/tuspyserver_app.py

Env:
    PORT      port to listen on (required; 127.0.0.1 only)
    DATA_DIR  where uploads are stored (required): <DATA_DIR>/<id> holds the bytes,
              <DATA_DIR>/<id>.info (JSON) the upload's offset, size, metadata, expiry

Endpoint: http://127.0.0.1:PORT/files/  (see tests/interop/README.md for its quirks; the
main one: HEAD answers 400 unless the upload's metadata has `filename` and `filetype`).
Prints one line `tuspyserver listening on http://127.0.0.1:PORT/files/ data=DIR` once ready.
"""

import os
import sys
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI
from tuspyserver import create_tus_router


def required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        sys.exit(f"tuspyserver_app: {name} must be set")
    return value


HOST = "127.0.0.1"
PORT = int(required("PORT"))
DATA_DIR = os.path.abspath(required("DATA_DIR"))
os.makedirs(DATA_DIR, exist_ok=True)



@asynccontextmanager
async def lifespan(_app: FastAPI):
    print(f"tuspyserver listening on http://{HOST}:{PORT}/files/ data={DATA_DIR}", flush=True)
    yield


app = FastAPI(lifespan=lifespan)
app.include_router(create_tus_router(prefix="files", files_dir=DATA_DIR))


if __name__ == "__main__":
    uvicorn.run(app, host=HOST, port=PORT, log_level="warning")
