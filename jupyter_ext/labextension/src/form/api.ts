/** The server extension's REST calls the form and the Job Detail card make. */
import { ApiError, requestAPI } from '../api';

import type { CheckAnswer, CheckBody, FormInfo } from '../logic/form';
import type { SchedulerJobInfo } from '../logic/detail';

export { ApiError };

function post<T>(path: string, body: unknown): Promise<T> {
  return requestAPI<T>(path, { method: 'POST', body: JSON.stringify(body) });
}

/** GET /condor_nb/form: the fields, environments and the notebook's parameters. */
export function getForm(notebook: string): Promise<FormInfo> {
  const query = notebook ? `?notebook=${encodeURIComponent(notebook)}` : '';
  return requestAPI<FormInfo>(`form${query}`);
}

/** POST /condor_nb/form/check: the errors the CLI would give (nothing is submitted). */
export function checkForm(body: CheckBody): Promise<CheckAnswer> {
  return post<CheckAnswer>('form/check', body);
}

/** GET /condor_nb/scheduler-jobs/<id>: condor_nb's view of a jupyter-scheduler job. */
export function getSchedulerJob(jobId: string): Promise<SchedulerJobInfo> {
  return requestAPI<SchedulerJobInfo>(`scheduler-jobs/${encodeURIComponent(jobId)}`);
}

/** POST /condor_nb/jobs/<id>/actions {"action": "release"}. */
export function releaseJob(id: string): Promise<{ id: string; state: string }> {
  return post(`jobs/${encodeURIComponent(id)}/actions`, { action: 'release' });
}
