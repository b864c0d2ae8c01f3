/**
 * jupyter-scheduler's Job Detail page, condor_nb's part: what GET
 * /condor_nb/scheduler-jobs/<id> answers and how it is shown.
 */
import type { FormOption } from './form';
import type { RuntimeParameters } from './options';

/** GET /condor_nb/scheduler-jobs/<jupyter-scheduler job id>. */
export interface SchedulerJobInfo {
  job_id: string;
  /** condor_nb's own job id (what `condor_nb q` lists). */
  id: string;
  /** The HTCondor job id, cluster.proc (null before the schedd gave one). */
  cluster: string | null;
  /** QUEUED RUNNING COMPLETED FAILED HELD REMOVED. */
  state: string;
  /** Why it waits (QUEUED) or why it was held (HELD). */
  reason?: string | null;
  failure?: string | null;
}

/** A row of a read-only description: a label and a value. */
export interface Row {
  key: string;
  label: string;
  value: string;
}

/** The rows of the condor_nb card of a job's detail page, empty values left out. */
export function jobRows(info: SchedulerJobInfo): Row[] {
  const rows: Row[] = [
    { key: 'id', label: 'condor_nb id', value: info.id },
    { key: 'cluster', label: 'HTCondor job', value: info.cluster ?? '' },
    { key: 'state', label: 'State', value: info.state },
    {
      key: 'reason',
      label: info.state === 'HELD' ? 'Hold reason' : 'Reason',
      value: info.reason ?? ''
    },
    { key: 'failure', label: 'Failure', value: info.failure ?? '' }
  ];
  return rows.filter(row => row.value !== '');
}

/** Whether the job can be released from its detail page. */
export function canRelease(info: SchedulerJobInfo | null): boolean {
  return info !== null && info.state === 'HELD';
}

/**
 * A job's (or definition's) options as rows, in the form's order with the form's labels
 * when known; keys the form does not know come after, by name.
 */
export function optionRows(params: RuntimeParameters | undefined, options: FormOption[]): Row[] {
  const rest = { ...(params ?? {}) };
  const rows: Row[] = [];
  for (const option of options) {
    if (option.key in rest) {
      rows.push({ key: option.key, label: option.label, value: String(rest[option.key]) });
      delete rest[option.key];
    }
  }
  for (const key of Object.keys(rest).sort()) {
    rows.push({ key, label: key, value: String(rest[key]) });
  }
  return rows;
}
