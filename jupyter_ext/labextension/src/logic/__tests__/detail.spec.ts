import { canRelease, jobRows, optionRows, SchedulerJobInfo } from '../detail';

const held: SchedulerJobInfo = {
  job_id: 'u-1',
  id: 'j1a2b3c4d5e6',
  cluster: '123.0',
  state: 'HELD',
  reason: 'held: over memory',
  failure: null
};

describe('job detail', () => {
  it('shows the condor_nb id, the HTCondor job, the state and the hold reason', () => {
    expect(jobRows(held)).toEqual([
      { key: 'id', label: 'condor_nb id', value: 'j1a2b3c4d5e6' },
      { key: 'cluster', label: 'HTCondor job', value: '123.0' },
      { key: 'state', label: 'State', value: 'HELD' },
      { key: 'reason', label: 'Hold reason', value: 'held: over memory' }
    ]);
  });

  it('leaves out what is not known yet', () => {
    const queued = { ...held, state: 'QUEUED', cluster: null, reason: null };
    expect(jobRows(queued).map(r => r.key)).toEqual(['id', 'state']);
  });

  it('offers Release only for a held job', () => {
    expect(canRelease(held)).toBe(true);
    expect(canRelease({ ...held, state: 'RUNNING' })).toBe(false);
    expect(canRelease(null)).toBe(false);
  });

  it('shows options in the form order with its labels, unknown keys after', () => {
    const options = [
      { key: 'cpus', label: 'CPUs', kind: 'int' },
      { key: 'memory', label: 'Memory', kind: 'size' }
    ];
    expect(optionRows({ zeta: 'z', memory: '3GB', cpus: 2, alpha: 'a' }, options)).toEqual([
      { key: 'cpus', label: 'CPUs', value: '2' },
      { key: 'memory', label: 'Memory', value: '3GB' },
      { key: 'alpha', label: 'alpha', value: 'a' },
      { key: 'zeta', label: 'zeta', value: 'z' }
    ]);
    expect(optionRows(undefined, options)).toEqual([]);
  });
});
