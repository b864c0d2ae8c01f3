/**
 * condor_nb's JupyterLab extension: the HTCondor options of jupyter-scheduler's
 * Create Job form, and the condor_nb panel (jobs, sweeps and schedules).
 */
import { JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Scheduler } from '@jupyterlab/scheduler';

import { AdvancedOptions } from './advancedOptions';
import { panelPlugin } from './panel/plugin';

/** jupyter-scheduler's form asks for this component; its own is disabled in package.json. */
const advancedOptions: JupyterFrontEndPlugin<Scheduler.IAdvancedOptions> = {
  id: 'condor-nb-jupyterlab:advanced-options',
  description: 'HTCondor options (resources, image, files...) in the Create Job form',
  autoStart: true,
  provides: Scheduler.IAdvancedOptions,
  activate: () => AdvancedOptions
};

export default [advancedOptions, panelPlugin];
