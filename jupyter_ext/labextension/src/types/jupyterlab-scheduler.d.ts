/**
 * The part of @jupyterlab/scheduler's API this extension uses.
 *
 * The npm package (2.11.0, the only version published) ships its TypeScript sources but
 * no `lib/`, so its own declarations cannot be used. At run time the module comes from
 * jupyter-scheduler's installed labextension, shared as a singleton (package.json,
 * `sharedPackages`): the Token below must be that very object, which a copy would not be.
 * Shapes follow jupyter-scheduler's src/tokens.ts and src/model.ts (2.x).
 */
declare module '@jupyterlab/scheduler' {
  import type { Token } from '@lumino/coreutils';
  import type React from 'react';

  /** jupyter-scheduler's JobsView enum (numeric: CreateForm is 1). */
  export enum JobsView {
    CreateForm = 1,
    CreateFromJobDescriptionForm,
    ListJobs,
    ListJobDefinitions,
    JobDetail,
    JobDefinitionDetail,
    EditJobDefinition
  }

  export type IJobParameter = {
    name: string;
    value: string | number | boolean | undefined;
  };

  type RuntimeEnvironmentParameters = { [key: string]: number | string | boolean };

  export interface ICreateJobModel {
    jobName: string;
    inputFile: string;
    environment: string;
    createType: 'Job' | 'JobDefinition';
    createError?: string;
    runtimeEnvironmentParameters?: RuntimeEnvironmentParameters;
    parameters?: IJobParameter[];
    outputFormats?: string[];
    computeType?: string;
    tags?: string[];
    [key: string]: unknown;
  }

  export interface IJobDetailModel {
    jobName: string;
    inputFile: string;
    environment: string;
    runtimeEnvironmentParameters?: RuntimeEnvironmentParameters;
    parameters?: IJobParameter[];
    jobId: string;
    status?: string;
    statusMessage?: string;
    tags?: string[];
    [key: string]: unknown;
  }

  export interface IJobDefinitionModel {
    name: string;
    inputFile: string;
    environment: string;
    runtimeEnvironmentParameters?: RuntimeEnvironmentParameters;
    parameters?: IJobParameter[];
    jobDefinitionId: string;
    tags?: string[];
    [key: string]: unknown;
  }

  export namespace Scheduler {
    type ErrorsType = { [key: string]: string };

    interface IAdvancedOptionsSharedProps {
      errors: ErrorsType;
      handleErrorsChange: (errors: ErrorsType) => void;
    }
    interface IAdvancedOptionsCreateProps extends IAdvancedOptionsSharedProps {
      jobsView: JobsView.CreateForm;
      model: ICreateJobModel;
      handleModelChange: (model: ICreateJobModel) => void;
    }
    interface IAdvancedOptionsJobDetailProps extends IAdvancedOptionsSharedProps {
      jobsView: JobsView.JobDetail;
      model: IJobDetailModel;
      handleModelChange: (model: IJobDetailModel) => void;
    }
    interface IAdvancedOptionsJobDefinitionDetailProps extends IAdvancedOptionsSharedProps {
      jobsView: JobsView.JobDefinitionDetail;
      model: IJobDefinitionModel;
      handleModelChange: (model: IJobDefinitionModel) => void;
    }
    type IAdvancedOptionsProps =
      | IAdvancedOptionsCreateProps
      | IAdvancedOptionsJobDetailProps
      | IAdvancedOptionsJobDefinitionDetailProps;

    type IAdvancedOptions = React.FC<IAdvancedOptionsProps>;
    const IAdvancedOptions: Token<IAdvancedOptions>;
  }
}
