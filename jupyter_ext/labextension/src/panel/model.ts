/**
 * The panel's model: ONE per browser tab, however many views (side panel, main-area
 * views) show it. Polls GET /condor_nb/panel every refresh_s with a lumino Poll, backs
 * off while the server is unreachable and recovers by itself when it is back.
 */
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import type { IPanelData, ISweepDetail } from '../logic/panel';
import { ApiError, getPanel, getSweep } from './api';

const DEFAULT_INTERVAL_MS = 5000;
const MAX_BACKOFF_MS = 15000;

export class PanelModel {
  constructor(fetchPanel: () => Promise<IPanelData> = getPanel) {
    this._fetchPanel = fetchPanel;
    this._poll = new Poll({
      auto: false,
      factory: () => this._tick(),
      frequency: { interval: DEFAULT_INTERVAL_MS, backoff: true, max: MAX_BACKOFF_MS },
      name: 'condor-nb:panel',
      // Nobody looks: no requests (the server's refresh is shared, but why ask at all).
      standby: () => (this._views === 0 ? true : 'when-hidden')
    });
  }

  /** The last good answer of GET /condor_nb/panel (null before the first). */
  data: IPanelData | null = null;
  /** Failed polls in a row (0 when the last one succeeded). */
  failures = 0;
  /** Epoch seconds of the last good answer. */
  lastOk: number | null = null;
  /** The last poll's error message ('' when it succeeded). */
  lastError = '';
  /** Results of actions and errors worth a line in the panel. */
  message: { text: string; kind: 'info' | 'error' } | null = null;
  /** Sweeps shown expanded, and their procs/results (refreshed on each tick). */
  readonly expanded = new Set<string>();
  readonly sweeps = new Map<string, ISweepDetail>();
  readonly sweepErrors = new Map<string, string>();

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** A view shows the model: start polling (the first view triggers a fetch at once). */
  attach(): void {
    this._views += 1;
    if (this._views === 1) {
      void this._poll.start();
      void this._poll.refresh();
    }
  }

  detach(): void {
    this._views = Math.max(0, this._views - 1);
  }

  /** Poll now (after an action, or the Refresh button). */
  refresh(): Promise<void> {
    return this._poll.refresh();
  }

  say(text: string, kind: 'info' | 'error' = 'info'): void {
    this.message = { text, kind };
    this._changed.emit();
  }

  toggleSweep(id: string): void {
    if (this.expanded.has(id)) {
      this.expanded.delete(id);
      this._changed.emit();
      return;
    }
    this.expanded.add(id);
    this._changed.emit();
    void this._loadSweep(id);
  }

  dispose(): void {
    this._poll.dispose();
    Signal.clearData(this);
  }

  private async _loadSweep(id: string): Promise<void> {
    try {
      this.sweeps.set(id, await getSweep(id));
      this.sweepErrors.delete(id);
    } catch (error) {
      this.sweepErrors.set(id, error instanceof Error ? error.message : String(error));
    }
    this._changed.emit();
  }

  private async _tick(): Promise<void> {
    let data: IPanelData;
    try {
      data = await this._fetchPanel();
    } catch (error) {
      this.failures += 1;
      // unreachable (status 0): the status line says so; an answer's message is worth showing
      this.lastError = error instanceof ApiError && error.status === 0 ? '' : error instanceof Error ? error.message : String(error);
      this._changed.emit();
      if (error instanceof ApiError && error.status >= 400 && error.status < 500 && error.status !== 404) {
        return; // an answer (e.g. 403): retrying faster will not help, keep the interval
      }
      throw error; // rejected: the Poll backs off
    }
    this.data = data;
    this.failures = 0;
    this.lastError = '';
    this.lastOk = Date.now() / 1000;
    this._changed.emit();
    const interval = Math.round(Math.max(1, data.refresh_s || DEFAULT_INTERVAL_MS / 1000) * 1000);
    if (interval !== this._poll.frequency.interval) {
      // the backoff's ceiling is never below the interval (the Poll refuses that)
      this._poll.frequency = { interval, backoff: true, max: Math.max(interval, MAX_BACKOFF_MS) };
    }
    if (this.expanded.size) {
      await Promise.all([...this.expanded].map(id => this._loadSweep(id)));
    }
  }

  private _fetchPanel: () => Promise<IPanelData>;
  private _poll: Poll;
  private _views = 0;
  private _changed = new Signal<this, void>(this);
}
