/**
 * condor_nb's part of jupyter-scheduler's detail pages: on a job's, its condor_nb id,
 * HTCondor job id, state and reason (GET /condor_nb/scheduler-jobs/<id>), with Release
 * for a held job; on a job's and a definition's, its options, read-only.
 */
import React, { useEffect, useState } from 'react';

import { ApiError, getForm, getSchedulerJob, releaseJob } from './api';
import { canRelease, jobRows, optionRows, Row, SchedulerJobInfo } from '../logic/detail';
import type { FormOption } from '../logic/form';
import type { RuntimeParameters } from '../logic/options';

/** The form's fields (labels, order), asked once per page load. */
let fieldsOnce: Promise<FormOption[]> | null = null;
function formFields(): Promise<FormOption[]> {
  if (fieldsOnce === null) {
    fieldsOnce = getForm('').then(
      form => form.options,
      () => {
        fieldsOnce = null;
        return [];
      }
    );
  }
  return fieldsOnce;
}

function Rows(props: { rows: Row[]; className: string; label: string }): JSX.Element {
  return (
    <dl className={props.className} aria-label={props.label}>
      {props.rows.map(row => (
        <div key={row.key} className="cnb-row" data-field={row.key}>
          <dt>{row.label}</dt>
          <dd>{row.value}</dd>
        </div>
      ))}
    </dl>
  );
}

/** A job's or definition's options, read-only, with the form's labels. */
export function ReadOnlyOptions(props: { params: RuntimeParameters | undefined }): JSX.Element {
  const [fields, setFields] = useState<FormOption[]>([]);
  useEffect(() => {
    let live = true;
    formFields().then(found => live && setFields(found));
    return () => {
      live = false;
    };
  }, []);
  const rows = optionRows(props.params, fields);
  if (rows.length === 0) {
    return <div className="cnb-hint">HTCondor options: all defaults.</div>;
  }
  return <Rows rows={rows} className="cnb-readonly" label="HTCondor options" />;
}

/** The condor_nb card of a job's detail page, then its options. */
export function JobDetailOptions(props: {
  jobId: string;
  status?: string;
  params: RuntimeParameters | undefined;
}): JSX.Element {
  const [info, setInfo] = useState<SchedulerJobInfo | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [asked, setAsked] = useState(0);
  const [released, setReleased] = useState(false);

  useEffect(() => {
    let live = true;
    getSchedulerJob(props.jobId).then(
      found => {
        if (live) {
          setError(null);
          setInfo(found);
        }
      },
      (failure: unknown) => {
        if (live) {
          setInfo(null);
          setError(
            failure instanceof ApiError && failure.status === 404
              ? 'condor_nb does not know this job.'
              : `condor_nb could not describe this job: ${String(
                  failure instanceof Error ? failure.message : failure
                )}`
          );
        }
      }
    );
    return () => {
      live = false;
    };
  }, [props.jobId, props.status, asked]);

  const release = () => {
    if (!info) {
      return;
    }
    setBusy(true);
    releaseJob(info.id)
      .then(
        () => {
          setReleased(true);
          setAsked(n => n + 1);
        },
        (failure: unknown) =>
          setError(`Release failed: ${failure instanceof Error ? failure.message : failure}`)
      )
      .finally(() => setBusy(false));
  };

  return (
    <div className="cnb-detail">
      {info && <Rows rows={jobRows(info)} className="cnb-readonly" label="HTCondor job" />}
      {error && (
        <div className="cnb-error" role="alert">
          {error}
        </div>
      )}
      <div className="cnb-detail-actions">
        {canRelease(info) && (
          <button
            type="button"
            className="jp-mod-styled jp-mod-accept"
            onClick={release}
            disabled={busy}
          >
            Release
          </button>
        )}
        <button
          type="button"
          className="jp-mod-styled"
          onClick={() => setAsked(n => n + 1)}
          title="Ask condor_nb again for this job's state"
        >
          Refresh HTCondor state
        </button>
      </div>
      {released && (
        <div className="cnb-hint" role="status">
          Released. “Reload Job” above updates the rest of this page.
        </div>
      )}
      <ReadOnlyOptions params={props.params} />
    </div>
  );
}
