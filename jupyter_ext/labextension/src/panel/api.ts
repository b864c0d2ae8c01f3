/** Calls to condor_nb's REST API under <base_url>/condor_nb/ (ServerConnection: token, xsrf). */
import { ApiError, requestAPI } from '../api';

import type { IPanelData, ISweepDetail, JobAction, SweepAction } from '../logic/panel';

export { ApiError, requestAPI };

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
