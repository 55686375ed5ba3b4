#!/usr/bin/env node
// End-to-end run of the web UI against a real herder:
//   1. builds the UI (vite) and the herder binary that embeds it, and the
//      e2e seeder (frontend/e2e/seed);
//   2. starts a small log server standing in for Taskcluster's artifacts
//      (Treeherder's sample logs from ../shared/testdata/treeherder);
//   3. loads the dataset (`herder load-fixtures`, then the seeder: the demo
//      pushes and jobs, parsed error lines, one 3,000-job push on try) and
//      makes a sheriff token (`herder tokens create`);
//   4. starts `herder serve` and runs e2e/*.test.mjs (node:test) driving
//      Debian's Chromium (/usr/bin/chromium; never a downloaded browser).
//
// Options: --screenshots (write docs/screenshots/*.png), --keep (keep the
// temporary directory), --no-build (reuse server/ui/dist and the binaries),
// and test files or a --test-name-pattern to run a subset.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

const here = path.dirname(fileURLToPath(import.meta.url));
const frontend = path.resolve(here, '..');
const root = path.resolve(frontend, '..');
const args = process.argv.slice(2);
const flag = (f) => args.includes(f);
const passThrough = args.filter((a) => !['--screenshots', '--keep', '--no-build'].includes(a));

const chromium = process.env.HERDER_CHROMIUM || '/usr/bin/chromium';
if (!fs.existsSync(chromium)) {
  console.error(`e2e: no Chromium at ${chromium}. Install it with \`sudo bash scripts/services.sh chromium\` (or set HERDER_CHROMIUM).`);
  process.exit(1);
}

function run(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { stdio: opts.capture ? ['ignore', 'pipe', 'inherit'] : 'inherit', encoding: 'utf8', ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed (exit ${r.status})`);
  return r.stdout ?? '';
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

async function waitReady(url, ms) {
  const end = Date.now() + ms;
  for (;;) {
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > end) throw new Error(`herder did not become ready at ${url}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Sizes of the JavaScript the first screen loads: the entry chunk and its static imports. */
function bundleReport() {
  const dist = path.join(root, 'server/ui/dist');
  const html = fs.readFileSync(path.join(dist, 'index.html'), 'utf8');
  const entry = [...html.matchAll(/<script[^>]+src="\/?([^"]+\.js)"/g)].map((m) => m[1]);
  const preloads = [...html.matchAll(/<link[^>]+rel="modulepreload"[^>]+href="\/?([^"]+\.js)"/g)].map((m) => m[1]);
  const size = (f) => {
    const b = fs.readFileSync(path.join(dist, f));
    return { file: f, raw: b.length, gzip: zlib.gzipSync(b, { level: 9 }).length };
  };
  const first = [...new Set([...entry, ...preloads])].map(size);
  const all = fs
    .readdirSync(path.join(dist, 'assets'))
    .filter((f) => f.endsWith('.js'))
    .map((f) => size(`assets/${f}`));
  return { first, all, firstGzip: first.reduce((a, x) => a + x.gzip, 0) };
}

// The ~100 MB log of the log viewer's performance test, made up line by
// line; the seeder (frontend/e2e/seed) stores the same error lines.
const SYNTHETIC_LINES = 1_000_000;
const SYNTHETIC_EVERY = 50_000;
function syntheticLine(i) {
  return (i + 1) % SYNTHETIC_EVERY === 0
    ? `[task 2026-01-01T00:00:00.000Z] TEST-UNEXPECTED-FAIL | synthetic/test_${i}.js | synthetic failure ${i}\n`
    : `[task 2026-01-01T00:00:00.000Z] INFO - synthetic log line ${i} of the log viewer's scrolling test\n`;
}
function serveSynthetic(req, res) {
  res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
  if (req.method === 'HEAD') return res.end();
  let i = 0;
  const pump = () => {
    while (i < SYNTHETIC_LINES) {
      let chunk = '';
      for (const end = Math.min(i + 20_000, SYNTHETIC_LINES); i < end; i++) chunk += syntheticLine(i);
      if (!res.write(chunk)) return res.once('drain', pump);
    }
    res.end();
  };
  pump();
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'herder-e2e-'));
const cleanups = [];
let failed = true;
try {
  const bin = path.join(tmp, 'bin');
  fs.mkdirSync(bin);
  const herder = path.join(bin, 'herder');
  const seed = path.join(bin, 'seed');
  if (!flag('--no-build')) {
    run('npm', ['run', 'build'], { cwd: frontend });
  }
  run('go', ['build', '-o', herder, './cmd/herder'], { cwd: root });
  run('go', ['build', '-o', seed, './frontend/e2e/seed'], { cwd: root });
  const report = bundleReport();
  fs.writeFileSync(path.join(tmp, 'bundle.json'), JSON.stringify(report, null, 2));
  console.log(
    `e2e: first-screen JavaScript ${(report.firstGzip / 1024).toFixed(1)} KB gzip (${report.first.map((f) => `${f.file} ${(f.gzip / 1024).toFixed(1)} KB`).join(', ')})`,
  );

  // The log server: Taskcluster's artifact paths, files from the manifest the seeder writes.
  const data = path.join(tmp, 'data');
  const testdata = process.env.HERDER_TESTDATA || path.resolve(root, '../shared/testdata/treeherder');
  const haveTestdata = fs.existsSync(path.join(testdata, 'logs'));
  let manifest = {};
  const logServer = http.createServer((req, res) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    const m = req.url.match(/\/task\/([^/]+)\/runs\/\d+\/artifacts\/public\/logs\/live_backing\.log$/);
    const name = m && manifest[m[1]];
    if (!name) {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('no such artifact');
      return;
    }
    if (name === 'synthetic') {
      serveSynthetic(req, res);
      return;
    }
    const file = name === 'green.log' ? path.join(data, 'logs', name) : path.join(testdata, 'logs', name);
    const st = fs.statSync(file);
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': st.size });
    if (req.method === 'HEAD') res.end();
    else fs.createReadStream(file).pipe(res);
  });
  await new Promise((r) => logServer.listen(0, '127.0.0.1', r));
  cleanups.push(() => logServer.close());
  const logBase = `http://127.0.0.1:${logServer.address().port}`;

  const now = String(Math.floor(Date.now() / 1000));
  run(herder, ['load-fixtures', '--data-dir', data]);
  const seedArgs = ['--data-dir', data, '--log-base', logBase, '--now', now, '--big', '3000'];
  if (haveTestdata) seedArgs.push('--testdata', testdata);
  else console.log(`e2e: ${testdata} is absent; failed jobs get no error lines and the tests that need them skip`);
  run(seed, seedArgs);
  if (fs.existsSync(path.join(data, 'logs/manifest.json'))) manifest = JSON.parse(fs.readFileSync(path.join(data, 'logs/manifest.json'), 'utf8'));
  const tokenOut = run(herder, ['tokens', 'create', '--data-dir', data, '--user', 'e2e-sheriff@example.com', '--role', 'sheriff', '--name', 'e2e'], { capture: true });
  // The token is the only thing on stdout.
  const token = tokenOut.trim().split('\n').pop();
  if (!token) throw new Error(`could not read the token from: ${tokenOut}`);

  const port = await freePort();
  const serveLog = fs.openSync(path.join(tmp, 'serve.log'), 'w');
  const serve = spawn(herder, ['serve', '--data-dir', data, '--listen', `127.0.0.1:${port}`], { stdio: ['ignore', serveLog, serveLog] });
  cleanups.push(() => serve.kill('SIGTERM'));
  const base = `http://127.0.0.1:${port}`;
  await waitReady(`${base}/readyz`, 30_000);
  console.log(`e2e: herder serving ${base} (data in ${data}, log server ${logBase})`);

  const env = {
    ...process.env,
    HERDER_URL: base,
    HERDER_TOKEN: token,
    HERDER_CHROMIUM: chromium,
    HERDER_E2E_TMP: tmp,
    HERDER_E2E_SEED: JSON.stringify([seed, ...seedArgs.filter((a) => a !== '--big' && a !== '3000')]),
    HERDER_E2E_BUNDLE: path.join(tmp, 'bundle.json'),
    HERDER_E2E_HAVE_TESTDATA: haveTestdata ? '1' : '',
  };
  if (flag('--screenshots')) env.HERDER_SCREENSHOTS = path.join(root, 'docs/screenshots');
  const files = passThrough.filter((a) => a.endsWith('.mjs'));
  const rest = passThrough.filter((a) => !a.endsWith('.mjs'));
  const tests = files.length ? files : fs.readdirSync(here).filter((f) => f.endsWith('.test.mjs')).map((f) => path.join(here, f));
  // Asynchronously: this process serves the logs while the tests run.
  const t = spawn(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=spec', ...rest, ...tests], { stdio: 'inherit', env, cwd: frontend });
  const code = await new Promise((resolve) => t.on('exit', (c) => resolve(c)));
  failed = code !== 0;
  if (failed) console.error(`e2e: failed; herder's log is ${path.join(tmp, 'serve.log')}`);
} catch (e) {
  console.error('e2e:', e.message);
} finally {
  for (const c of cleanups.reverse()) {
    try {
      c();
    } catch {
      // best effort
    }
  }
  if (!flag('--keep') && !failed) fs.rmSync(tmp, { recursive: true, force: true });
  else console.log(`e2e: kept ${tmp}`);
}
process.exit(failed ? 1 : 0);
