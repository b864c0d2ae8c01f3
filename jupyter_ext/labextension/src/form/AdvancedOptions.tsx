/**
 * condor_nb's component for jupyter-scheduler's "Additional options"
 * (@jupyterlab/scheduler:IAdvancedOptions; jupyter-scheduler's own is disabled in
 * package.json): the HTCondor options in the Create Job form, condor_nb's view of a job
 * on its detail page, the options read-only on a definition's.
 */
import React from 'react';
import type { JobsView, Scheduler } from '@jupyterlab/scheduler';

import { CreateOptions } from './CreateOptions';
import { JobDetailOptions, ReadOnlyOptions } from './DetailOptions';

/** jupyter-scheduler's JobsView values: the enum lives in its bundle, not in ours. */
const CREATE_FORM = 1 as JobsView.CreateForm;
const JOB_DETAIL = 5 as JobsView.JobDetail;

export const AdvancedOptions: Scheduler.IAdvancedOptions = props => {
  if (props.jobsView === CREATE_FORM) {
    return <CreateOptions {...(props as Scheduler.IAdvancedOptionsCreateProps)} />;
  }
  if (props.jobsView === JOB_DETAIL) {
    const model = (props as Scheduler.IAdvancedOptionsJobDetailProps).model;
    return (
      <JobDetailOptions
        jobId={model.jobId}
        status={model.status}
        params={model.runtimeEnvironmentParameters}
      />
    );
  }
  return <ReadOnlyOptions params={props.model.runtimeEnvironmentParameters} />;
};
