// @tus/server + @tus/file-store on 127.0.0.1: a real, independent tus server for tusky's
// interop tests. Started by scripts/interop-servers.sh (after `npm ci` in this folder).
//
//   node tests/interop/tus-node-server.mjs
//
// Env:
//   PORT       port to listen on (required; 127.0.0.1 only)
//   DATA_DIR   where uploads are stored (required): <DATA_DIR>/<id> holds the bytes,
//              <DATA_DIR>/<id>.json the upload's info (size, offset, metadata, creation_date)
//   EXPIRE_MS  optional: uploads expire this many ms after creation. The server then sends
//              Upload-Expires on POST/PATCH and answers 410 for an expired upload.
//              (The FileStore lists `expiration` in Tus-Extension either way.)
//   MAX_SIZE   optional: Tus-Max-Size in bytes; larger uploads are refused with 413.
//
// Prints one line `@tus/server listening on http://127.0.0.1:PORT/files/ data=DIR` once ready.
import fs from 'node:fs';
import path from 'node:path';
import { Server } from '@tus/server';
import { FileStore } from '@tus/file-store';

function required(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`tus-node-server: ${name} must be set`);
    process.exit(2);
  }
  return v;
}

function optionalNumber(name) {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) {
    console.error(`tus-node-server: ${name} must be a positive number, got ${JSON.stringify(v)}`);
    process.exit(2);
  }
  return n;
}

const host = '127.0.0.1';
const port = Number(required('PORT'));
const directory = path.resolve(required('DATA_DIR'));
const expireMs = optionalNumber('EXPIRE_MS');
const maxSize = optionalNumber('MAX_SIZE');
fs.mkdirSync(directory, { recursive: true });

const server = new Server({
  path: '/files',
  datastore: new FileStore({ directory, expirationPeriodInMilliseconds: expireMs }),
  ...(maxSize ? { maxSize } : {}),
});

const http = server.listen({ host, port }, () => {
  const extra = [expireMs ? `expire_ms=${expireMs}` : null, maxSize ? `max_size=${maxSize}` : null]
    .filter(Boolean)
    .join(' ');
  console.log(`@tus/server listening on http://${host}:${port}/files/ data=${directory}${extra ? ' ' + extra : ''}`);
});
http.on('error', (err) => {
  console.error(`tus-node-server: ${err.message}`);
  process.exit(1);
});
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    http.close();
    process.exit(0);
  });
}
