/** Calls to condor_nb's REST API under <base_url>/condor_nb/ (ServerConnection: token, xsrf). */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import type { IPanelData, ISweepDetail, JobAction, SweepAction } from '../logic/panel';

/** An error answer of the server: its message, hint and HTTP status (0: unreachable). */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly hint: string = ''
  ) {
    super(message);
  }
}

export async function requestAPI<T>(path: string, init: RequestInit = {}): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, 'condor_nb', path);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ApiError(`the Jupyter server is unreachable (${String(error)})`, 0);
  }
  const text = await response.text();
  let data: unknown = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { message: text.slice(0, 300) };
    }
  }
  if (!response.ok) {
    const body = (data ?? {}) as { message?: string; hint?: string };
    throw new ApiError(body.message || response.statusText || `HTTP ${response.status}`, response.status, body.hint || '');
  }
  return data as T;
}

export function getPanel(): Promise<IPanelData> {
  return requestAPI<IPanelData>('panel');
}

export function getSweep(id: string): Promise<ISweepDetail> {
  return requestAPI<ISweepDetail>(`panel/sweeps/${encodeURIComponent(id)}`);
}

export interface IActionAnswer {
  id: string;
  state?: string;
  folder?: string | null;
  notebook?: string | null;
  html?: string | null;
  message?: string;
}

export function jobAction(id: string, action: JobAction, force = false): Promise<IActionAnswer> {
  return requestAPI<IActionAnswer>(`jobs/${encodeURIComponent(id)}/actions`, {
    method: 'POST',
    body: JSON.stringify({ action, force })
  });
}

export function sweepAction(id: string, action: SweepAction, force = false): Promise<IActionAnswer> {
  return requestAPI<IActionAnswer>(`sweeps/${encodeURIComponent(id)}/actions`, {
    method: 'POST',
    body: JSON.stringify({ action, force })
  });
}
