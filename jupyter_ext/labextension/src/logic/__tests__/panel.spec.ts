import {
  actionLabel,
  connectionNote,
  formatAbsolute,
  formatDuration,
  formatRelative,
  formatSize,
  jobActions,
  jobCounts,
  jobNote,
  jobProgress,
  pageOf,
  procActions,
  removeNeedsConfirm,
  stateLabel,
  sweepActions,
  sweepDone,
  sweepSegments,
  sweepSummary,
  usageSummary
} from '../panel';

describe('state labels', () => {
  it('capitalises condor_nb states', () => {
    expect(stateLabel('RUNNING')).toBe('Running');
    expect(stateLabel('HELD')).toBe('Held');
    expect(stateLabel('MISSED')).toBe('Missed');
    expect(stateLabel('')).toBe('Unknown');
  });
});

describe('job progress', () => {
  it('says which cell runs and fills the bar from the server progress', () => {
    const p = jobProgress({ state: 'RUNNING', cell: { number: 3, total: 5 }, progress: 0.4 });
    expect(p).toEqual({ fraction: 0.4, text: 'cell 3 of 5' });
  });
  it('derives the fraction from the cell when the server gives none', () => {
    expect(jobProgress({ state: 'RUNNING', cell: { number: 3, total: 4 } }).fraction).toBe(0.5);
    expect(jobProgress({ state: 'RUNNING', cell: { number: 1, total: 4 } }).fraction).toBe(0);
  });
  it('clamps nonsense and handles a running job without a cell yet', () => {
    expect(jobProgress({ state: 'RUNNING', cell: { number: 9, total: 4 }, progress: 7 }).fraction).toBe(1);
    expect(jobProgress({ state: 'RUNNING', cell: null })).toEqual({ fraction: null, text: 'starting' });
    expect(jobProgress({ state: 'RUNNING', cell: { number: 0, total: 0 } }).text).toBe('starting');
  });
  it('is full when completed and absent when queued or held', () => {
    expect(jobProgress({ state: 'COMPLETED' }).fraction).toBe(1);
    expect(jobProgress({ state: 'QUEUED', cell: { number: 2, total: 4 } })).toEqual({ fraction: null, text: '' });
    expect(jobProgress({ state: 'HELD' }).fraction).toBeNull();
  });
});

describe('sweep summaries', () => {
  const counts = { QUEUED: 1, RUNNING: 2, COMPLETED: 3, FAILED: 0, HELD: 0, REMOVED: 0 };
  it('has one segment per state with procs, in a fixed order, as shares of the total', () => {
    const segs = sweepSegments(counts, 6);
    expect(segs.map(s => s.state)).toEqual(['RUNNING', 'QUEUED', 'COMPLETED']);
    expect(segs.map(s => s.count)).toEqual([2, 1, 3]);
    expect(segs.reduce((a, s) => a + s.fraction, 0)).toBeCloseTo(1);
  });
  it('leaves room for procs not counted yet and survives an empty sweep', () => {
    expect(sweepSegments({ COMPLETED: 5 }, 10)[0].fraction).toBe(0.5);
    expect(sweepSegments({}, 0)).toEqual([]);
    expect(sweepSummary({})).toBe('no procs');
  });
  it('keeps unknown states at the end', () => {
    expect(sweepSegments({ WEIRD: 1, COMPLETED: 1 }).map(s => s.state)).toEqual(['COMPLETED', 'WEIRD']);
  });
  it('says the counts in words', () => {
    expect(sweepSummary(counts)).toBe('2 running, 1 queued, 3 completed');
  });
  it('counts finished procs', () => {
    expect(sweepDone({ COMPLETED: 3, FAILED: 1, RUNNING: 2 }, 6)).toBeCloseTo(4 / 6);
    expect(sweepDone({}, 0)).toBe(0);
  });
});

describe('formatting', () => {
  it('formats durations', () => {
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(12.4)).toBe('12s');
    expect(formatDuration(75)).toBe('1m 15s');
    expect(formatDuration(3725)).toBe('1h 2m');
    expect(formatDuration(90000)).toBe('1d 1h');
    expect(formatDuration(null)).toBe('-');
    expect(formatDuration(-3)).toBe('-');
  });
  it('formats times relative to now', () => {
    expect(formatRelative(1300, 1000)).toBe('in 5m 0s');
    expect(formatRelative(800, 1000)).toBe('3m 20s ago');
    expect(formatRelative(1000.2, 1000)).toBe('just now');
    expect(formatRelative(undefined, 1000)).toBe('-');
  });
  it('formats absolute times in UTC', () => {
    expect(formatAbsolute(0)).toBe('1970-01-01 00:00:00 UTC');
    expect(formatAbsolute(null)).toBe('');
  });
  it('formats sizes', () => {
    expect(formatSize(120)).toBe('120 MB');
    expect(formatSize(0.4)).toBe('0.4 MB');
    expect(formatSize(2048)).toBe('2.0 GB');
    expect(formatSize(undefined)).toBe('-');
  });
  it('summarises usage with only what is known', () => {
    expect(usageSummary({ runtime_s: 12, cpu_s: 10.5, memory_mb: 120, disk_mb: 3 })).toBe(
      'runtime 12s · CPU 11s · memory 120 MB · disk 3 MB'
    );
    expect(usageSummary({ runtime_s: 5, memory_mb: null })).toBe('runtime 5s');
    expect(usageSummary(null)).toBe('');
  });
});

describe('actions', () => {
  it('offers what the state allows', () => {
    expect(jobActions({ state: 'RUNNING' })).toEqual(['hold', 'remove']);
    expect(jobActions({ state: 'QUEUED' })).toEqual(['hold', 'remove']);
    expect(jobActions({ state: 'HELD' })).toEqual(['release', 'remove']);
    expect(jobActions({ state: 'COMPLETED' })).toEqual(['fetch', 'remove']);
    expect(jobActions({ state: 'FAILED' })).toEqual(['fetch', 'remove']);
    expect(jobActions({ state: 'REMOVED' })).toEqual([]);
  });
  it("offers a sweep's proc its outputs once it ended, nothing else", () => {
    expect(procActions({ state: 'COMPLETED' })).toEqual(['fetch']);
    expect(procActions({ state: 'FAILED' })).toEqual(['fetch']);
    expect(procActions({ state: 'RUNNING' })).toEqual([]);
    expect(procActions({ state: 'HELD' })).toEqual([]);
  });
  it('asks before removing a job whose outputs are not fetched', () => {
    expect(removeNeedsConfirm({ outputs: { fetched: false, at_risk: true } })).toBe(true);
    expect(removeNeedsConfirm({ outputs: { fetched: true, at_risk: false } })).toBe(false);
    expect(removeNeedsConfirm({ outputs: null })).toBe(false);
  });
  it('offers retry only for a sweep with failed procs', () => {
    expect(sweepActions({ counts: { COMPLETED: 5, FAILED: 1 } })).toEqual(['retry']);
    expect(sweepActions({ counts: { RUNNING: 2, HELD: 1 } })).toEqual(['hold', 'release', 'remove']);
    expect(sweepActions({ counts: { COMPLETED: 6 } })).toEqual([]);
  });
  it('labels buttons', () => {
    expect(actionLabel('fetch')).toBe('Open output');
    expect(actionLabel('retry')).toBe('Retry failed');
    expect(actionLabel('release')).toBe('Release');
  });
});

describe('notes and paging', () => {
  it('shows why a job waits, was held or failed', () => {
    expect(jobNote({ state: 'QUEUED', reason: 'no machine has 64 CPUs', failure: null })).toBe(
      'no machine has 64 CPUs'
    );
    expect(jobNote({ state: 'HELD', reason: 'held by user', failure: null })).toBe('held by user');
    expect(jobNote({ state: 'FAILED', reason: null, failure: 'cell 2: ZeroDivisionError' })).toBe(
      'cell 2: ZeroDivisionError'
    );
    expect(jobNote({ state: 'RUNNING', reason: 'stale', failure: null })).toBe('');
  });
  it('pages rows and clamps the page', () => {
    const rows = Array.from({ length: 1000 }, (_, i) => i);
    const first = pageOf(rows, 0, 100);
    expect(first.rows.length).toBe(100);
    expect(first.pages).toBe(10);
    expect(pageOf(rows, 42, 100).page).toBe(9);
    expect(pageOf(rows, -1, 100).rows[0]).toBe(0);
    expect(pageOf([], 3, 100)).toEqual({ rows: [], page: 0, pages: 1 });
  });
  it('counts jobs per state', () => {
    expect(jobCounts([{ state: 'RUNNING' }, { state: 'HELD' }, { state: 'RUNNING' }])).toEqual({
      RUNNING: 2,
      HELD: 1
    });
  });
  it('says the server is unreachable only while polling fails', () => {
    expect(connectionNote(0, 100, 200)).toBe('');
    expect(connectionNote(2, 100, 200)).toBe('Server unreachable, retrying (last update 1m 40s ago)');
    expect(connectionNote(1, null, 200)).toBe('Server unreachable, retrying');
  });
});
