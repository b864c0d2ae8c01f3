/**
 * The "Additional options" of jupyter-scheduler's Create Job form, for HTCondor.
 * Replaces @jupyterlab/scheduler:IAdvancedOptions (disabled in package.json).
 */
import React from 'react';
import type { JobsView } from '@jupyterlab/scheduler';
import { Scheduler } from '@jupyterlab/scheduler';

import { filledIn } from './logic/options';

const RESOURCES = ['cpus', 'memory', 'disk', 'gpus'];
/** JobsView.CreateForm (1): the enum lives in jupyter-scheduler's bundle, not in ours. */
const JOBS_VIEW_CREATE_FORM = 1 as JobsView.CreateForm;

type CreateProps = Extract<Scheduler.IAdvancedOptionsProps, { jobsView: JobsView.CreateForm }>;

function isCreateForm(props: Scheduler.IAdvancedOptionsProps): props is CreateProps {
  return props.jobsView === JOBS_VIEW_CREATE_FORM;
}

export const AdvancedOptions: Scheduler.IAdvancedOptions = props => {
  const params = props.model.runtimeEnvironmentParameters ?? {};
  if (!isCreateForm(props)) {
    return (
      <dl className="cnb-advanced-readonly">
        {Object.entries(params).map(([key, value]) => (
          <React.Fragment key={key}>
            <dt>{key}</dt>
            <dd>{String(value)}</dd>
          </React.Fragment>
        ))}
      </dl>
    );
  }
  const form = props;
  const onChange = (key: string, value: string) => {
    const values: { [key: string]: string } = {};
    for (const [k, v] of Object.entries(params)) {
      values[k] = String(v);
    }
    values[key] = value;
    form.handleModelChange({ ...form.model, runtimeEnvironmentParameters: filledIn(values) });
  };
  return (
    <div className="cnb-advanced">
      {RESOURCES.map(key => (
        <label key={key} className="cnb-field">
          <span>{key}</span>
          <input
            name={`cnb-${key}`}
            value={String(params[key] ?? '')}
            onChange={e => onChange(key, e.target.value)}
          />
        </label>
      ))}
    </div>
  );
};
