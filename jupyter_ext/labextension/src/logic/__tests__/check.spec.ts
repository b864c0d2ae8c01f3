import { LatestCheck } from '../check';

type Call = [string, string | null, string | null];

/** A check whose answers the test gives, one per request, when it wants. */
function setup(timeoutMs = 20_000) {
  const calls: Call[] = [];
  const pending: { key: string; resolve: (a: string) => void; reject: (e: Error) => void }[] =
    [];
  const check = new LatestCheck<string>(
    key =>
      new Promise<string>((resolve, reject) => {
        pending.push({ key, resolve, reject });
      }),
    (key, answer, error) => calls.push([key, answer, error]),
    300,
    timeoutMs
  );
  return { check, calls, pending };
}

async function flush(): Promise<void> {
  await Promise.resolve();
  await Promise.resolve();
}

describe('the check as the user types', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('asks once, after the last change, and settles with its answer', async () => {
    const { check, calls, pending } = setup();
    check.request('1');
    jest.advanceTimersByTime(100);
    check.request('1e');
    jest.advanceTimersByTime(299);
    expect(pending).toHaveLength(0);
    jest.advanceTimersByTime(1);
    expect(pending.map(p => p.key)).toEqual(['1e']);
    pending[0].resolve('error of 1e');
    await flush();
    expect(calls).toEqual([['1e', 'error of 1e', null]]);
  });

  it('ignores the answer to values changed since', async () => {
    const { check, calls, pending } = setup();
    check.request('a');
    jest.advanceTimersByTime(300);
    check.request('b');
    jest.advanceTimersByTime(300);
    pending[1].resolve('B');
    pending[0].resolve('A');
    await flush();
    expect(calls).toEqual([['b', 'B', null]]);
  });

  it('settles a failed check with its reason', async () => {
    const { check, calls, pending } = setup();
    check.request('a');
    jest.advanceTimersByTime(300);
    pending[0].reject(new Error('the check failed'));
    await flush();
    expect(calls).toEqual([['a', null, 'the check failed']]);
    jest.advanceTimersByTime(60_000);
    expect(calls).toHaveLength(1); // no "no answer" after it answered
  });

  it('stops waiting for a check that does not answer, and takes its late answer', async () => {
    const { check, calls, pending } = setup(20_000);
    check.request('a');
    jest.advanceTimersByTime(300 + 19_999);
    expect(calls).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(calls).toEqual([['a', null, 'no answer within 20 s']]);
    pending[0].resolve('A');
    await flush();
    expect(calls[1]).toEqual(['a', 'A', null]);
  });

  it('says nothing once disposed (the form closed)', async () => {
    const { check, calls, pending } = setup();
    check.request('a');
    jest.advanceTimersByTime(300);
    check.dispose();
    pending[0].resolve('A');
    await flush();
    jest.advanceTimersByTime(60_000);
    expect(calls).toEqual([]);
  });
});
