/** The server extension's REST calls the form and the Job Detail card make. */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import type { CheckAnswer, FormInfo, Values } from '../logic/form';
import type { SchedulerJobInfo } from '../logic/detail';

/** A failed call: the server's message and hint ({"message", "hint"}), and its status. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly hint?: string
  ) {
    super(hint ? `${message} (${hint})` : message);
  }
}

async function call<T>(path: string, init: RequestInit = {}): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, 'condor_nb', path);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ApiError(`cannot reach the Jupyter server: ${String(error)}`, 0);
  }
  const text = await response.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!response.ok) {
    const detail = (body ?? {}) as { message?: string; hint?: string };
    throw new ApiError(
      detail.message ?? `${init.method ?? 'GET'} ${path}: HTTP ${response.status}`,
      response.status,
      detail.hint
    );
  }
  return body as T;
}

function post<T>(path: string, body: unknown): Promise<T> {
  return call<T>(path, { method: 'POST', body: JSON.stringify(body) });
}

/** GET /condor_nb/form: the fields, environments and the notebook's parameters. */
export function getForm(notebook: string): Promise<FormInfo> {
  const query = notebook ? `?notebook=${encodeURIComponent(notebook)}` : '';
  return call<FormInfo>(`form${query}`);
}

/** POST /condor_nb/form/check: the errors the CLI would give (nothing is submitted). */
export function checkForm(body: {
  notebook: string;
  environment: string;
  options: Values;
  parameters: Values;
}): Promise<CheckAnswer> {
  return post<CheckAnswer>('form/check', body);
}

/** GET /condor_nb/scheduler-jobs/<id>: condor_nb's view of a jupyter-scheduler job. */
export function getSchedulerJob(jobId: string): Promise<SchedulerJobInfo> {
  return call<SchedulerJobInfo>(`scheduler-jobs/${encodeURIComponent(jobId)}`);
}

/** POST /condor_nb/jobs/<id>/actions {"action": "release"}. */
export function releaseJob(id: string): Promise<{ id: string; state: string }> {
  return post(`jobs/${encodeURIComponent(id)}/actions`, { action: 'release' });
}
