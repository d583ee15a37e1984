// Uploads FILE with tus-js-client (the JavaScript tus client, under Node) and prints one JSON
// line: {"url": "<upload URL>", "size": <bytes>}. Exit status 1 with a message on stderr if
// tus-js-client failed. For the interop test "tus-js-client uploads to tusky's streaming
// server" (tests/it/interop/clients.rs); tus-js-client comes from this folder's node_modules
// (npm ci, as scripts/interop-servers.sh does).
//
//   node tests/interop/tusjs_upload.mjs ENDPOINT FILE CHUNK_BYTES [PARALLEL]
//
// CHUNK_BYTES 0 sends the whole file in one PATCH; PARALLEL > 1 uploads that many partial
// uploads joined by concatenation.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

const require = createRequire(import.meta.url);
const tus = require('tus-js-client');

const [endpoint, file, chunkArg, parallelArg] = process.argv.slice(2);
if (!endpoint || !file) {
  console.error('usage: node tusjs_upload.mjs ENDPOINT FILE CHUNK_BYTES [PARALLEL]');
  process.exit(2);
}
const chunk = Number(chunkArg || 0);
const parallel = Number(parallelArg || 1);
const size = fs.statSync(file).size;
const upload = new tus.Upload(fs.createReadStream(file), {
  endpoint,
  chunkSize: chunk > 0 ? chunk : Infinity,
  parallelUploads: parallel,
  retryDelays: null,
  storeFingerprintForResuming: false,
  metadata: { filename: path.basename(file), filetype: 'application/octet-stream' },
  onError(err) {
    console.error('tus-js-client failed:', err.message || err);
    process.exit(1);
  },
  onSuccess() {
    console.log(JSON.stringify({ url: upload.url, size }));
  },
});
upload.start();
