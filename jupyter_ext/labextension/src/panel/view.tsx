/**
 * The condor_nb panel's views: jobs, sweeps and schedules from the shared PanelModel.
 * Markup for people and tests alike: roles, aria labels, data-state/data-id attributes.
 */
import React from 'react';
import { Dialog, ReactWidget, showDialog, UseSignal } from '@jupyterlab/apputils';
import { LabIcon } from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';
import { Message } from '@lumino/messaging';

import {
  actionLabel,
  connectionNote,
  formatAbsolute,
  formatDuration,
  formatRelative,
  IJobRow,
  IPanelData,
  IScheduleRow,
  ISweepDetail,
  ISweepRow,
  jobActions,
  JobAction,
  jobCounts,
  jobNote,
  jobProgress,
  pageOf,
  procActions,
  removeNeedsConfirm,
  stateLabel,
  sweepActions,
  SweepAction,
  sweepSegments,
  sweepSummary,
  usageSummary
} from '../logic/panel';
import { ApiError, jobAction, sweepAction } from './api';
import { PanelModel } from './model';

/** Rows rendered at once: 1,000 jobs are paged, so a refresh stays cheap. */
export const PAGE_SIZE = 50;

const ICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
<g class="jp-icon3" fill="#616161"><rect x="3" y="4" width="18" height="3" rx="1"/>
<rect x="3" y="10.5" width="12" height="3" rx="1"/><rect x="3" y="17" width="15" height="3" rx="1"/></g></svg>`;

export const condorNbIcon = new LabIcon({ name: 'condor-nb:panel', svgstr: ICON_SVG });

interface IContext {
  model: PanelModel;
  commands: CommandRegistry;
}

/** An ApiError's message is the server's, then its hint. */
function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function confirmLoss(what: string, message: string): Promise<boolean> {
  const result = await showDialog({
    title: `Remove ${what}?`,
    body: `${message} Unfetched outputs will be lost: fetch them first ("Open output") to keep them.`,
    buttons: [Dialog.cancelButton({ label: 'Keep it' }), Dialog.warnButton({ label: 'Remove and lose outputs' })]
  });
  return result.button.accept;
}

async function openPaths(commands: CommandRegistry, paths: (string | null | undefined)[]): Promise<void> {
  for (const path of paths) {
    if (path) {
      await commands.execute('docmanager:open', { path });
    }
  }
}

async function runJobAction(ctx: IContext, job: IJobRow, action: JobAction | 'report'): Promise<void> {
  const { model } = ctx;
  try {
    if (action === 'fetch' || action === 'report') {
      model.say(`Fetching the outputs of ${job.name}...`);
      const answer = await jobAction(job.id, 'fetch');
      const path = action === 'report' ? answer.html : answer.notebook || answer.html;
      if (!path) {
        model.say(`${job.name}: no ${action === 'report' ? 'HTML report' : 'executed notebook'} among its outputs (in ${answer.folder ?? '?'})`, 'error');
      } else {
        await openPaths(ctx.commands, [path]);
        model.say(`Opened ${path}`);
      }
    } else if (action === 'remove') {
      let force = false;
      if (removeNeedsConfirm(job)) {
        force = await confirmLoss(`job ${job.name}`, `Job ${job.name} has outputs not fetched yet.`);
        if (!force) {
          return;
        }
      }
      try {
        await jobAction(job.id, 'remove', force);
      } catch (error) {
        if (!(error instanceof ApiError && error.status === 409) || force) {
          throw error;
        }
        if (!(await confirmLoss(`job ${job.name}`, error.message))) {
          return;
        }
        await jobAction(job.id, 'remove', true);
      }
      model.say(`Removed ${job.name}`);
    } else {
      await jobAction(job.id, action);
      model.say(`${actionLabel(action)}: ${job.name}`);
    }
  } catch (error) {
    model.say(`${actionLabel(action === 'report' ? 'fetch' : action)} ${job.name} failed: ${errorText(error)}`, 'error');
  }
  void model.refresh();
}

async function runSweepAction(ctx: IContext, sweep: ISweepRow, action: SweepAction): Promise<void> {
  const { model } = ctx;
  try {
    try {
      await sweepAction(sweep.id, action);
    } catch (error) {
      if (!(action === 'remove' && error instanceof ApiError && error.status === 409)) {
        throw error;
      }
      if (!(await confirmLoss(`sweep ${sweep.name}`, error.message))) {
        return;
      }
      await sweepAction(sweep.id, action, true);
    }
    model.say(`${actionLabel(action)}: sweep ${sweep.name}`);
  } catch (error) {
    model.say(`${actionLabel(action)} sweep ${sweep.name} failed: ${errorText(error)}`, 'error');
  }
  void model.refresh();
}

function StateBadge(props: { state: string }): JSX.Element {
  return (
    <span className="cnb-state" data-state={props.state} title={`state: ${props.state}`}>
      {stateLabel(props.state)}
    </span>
  );
}

function Bar(props: { fraction: number | null; text: string; label: string }): JSX.Element {
  const pct = props.fraction === null ? null : Math.round(props.fraction * 100);
  return (
    <div className="cnb-progress" title={props.text}>
      <div
        className="cnb-bar"
        role="progressbar"
        aria-label={props.label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={pct ?? undefined}
        aria-valuetext={props.text}
      >
        <div className="cnb-bar-fill" style={{ width: `${pct ?? 0}%` }} />
      </div>
      <span className="cnb-progress-text">{props.text}</span>
    </div>
  );
}

function JobButtons(props: { ctx: IContext; job: IJobRow; proc?: boolean }): JSX.Element | null {
  const { job, ctx } = props;
  const actions: (JobAction | 'report')[] = [];
  for (const a of props.proc ? procActions(job) : jobActions(job)) {
    actions.push(a);
    if (a === 'fetch') {
      actions.push('report');
    }
  }
  if (!actions.length) {
    return null;
  }
  return (
    <div className="cnb-actions" role="group" aria-label={`Actions of ${props.proc ? 'proc' : 'job'} ${job.name}`}>
      {actions.map(a => {
        const label = a === 'report' ? 'Open report' : actionLabel(a);
        return (
          <button
            key={a}
            className="jp-Button jp-mod-styled jp-mod-small cnb-action"
            data-action={a}
            aria-label={`${label} ${job.name}`}
            title={`${label}: ${job.name} (${job.id})`}
            onClick={() => void runJobAction(ctx, job, a)}
          >
            {label}
          </button>
        );
      })}
    </div>
  );
}

function JobItem(props: { ctx: IContext; job: IJobRow; proc?: boolean }): JSX.Element {
  const { job } = props;
  const progress = jobProgress(job);
  const note = jobNote(job);
  const usage = usageSummary(job.usage);
  const title = props.proc ? `proc ${job.proc}` : job.name;
  return (
    <li
      className="cnb-row cnb-job"
      data-kind={props.proc ? 'proc' : 'job'}
      data-id={job.id}
      data-state={job.state}
      aria-label={`${props.proc ? 'Proc' : 'Job'} ${title}: ${stateLabel(job.state)}`}
    >
      <div className="cnb-line">
        <StateBadge state={job.state} />
        <span className="cnb-name" title={`${job.name} (${job.id})`}>
          {title}
        </span>
        {props.proc && job.params ? (
          <span className="cnb-params" title="parameters">
            {Object.entries(job.params)
              .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
              .join(' ')}
          </span>
        ) : (
          <span className="cnb-notebook" title={job.notebook}>
            {job.notebook}
          </span>
        )}
        {job.cluster ? (
          <span className="cnb-cluster" title="HTCondor cluster id">
            {job.cluster}
          </span>
        ) : null}
      </div>
      {job.state === 'RUNNING' || job.state === 'COMPLETED' ? (
        <Bar fraction={progress.fraction} text={progress.text} label={`Progress of ${title}`} />
      ) : null}
      {job.state === 'RUNNING' && job.cell?.source ? (
        <div className="cnb-cell" title={job.cell.source}>
          <code>{job.cell.source.split('\n')[0]}</code>
        </div>
      ) : null}
      {note ? (
        <div className="cnb-note" data-note={job.state === 'FAILED' ? 'failure' : 'reason'} title={note}>
          {job.state === 'FAILED' ? 'Failed: ' : job.state === 'HELD' ? 'Held: ' : 'Waiting: '}
          {note}
        </div>
      ) : null}
      {usage ? (
        <div className="cnb-usage" title="resource usage">
          {usage}
        </div>
      ) : null}
      <JobButtons ctx={props.ctx} job={job} proc={props.proc} />
    </li>
  );
}

function Pager(props: { page: number; pages: number; total: number; onPage: (p: number) => void }): JSX.Element | null {
  if (props.pages <= 1) {
    return null;
  }
  const first = props.page * PAGE_SIZE + 1;
  const last = Math.min(props.total, (props.page + 1) * PAGE_SIZE);
  return (
    <div className="cnb-pager" role="navigation" aria-label="Pages of jobs">
      <button className="jp-Button jp-mod-styled jp-mod-small" disabled={props.page === 0} aria-label="Previous jobs" onClick={() => props.onPage(props.page - 1)}>
        ‹
      </button>
      <span>
        {first}–{last} of {props.total}
      </span>
      <button
        className="jp-Button jp-mod-styled jp-mod-small"
        disabled={props.page >= props.pages - 1}
        aria-label="Next jobs"
        onClick={() => props.onPage(props.page + 1)}
      >
        ›
      </button>
    </div>
  );
}

function Jobs(props: { ctx: IContext; jobs: IJobRow[] }): JSX.Element {
  const [page, setPage] = React.useState(0);
  const shown = pageOf(props.jobs, page, PAGE_SIZE);
  const counts = jobCounts(props.jobs);
  return (
    <section className="cnb-section" aria-label="Jobs">
      <h3>
        Jobs <span className="cnb-count">{props.jobs.length ? sweepSummary(counts) : ''}</span>
      </h3>
      {props.jobs.length === 0 ? <p className="cnb-empty">No jobs.</p> : null}
      <ul className="cnb-list" aria-label="Jobs list">
        {shown.rows.map(job => (
          <JobItem key={job.id} ctx={props.ctx} job={job} />
        ))}
      </ul>
      <Pager page={shown.page} pages={shown.pages} total={props.jobs.length} onPage={setPage} />
    </section>
  );
}

function StackedBar(props: { sweep: ISweepRow }): JSX.Element {
  const { sweep } = props;
  const segments = sweepSegments(sweep.counts, sweep.total);
  return (
    <div
      className="cnb-stacked"
      role="img"
      aria-label={`Procs of sweep ${sweep.name}: ${sweepSummary(sweep.counts)}`}
      title={sweepSummary(sweep.counts)}
    >
      {segments.map(s => (
        <div
          key={s.state}
          className="cnb-segment"
          data-state={s.state}
          style={{ width: `${s.fraction * 100}%` }}
          title={`${s.count} ${s.state.toLowerCase()}`}
        />
      ))}
    </div>
  );
}

function Results(props: { sweep: ISweepRow; detail: ISweepDetail }): JSX.Element | null {
  const { columns, rows } = props.detail.results ?? { columns: [], rows: [] };
  if (!columns.length) {
    return null;
  }
  const cell = (v: unknown) => (v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));
  return (
    <div className="cnb-table-scroll">
    <table className="cnb-results" aria-label={`Results of sweep ${props.sweep.name}`}>
      <thead>
        <tr>
          {columns.map(c => (
            <th key={c} scope="col">
              {c}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((row, i) => (
          <tr key={i}>
            {row.map((v, j) => (
              <td key={j}>{cell(v)}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
    </div>
  );
}

function SweepItem(props: { ctx: IContext; sweep: ISweepRow }): JSX.Element {
  const { ctx, sweep } = props;
  const open = ctx.model.expanded.has(sweep.id);
  const detail = ctx.model.sweeps.get(sweep.id);
  const error = ctx.model.sweepErrors.get(sweep.id);
  const regionId = `cnb-sweep-${sweep.id}`;
  return (
    <li className="cnb-row cnb-sweep" data-kind="sweep" data-id={sweep.id} aria-label={`Sweep ${sweep.name}: ${sweepSummary(sweep.counts)}`}>
      <div className="cnb-line">
        <button
          className="cnb-expand"
          aria-expanded={open}
          aria-controls={regionId}
          aria-label={`${open ? 'Collapse' : 'Expand'} sweep ${sweep.name}`}
          title={open ? 'Hide procs and results' : 'Show procs and results'}
          onClick={() => ctx.model.toggleSweep(sweep.id)}
        >
          {open ? '▾' : '▸'}
        </button>
        <span className="cnb-name" title={`${sweep.name} (${sweep.id})`}>
          {sweep.name}
        </span>
        <span className="cnb-notebook" title={sweep.notebook}>
          {sweep.notebook}
        </span>
        {sweep.cluster ? (
          <span className="cnb-cluster" title="HTCondor cluster id">
            {sweep.cluster}
          </span>
        ) : null}
        <span className="cnb-total">{sweep.total} procs</span>
      </div>
      <StackedBar sweep={sweep} />
      <div className="cnb-counts">{sweepSummary(sweep.counts)}</div>
      <div className="cnb-actions" role="group" aria-label={`Actions of sweep ${sweep.name}`}>
        {sweepActions(sweep).map(a => (
          <button
            key={a}
            className="jp-Button jp-mod-styled jp-mod-small cnb-action"
            data-action={a}
            aria-label={`${actionLabel(a)} sweep ${sweep.name}`}
            title={`${actionLabel(a)}: sweep ${sweep.name} (${sweep.id})`}
            onClick={() => void runSweepAction(ctx, sweep, a)}
          >
            {actionLabel(a)}
          </button>
        ))}
      </div>
      {open ? (
        <div id={regionId} className="cnb-sweep-detail" role="region" aria-label={`Procs of sweep ${sweep.name}`}>
          {error ? <div className="cnb-message" data-kind="error">{error}</div> : null}
          {!detail && !error ? <div className="cnb-empty">Loading…</div> : null}
          {detail ? (
            <>
              <ul className="cnb-list cnb-procs" aria-label={`Procs list of sweep ${sweep.name}`}>
                {detail.procs.map(p => (
                  <JobItem key={`${p.id}-${p.proc}`} ctx={ctx} job={p} proc />
                ))}
              </ul>
              <Results sweep={sweep} detail={detail} />
            </>
          ) : null}
        </div>
      ) : null}
    </li>
  );
}

function ScheduleItem(props: { schedule: IScheduleRow; now: number }): JSX.Element {
  const { schedule: s, now } = props;
  return (
    <li className="cnb-row cnb-schedule" data-kind="schedule" data-id={s.id} data-paused={s.paused ? 'true' : 'false'} aria-label={`Schedule ${s.name}`}>
      <div className="cnb-line">
        <span className="cnb-name" title={`${s.name} (${s.id})`}>
          {s.name}
        </span>
        <span className="cnb-notebook" title={s.notebook}>
          {s.notebook}
        </span>
        {s.cron ? <code className="cnb-cron" title="cron">{s.cron}</code> : null}
      </div>
      <div className="cnb-next" data-next-run={s.next_run ?? ''} title={formatAbsolute(s.next_run)}>
        {s.paused ? 'Paused' : s.next_run ? `Next run ${formatRelative(s.next_run, now)} (${formatAbsolute(s.next_run)})` : 'No next run'}
      </div>
      {s.runs.length ? (
        <ul className="cnb-runs" aria-label={`Last runs of schedule ${s.name}`}>
          {s.runs.map((r, i) => (
            <li key={i} className="cnb-run" data-state={r.state} title={formatAbsolute(r.time)}>
              <StateBadge state={r.state} /> {formatRelative(r.time, now)}
              {r.reason ? <span className="cnb-note"> — {r.reason}</span> : null}
            </li>
          ))}
        </ul>
      ) : (
        <div className="cnb-empty">No runs yet.</div>
      )}
    </li>
  );
}

function Body(props: { ctx: IContext }): JSX.Element {
  const { model } = props.ctx;
  const data: IPanelData | null = model.data;
  const now = Date.now() / 1000;
  const lost = model.failures > 0;
  return (
    <div className="cnb-panel-body">
      <div className="cnb-header">
        <h2>HTCondor jobs</h2>
        <button
          className="jp-Button jp-mod-styled jp-mod-small"
          aria-label="Refresh the HTCondor jobs panel"
          title="Refresh now"
          onClick={() => void model.refresh()}
        >
          ⟳
        </button>
      </div>
      <div
        className="cnb-connection"
        role="status"
        data-connection={lost ? 'lost' : data ? 'ok' : 'loading'}
        data-schedd={data?.error ? 'unreachable' : data ? 'ok' : ''}
        title={model.lastError}
      >
        {lost
          ? model.lastError
            ? `Refresh failed, retrying: ${model.lastError}`
            : connectionNote(model.failures, model.lastOk, now)
          : data?.error
            ? `HTCondor not reached at ${formatAbsolute(data.generated)} · asking again every ${formatDuration(data.refresh_s)}`
            : data
            ? `Updated ${formatAbsolute(data.generated)} · every ${formatDuration(data.refresh_s)}`
            : 'Loading…'}
      </div>
      {data?.error ? (
        <div className="cnb-message cnb-unreachable" role="alert" data-kind="error" data-error="schedd">
          {data.error}
        </div>
      ) : null}
      {model.message ? (
        <div className="cnb-message" role={model.message.kind === 'error' ? 'alert' : 'status'} data-kind={model.message.kind}>
          {model.message.text}
        </div>
      ) : null}
      {data ? (
        <>
          <Jobs ctx={props.ctx} jobs={data.jobs} />
          <section className="cnb-section" aria-label="Sweeps">
            <h3>Sweeps</h3>
            {data.sweeps.length === 0 ? <p className="cnb-empty">No sweeps.</p> : null}
            <ul className="cnb-list" aria-label="Sweeps list">
              {data.sweeps.map(s => (
                <SweepItem key={s.id} ctx={props.ctx} sweep={s} />
              ))}
            </ul>
          </section>
          <section className="cnb-section" aria-label="Schedules">
            <h3>Schedules</h3>
            {data.schedules.length === 0 ? <p className="cnb-empty">No schedules.</p> : null}
            <ul className="cnb-list" aria-label="Schedules list">
              {data.schedules.map(s => (
                <ScheduleItem key={s.id} schedule={s} now={now} />
              ))}
            </ul>
          </section>
        </>
      ) : null}
    </div>
  );
}

/** A view of the shared model: the side panel and each main-area view are one of these. */
export class PanelView extends ReactWidget {
  constructor(
    private _ctx: IContext,
    where: 'side' | 'main'
  ) {
    super();
    this.addClass('cnb-panel');
    this.node.dataset.where = where;
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', 'HTCondor jobs');
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    this._count(this.isVisible);
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this._count(true);
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this._count(false);
  }

  protected onBeforeDetach(msg: Message): void {
    this._count(false);
    super.onBeforeDetach(msg);
  }

  /** The model polls only while some view is visible: count this one in or out. */
  private _count(visible: boolean): void {
    if (visible && !this._counted) {
      this._counted = true;
      this._ctx.model.attach();
    } else if (!visible && this._counted) {
      this._counted = false;
      this._ctx.model.detach();
    }
  }

  private _counted = false;

  render(): JSX.Element {
    return (
      <UseSignal signal={this._ctx.model.changed}>
        {() => <Body ctx={this._ctx} />}
      </UseSignal>
    );
  }
}
