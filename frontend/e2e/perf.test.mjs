// Measures (does not assert timings) how long a 3,000-job push takes to
// become interactive in Chromium, and checks the first screen's JavaScript
// stays under 300 KB compressed. Numbers go to stdout and
// $HERDER_E2E_TMP/perf.json; docs/ui.md records them.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { api, BASE, jobs, launch, screenshot } from './browser.mjs';

let browser;
const results = {};

before(async () => {
  browser = await launch();
});

after(async () => {
  await browser?.close();
  if (process.env.HERDER_E2E_TMP) fs.writeFileSync(path.join(process.env.HERDER_E2E_TMP, 'perf.json'), JSON.stringify(results, null, 2));
  console.log('perf:', JSON.stringify(results));
});

/** Loads the try push and returns navigation→interactive and click→details timings (ms). */
async function measure(query) {
  const page = await browser.context.newPage();
  const t0 = Date.now();
  await page.goto(`${BASE}/jobs?repo=try${query}`);
  await page.waitForFunction(() => performance.getEntriesByName('herder:jobs-interactive').length > 0, null, { timeout: 60_000 });
  const wall = Date.now() - t0;
  const marks = await page.evaluate(() => ({
    interactive: performance.getEntriesByName('herder:jobs-interactive')[0].startTime,
    domContentLoaded: performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd,
    buttons: document.querySelectorAll('.push-list .job').length,
  }));
  // Interactive: a click on a job selects it and opens the details panel.
  const clickMs = await page.evaluate(async () => {
    const btn = document.querySelectorAll('.push-list .job')[1500] ?? document.querySelector('.push-list .job');
    const start = performance.now();
    btn.click();
    await new Promise((resolve) => {
      const check = () => (document.querySelector('[data-testid="details-panel"]') ? resolve() : requestAnimationFrame(check));
      check();
    });
    await new Promise((r) => requestAnimationFrame(() => r()));
    return performance.now() - start;
  });
  return { page, ...marks, wallMs: wall, clickToDetailsMs: clickMs };
}

describe('performance', () => {
  it('renders a push of 3,000 jobs, all buttons expanded, and answers a click', async () => {
    const jobs = await api('/api/jobs/?push_id__in=' + (await api('/api/project/try/push/')).body.results.map((p) => p.id).join(',') + '&count=1');
    assert.ok(jobs.body.count >= 3000, `the try push holds ${jobs.body.count} jobs`);
    // A warm-up load, so the numbers are not the first start of Chromium's caches.
    (await measure('&group_state=expanded')).page.close();
    const runs = [];
    for (let i = 0; i < 3; i++) {
      const m = await measure('&group_state=expanded');
      runs.push(m);
      if (i === 0) await screenshot(m.page, 'jobs-view-3000');
      await m.page.close();
    }
    const median = (k) => runs.map((r) => r[k]).sort((a, b) => a - b)[1];
    results.expanded = {
      buttons: runs[0].buttons,
      navigationToInteractiveMs: Math.round(median('interactive')),
      clickToDetailsMs: Math.round(median('clickToDetailsMs')),
      runs: runs.map((r) => Math.round(r.interactive)),
    };
    assert.ok(runs[0].buttons >= 2900, `${runs[0].buttons} buttons rendered`);
  });

  it('renders the same push with groups collapsed (the default)', async () => {
    const runs = [];
    for (let i = 0; i < 3; i++) {
      const m = await measure('');
      runs.push(m);
      await m.page.close();
    }
    const sorted = runs.map((r) => r.interactive).sort((a, b) => a - b);
    results.collapsed = { buttons: runs[0].buttons, navigationToInteractiveMs: Math.round(sorted[1]) };
  });

  it('loads a 100 MB log in the log viewer and scrolls it smoothly', async () => {
    const [j] = await jobs('task_id=big0000000000000000000');
    assert.ok(j, 'the big push’s first job carries the synthetic log');
    const page = await browser.context.newPage();
    const t0 = Date.now();
    await page.goto(`${BASE}/logviewer?job_id=${j.id}&repo=try`);
    await page.waitForFunction(
      () => {
        const s = document.querySelector('[data-testid="log-status"]')?.textContent ?? '';
        return /lines, [\d.]+ MB/.test(s) && !s.includes('loading');
      },
      null,
      { timeout: 120_000 },
    );
    const loadMs = Date.now() - t0;
    const status = await page.getByTestId('log-status').textContent();
    assert.match(status, /^1,000,000 lines/);
    // Scroll through the whole log, a big step per frame, and time the frames.
    const frames = await page.evaluate(async () => {
      const el = document.querySelector('[data-testid="log-scroll"]');
      const times = [];
      let last = performance.now();
      for (let f = 0; f < 120; f++) {
        el.scrollTop = (el.scrollHeight - el.clientHeight) * ((f * 37) % 120) / 120;
        await new Promise((r) => requestAnimationFrame(() => r()));
        const now = performance.now();
        times.push(now - last);
        last = now;
      }
      times.sort((a, b) => a - b);
      return { p50: times[60], p95: times[114], max: times[119], heapMB: performance.memory ? performance.memory.usedJSHeapSize / 1e6 : null };
    });
    // p (previous error) from the top wraps to the last error line.
    await page.evaluate(() => (document.querySelector('[data-testid="log-scroll"]').scrollTop = 0));
    await page.locator('.log-line[data-line="1"]').waitFor();
    await page.keyboard.press('p');
    await page.waitForURL(/lineNumber=1000000/);
    await page.locator('.log-line.selected[data-line="1000000"]').waitFor();
    const s0 = Date.now();
    await page.getByRole('searchbox', { name: 'Search the log' }).fill('synthetic failure 949999');
    await page.waitForFunction(() => document.querySelector('[data-testid="match-count"]')?.textContent === '1 of 1', null, { timeout: 60_000 });
    const searchMs = Date.now() - s0 - 200; // less the 200 ms typing debounce
    await page.keyboard.press('Enter');
    await page.locator('.log-line.current-match[data-line="950000"]').waitFor();
    await screenshot(page, 'log-viewer-100mb');
    results.log100MB = {
      status,
      loadMs,
      frameMs: { p50: Math.round(frames.p50 * 10) / 10, p95: Math.round(frames.p95 * 10) / 10, max: Math.round(frames.max) },
      heapMB: frames.heapMB && Math.round(frames.heapMB),
      searchMs,
    };
    await page.close();
  });

  it('keeps the first screen under 300 KB of compressed JavaScript', async () => {
    const page = await browser.context.newPage();
    const scripts = [];
    page.on('response', async (r) => {
      if (r.request().resourceType() === 'script') scripts.push(r);
    });
    await page.goto(`${BASE}/jobs?repo=autoland`);
    await page.locator('.push').first().waitFor();
    let gz = 0;
    for (const r of scripts) gz += zlib.gzipSync(await r.body(), { level: 9 }).length;
    results.firstScreenJsGzipKB = Math.round(gz / 102.4) / 10;
    results.firstScreenScripts = scripts.length;
    assert.ok(gz < 300 * 1024, `first screen loads ${gz} bytes of gzipped JavaScript`);
    await page.close();
  });
});
