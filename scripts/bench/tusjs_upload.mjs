// Uploads FILE to ENDPOINT with tus-js-client (Node), for scripts/bench-peers.sh.
//
//   node tusjs_upload.mjs ENDPOINT FILE CHUNK_BYTES      (0: the whole file in one PATCH)
//
// tus-js-client is installed by bench-peers.sh under target/bench-peers/node (TUSJS_DIR).
// Prints the upload URL; exits 1 on an error.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

const dir = process.env.TUSJS_DIR;
if (!dir) {
  console.error('TUSJS_DIR (where tus-js-client is installed) is not set');
  process.exit(2);
}
const tus = createRequire(path.join(dir, 'package.json'))('tus-js-client');
const [endpoint, file, chunkArg] = process.argv.slice(2);
const chunk = Number(chunkArg || 0);
const upload = new tus.Upload(fs.createReadStream(file), {
  endpoint,
  chunkSize: chunk > 0 ? chunk : Infinity,
  retryDelays: null,
  storeFingerprintForResuming: false,
  metadata: { filename: path.basename(file), filetype: 'application/octet-stream' },
  onError(err) {
    console.error('tus-js-client:', err.message || err);
    process.exit(1);
  },
  onSuccess() {
    console.log(upload.url);
  },
});
upload.start();
