// Shared setup for the e2e tests: Debian's Chromium through playwright-core,
// the herder URL and token the runner (run.mjs) passes in the environment.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const BASE = process.env.HERDER_URL;
export const TOKEN = process.env.HERDER_TOKEN;
export const SCREENSHOTS = process.env.HERDER_SCREENSHOTS;
export const HAVE_TESTDATA = !!process.env.HERDER_E2E_HAVE_TESTDATA;

if (!BASE) {
  console.error('Run the e2e tests through `npm run e2e` (e2e/run.mjs), which starts herder.');
  process.exit(1);
}

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A fresh Chromium profile per launch. */
export async function launch() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herder-chromium-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: process.env.HERDER_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ARGS,
    viewport: { width: 1400, height: 900 },
  });
  const errors = [];
  context.on('weberror', (e) => errors.push(String(e.error())));
  return {
    context,
    errors,
    async close() {
      await context.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function api(pathAndQuery, init = {}) {
  const res = await fetch(BASE + pathAndQuery, init);
  const text = await res.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, body };
}

/** Decodes /api/jobs/'s compact rows. */
export async function jobs(query) {
  const { body } = await api(`/api/jobs/?${query}`);
  return body.results.map((r) => Object.fromEntries(body.job_property_names.map((k, i) => [k, r[i]])));
}

export async function screenshot(page, name) {
  if (!SCREENSHOTS) return;
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`) });
}

/** Runs the seeder again (with extra flags) against the running server's database. */
export function seed(...extra) {
  const [cmd, ...argv] = JSON.parse(process.env.HERDER_E2E_SEED);
  const r = spawnSync(cmd, [...argv.filter((a, i, all) => a !== '--testdata' && all[i - 1] !== '--testdata'), ...extra], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`seed ${extra.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
