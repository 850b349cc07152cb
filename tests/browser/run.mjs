// run.mjs — the browser-test layer: imports every tests/browser/test_*.mjs
// (each registers its tests with lib.mjs's test()) and runs them in Chromium
// against one demo server.
//
//   node tests/browser/run.mjs [NAME-SUBSTRING]
//
// Prints "ok NAME" / "FAIL NAME" per test and a closing "N passed, N failed".
// Environment: LIUBAO_BIN (default build/liubao), LIUBAO_DIVISION_DIR,
// CHROMIUM (default /usr/bin/chromium), LIUBAO_SCREENSHOTS=DIR for the
// screenshots (default tests/browser/screenshots, empty for none), LIUBAO_KEEP_TMP=1 to keep the temporary directory.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runAll } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
for (const f of fs.readdirSync(here).filter((n) => /^test_.*\.mjs$/.test(n)).sort())
  await import(pathToFileURL(path.join(here, f)).href);
await runAll(process.argv[2]);
