/**
 * The condor_nb panel's pure logic: the shapes of GET /condor_nb/panel, state labels,
 * progress, time and size formatting, and which actions a row offers. No DOM, no
 * JupyterLab: unit-tested with jest.
 */

export const STATES = ['RUNNING', 'QUEUED', 'HELD', 'FAILED', 'COMPLETED', 'REMOVED'] as const;
export type State = (typeof STATES)[number];

export interface ICell {
  number: number;
  total: number;
  source?: string | null;
  since?: number | null;
}

export interface IUsage {
  runtime_s?: number | null;
  cpu_s?: number | null;
  memory_mb?: number | null;
  disk_mb?: number | null;
}

export interface IJobRow {
  id: string;
  name: string;
  notebook: string;
  state: string;
  cluster?: string | null;
  submitted?: number | null;
  frontend?: string | null;
  cell?: ICell | null;
  progress?: number | null;
  reason?: string | null;
  failure?: string | null;
  usage?: IUsage | null;
  outputs?: { fetched?: boolean; at_risk?: boolean } | null;
  /** Only in a sweep's procs. */
  proc?: number;
  params?: { [name: string]: unknown };
}

export interface ISweepRow {
  id: string;
  name: string;
  notebook: string;
  cluster?: string | null;
  submitted?: number | null;
  total: number;
  counts: { [state: string]: number };
  progress?: number | null;
}

export interface IScheduleRun {
  time: number;
  state: string;
  job?: string | null;
  reason?: string | null;
}

export interface IScheduleRow {
  id: string;
  name: string;
  notebook: string;
  cron?: string | null;
  paused?: boolean;
  next_run?: number | null;
  runs: IScheduleRun[];
}

export interface IPanelData {
  generated: number;
  refresh_s: number;
  jobs: IJobRow[];
  sweeps: ISweepRow[];
  schedules: IScheduleRow[];
  /** Set when the schedd (or its collector) could not be asked: what failed, what to
   * do; the rows are then the registry's, as last seen. */
  error?: string | null;
  /** What could not be read this time (a schedule's runs); the rows are still there. */
  problems?: string[];
}

export interface ISweepDetail {
  id: string;
  procs: IJobRow[];
  results: { columns: string[]; rows: unknown[][] };
}

/** "RUNNING" -> "Running"; an unknown state is shown as given, capitalised. */
export function stateLabel(state: string): string {
  if (!state) {
    return 'Unknown';
  }
  const s = state.toLowerCase();
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** A finished state: nothing more will happen to the job by itself. */
export function isFinal(state: string): boolean {
  return state === 'COMPLETED' || state === 'FAILED' || state === 'REMOVED';
}

export interface IProgress {
  /** 0..1, or null when unknown. */
  fraction: number | null;
  /** What the bar says, e.g. "cell 3 of 5". */
  text: string;
}

/** A job's progress: the cell being run (cell N of M) while RUNNING, full when done. */
export function jobProgress(job: Pick<IJobRow, 'state' | 'cell' | 'progress'>): IProgress {
  if (job.state === 'COMPLETED') {
    return { fraction: 1, text: 'done' };
  }
  const cell = job.cell;
  if (job.state === 'RUNNING' && cell && cell.total > 0) {
    const fraction =
      typeof job.progress === 'number' ? job.progress : (Math.max(cell.number, 1) - 1) / cell.total;
    return { fraction: clamp01(fraction), text: `cell ${cell.number} of ${cell.total}` };
  }
  if (job.state === 'RUNNING') {
    return { fraction: null, text: 'starting' };
  }
  return { fraction: null, text: '' };
}

export interface ISegment {
  state: string;
  count: number;
  /** Share of the sweep's total, 0..1. */
  fraction: number;
}

/** The stacked bar of a sweep: one segment per state with procs, in STATES order. */
export function sweepSegments(counts: { [state: string]: number }, total?: number): ISegment[] {
  const sum = Object.values(counts).reduce((a, b) => a + (b > 0 ? b : 0), 0);
  const whole = Math.max(total ?? 0, sum);
  if (whole <= 0) {
    return [];
  }
  const order = [...STATES, ...Object.keys(counts).filter(k => !(STATES as readonly string[]).includes(k))];
  return order
    .filter(state => (counts[state] ?? 0) > 0)
    .map(state => ({ state, count: counts[state], fraction: counts[state] / whole }));
}

/** "3 completed, 2 running, 1 queued" (zero counts left out; "no procs" when empty). */
export function sweepSummary(counts: { [state: string]: number }): string {
  const parts = sweepSegments(counts).map(s => `${s.count} ${s.state.toLowerCase()}`);
  return parts.length ? parts.join(', ') : 'no procs';
}

/** Share of a sweep's procs that are finished (completed, failed or removed). */
export function sweepDone(counts: { [state: string]: number }, total: number): number {
  if (total <= 0) {
    return 0;
  }
  const done = (counts.COMPLETED ?? 0) + (counts.FAILED ?? 0) + (counts.REMOVED ?? 0);
  return clamp01(done / total);
}

/** 0 -> "0s", 75 -> "1m 15s", 3725 -> "1h 2m", 90000 -> "1d 1h". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !isFinite(seconds) || seconds < 0) {
    return '-';
  }
  const s = Math.round(seconds);
  if (s < 60) {
    return `${s}s`;
  }
  if (s < 3600) {
    return `${Math.floor(s / 60)}m ${s % 60}s`;
  }
  if (s < 86400) {
    return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  }
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

/** A time relative to now: "in 5m 0s", "3m 20s ago", "just now". Both epoch seconds. */
export function formatRelative(time: number | null | undefined, now: number): string {
  if (time === null || time === undefined || !isFinite(time)) {
    return '-';
  }
  const delta = time - now;
  if (Math.abs(delta) < 1) {
    return 'just now';
  }
  return delta > 0 ? `in ${formatDuration(delta)}` : `${formatDuration(-delta)} ago`;
}

/** An absolute time for a title attribute: "2026-12-07 15:40:00 UTC". */
export function formatAbsolute(time: number | null | undefined): string {
  if (time === null || time === undefined || !isFinite(time)) {
    return '';
  }
  return new Date(time * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

/** Megabytes: 120 -> "120 MB", 2048 -> "2.0 GB", 0.4 -> "0.4 MB". */
export function formatSize(mb: number | null | undefined): string {
  if (mb === null || mb === undefined || !isFinite(mb) || mb < 0) {
    return '-';
  }
  if (mb >= 1024 * 1024) {
    return `${(mb / (1024 * 1024)).toFixed(1)} TB`;
  }
  if (mb >= 1024) {
    return `${(mb / 1024).toFixed(1)} GB`;
  }
  return mb < 10 && mb !== Math.round(mb) ? `${mb.toFixed(1)} MB` : `${Math.round(mb)} MB`;
}

/** "runtime 12s · CPU 10s · memory 120 MB · disk 3 MB", only what is known ("" if nothing). */
export function usageSummary(usage: IUsage | null | undefined): string {
  if (!usage) {
    return '';
  }
  const parts: string[] = [];
  if (usage.runtime_s !== null && usage.runtime_s !== undefined) {
    parts.push(`runtime ${formatDuration(usage.runtime_s)}`);
  }
  if (usage.cpu_s !== null && usage.cpu_s !== undefined) {
    parts.push(`CPU ${formatDuration(usage.cpu_s)}`);
  }
  if (usage.memory_mb !== null && usage.memory_mb !== undefined) {
    parts.push(`memory ${formatSize(usage.memory_mb)}`);
  }
  if (usage.disk_mb !== null && usage.disk_mb !== undefined) {
    parts.push(`disk ${formatSize(usage.disk_mb)}`);
  }
  return parts.join(' · ');
}

export type JobAction = 'hold' | 'release' | 'remove' | 'fetch';
export type SweepAction = 'retry' | 'hold' | 'release' | 'remove';

/** The actions a job row offers, in the order shown. */
export function jobActions(job: Pick<IJobRow, 'state'>): JobAction[] {
  switch (job.state) {
    case 'QUEUED':
    case 'RUNNING':
      return ['hold', 'remove'];
    case 'HELD':
      return ['release', 'remove'];
    case 'COMPLETED':
    case 'FAILED':
      return ['fetch', 'remove'];
    default:
      return [];
  }
}

/** The actions a sweep's proc offers: its outputs once it ended (the sweep's own
 * buttons hold, release, remove and retry its procs together). */
export function procActions(job: Pick<IJobRow, 'state'>): JobAction[] {
  return jobActions(job).filter(a => a === 'fetch');
}

/** Removing the job now loses outputs not fetched yet: ask first, then send force. */
export function removeNeedsConfirm(job: Pick<IJobRow, 'outputs'>): boolean {
  return Boolean(job.outputs && job.outputs.at_risk);
}

/** The actions a sweep row offers. */
export function sweepActions(sweep: Pick<ISweepRow, 'counts'>): SweepAction[] {
  const c = sweep.counts;
  const actions: SweepAction[] = [];
  if ((c.FAILED ?? 0) > 0) {
    actions.push('retry');
  }
  if ((c.QUEUED ?? 0) + (c.RUNNING ?? 0) > 0) {
    actions.push('hold');
  }
  if ((c.HELD ?? 0) > 0) {
    actions.push('release');
  }
  if ((c.QUEUED ?? 0) + (c.RUNNING ?? 0) + (c.HELD ?? 0) > 0) {
    actions.push('remove');
  }
  return actions;
}

/** A button's label for an action. */
export function actionLabel(action: JobAction | SweepAction): string {
  switch (action) {
    case 'fetch':
      return 'Open output';
    case 'retry':
      return 'Retry failed';
    default:
      return stateLabel(action);
  }
}

/** One line saying why a job waits, was held or failed ("" when there is nothing to say). */
export function jobNote(job: Pick<IJobRow, 'state' | 'reason' | 'failure'>): string {
  if (job.state === 'FAILED' && job.failure) {
    return job.failure;
  }
  if ((job.state === 'QUEUED' || job.state === 'HELD') && job.reason) {
    return job.reason;
  }
  return job.failure || '';
}

/** The page of rows to render: rows [page*size, (page+1)*size), page clamped to range. */
export function pageOf<T>(rows: T[], page: number, size: number): { rows: T[]; page: number; pages: number } {
  const pages = Math.max(1, Math.ceil(rows.length / Math.max(1, size)));
  const p = Math.min(Math.max(0, Math.floor(page)), pages - 1);
  return { rows: rows.slice(p * size, (p + 1) * size), page: p, pages };
}

/** Counts of jobs per state, for the panel's header ("2 running, 1 held"). */
export function jobCounts(jobs: Pick<IJobRow, 'state'>[]): { [state: string]: number } {
  const counts: { [state: string]: number } = {};
  for (const job of jobs) {
    counts[job.state] = (counts[job.state] ?? 0) + 1;
  }
  return counts;
}

/** The panel's status line while polling fails. */
export function connectionNote(failures: number, lastOk: number | null, now: number): string {
  if (failures <= 0) {
    return '';
  }
  const since = lastOk === null ? '' : ` (last update ${formatRelative(lastOk, now)})`;
  return `Server unreachable, retrying${since}`;
}

function clamp01(x: number): number {
  return isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}
