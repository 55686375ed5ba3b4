// Arranging a push's jobs as Treeherder does: one row per platform and
// option, ungrouped symbols first, then Group( ... ) keyed by symbol and tier.
import type { Job } from '../api/types';
import { displayStatus, isFailure } from './status';

// Display names for common platforms (a subset of Treeherder's thPlatformMap);
// unknown platforms show their raw name. The map's order is the row order.
const PLATFORM_NAMES: [string, string][] = [
  ['linux32', 'Linux'],
  ['linux64', 'Linux x64'],
  ['linux1804-64', 'Linux 18.04 x64'],
  ['linux2204-64-wayland', 'Linux 22.04 x64 Wayland'],
  ['linux2404-64', 'Linux 24.04 x64'],
  ['linux64-asan', 'Linux x64 asan'],
  ['linux64-tsan', 'Linux x64 tsan'],
  ['linux64-shippable', 'Linux x64 Shippable'],
  ['osx-cross', 'OS X Cross Compiled'],
  ['macosx1015-64', 'OS X 10.15'],
  ['macosx1100-64', 'OS X 11'],
  ['macosx1400-64', 'macOS 14'],
  ['macosx1500-aarch64', 'macOS 15 aarch64'],
  ['windows2012-32', 'Windows 2012'],
  ['windows2012-64', 'Windows 2012 x64'],
  ['windows10-64', 'Windows 10 x64'],
  ['windows11-64', 'Windows 11 x64'],
  ['windows11-64-24h2', 'Windows 11 x64 24H2'],
  ['windows11-aarch64', 'Windows 11 aarch64'],
  ['android-5-0-armv7', 'Android 5.0 ARMv7'],
  ['android-5-0-aarch64', 'Android 5.0 AArch64'],
  ['android-em-7-0-x86_64', 'Android 7.0 x86-64'],
  ['android-hw-a55-14-0-aarch64', 'Android 14 Pixel 5 AArch64'],
  ['gecko-decision', 'Gecko Decision Task'],
  ['lint', 'Linting'],
];

const platformIndex = new Map(PLATFORM_NAMES.map(([k], i) => [k, i]));
const platformLabels = new Map(PLATFORM_NAMES);

export function platformName(platform: string): string {
  return platformLabels.get(platform) ?? platform;
}

/** Option order within a platform: opt first, then pgo, sanitizers, debug. */
const OPTION_ORDER = ['opt', 'pgo', 'asan', 'tsan', 'shippable', 'ccov', 'debug'];

function optionRank(o: string): number {
  const i = OPTION_ORDER.indexOf(o);
  return i < 0 ? OPTION_ORDER.length : i;
}

/** Natural order for symbols: "bc2" before "bc10". */
export const symbolCompare = new Intl.Collator('en', { numeric: true, sensitivity: 'base' }).compare;

export interface JobGroup {
  key: string;
  symbol: string;
  name: string;
  tier: number;
  jobs: Job[];
}

export interface PlatformRow {
  key: string;
  platform: string;
  option: string;
  label: string;
  /** Jobs outside any group, by symbol. */
  ungrouped: Job[];
  groups: JobGroup[];
}

const isUngrouped = (j: Job) => !j.job_group_symbol || j.job_group_symbol === '?';

/** Groups jobs into platform rows, sorted; jobs within a row sorted by symbol. */
export function groupJobs(jobs: Job[]): PlatformRow[] {
  const rows = new Map<string, PlatformRow>();
  const groups = new Map<string, JobGroup>();
  for (const j of jobs) {
    const rk = `${j.platform} ${j.platform_option}`;
    let row = rows.get(rk);
    if (!row) {
      row = { key: rk, platform: j.platform, option: j.platform_option, label: platformName(j.platform), ungrouped: [], groups: [] };
      rows.set(rk, row);
    }
    if (isUngrouped(j)) {
      row.ungrouped.push(j);
      continue;
    }
    const gk = `${rk}\u0000${j.job_group_symbol}\u0000${j.tier}`;
    let g = groups.get(gk);
    if (!g) {
      g = { key: `${j.job_group_symbol}:${j.tier}`, symbol: j.job_group_symbol, name: j.job_group_name, tier: j.tier, jobs: [] };
      groups.set(gk, g);
      row.groups.push(g);
    }
    g.jobs.push(j);
  }
  const bySymbol = (a: Job, b: Job) => symbolCompare(a.job_type_symbol, b.job_type_symbol) || a.id - b.id;
  const out = [...rows.values()];
  for (const r of out) {
    r.ungrouped.sort(bySymbol);
    r.groups.sort((a, b) => symbolCompare(a.symbol, b.symbol) || a.tier - b.tier);
    for (const g of r.groups) g.jobs.sort(bySymbol);
  }
  out.sort((a, b) => {
    const ia = platformIndex.get(a.platform) ?? 1e6;
    const ib = platformIndex.get(b.platform) ?? 1e6;
    return ia - ib || a.label.localeCompare(b.label) || optionRank(a.option) - optionRank(b.option) || a.option.localeCompare(b.option);
  });
  return out;
}

/**
 * What a collapsed group shows: failures (and the selected job) as buttons,
 * everything else folded into a count per status.
 */
export function collapseGroup(jobs: Job[], keep: (j: Job) => boolean): { shown: Job[]; counts: { status: string; n: number }[] } {
  const shown: Job[] = [];
  const counts = new Map<string, number>();
  for (const j of jobs) {
    if (isFailure(j) || keep(j)) shown.push(j);
    else {
      const s = displayStatus(j);
      counts.set(s, (counts.get(s) ?? 0) + 1);
    }
  }
  return { shown, counts: [...counts].map(([status, n]) => ({ status, n })) };
}

/** The jobs in the order a row displays them (for keyboard navigation). */
export function rowOrder(row: PlatformRow): Job[] {
  return [...row.ungrouped, ...row.groups.flatMap((g) => g.jobs)];
}
