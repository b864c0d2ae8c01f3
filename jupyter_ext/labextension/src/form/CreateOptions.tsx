/**
 * The "Additional options" of jupyter-scheduler's Create Job form, for HTCondor: the
 * job's options (GET /condor_nb/form), checked as the user types (POST
 * /condor_nb/form/check), and the notebook's declared parameters put into the form's
 * own Parameters picker, with their types and errors shown just below it.
 */
import React, { useEffect, useRef, useState } from 'react';
import { createPortal } from 'react-dom';
import type { Scheduler } from '@jupyterlab/scheduler';

import { checkForm, getForm } from './api';
import { LatestCheck } from '../logic/check';
import {
  CheckAnswer,
  checkBody,
  effectiveValues,
  emptyParameterErrors,
  FormInfo,
  FormOption,
  localErrors,
  mapCheckErrors,
  MappedErrors,
  mergeNotebookParameters,
  NotebookParameter,
  parameterErrors,
  PENDING_MESSAGE,
  runtimeParameters,
  sameErrors,
  sameRuntimeParameters,
  schedulerErrors,
  Values,
  valuesFromModel
} from '../logic/form';

/** How long the form waits after the last keystroke before asking the server. */
const CHECK_DELAY_MS = 300;
/**
 * How long a check may take before the form stops waiting for it: Create is enabled
 * again (it checks everything on submission) and the form says the check did not answer.
 */
const CHECK_TIMEOUT_MS = 20_000;

/** The fields shown when the server cannot say which (e.g. an older server). */
const FALLBACK_OPTIONS: FormOption[] = [
  { key: 'cpus', label: 'CPUs', kind: 'int' },
  { key: 'memory', label: 'Memory', kind: 'size' },
  { key: 'disk', label: 'Disk', kind: 'size' },
  { key: 'gpus', label: 'GPUs', kind: 'int' }
];

export type CreateProps = Scheduler.IAdvancedOptionsCreateProps;

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function CreateOptions(props: CreateProps): JSX.Element {
  const { model } = props;
  const [info, setInfo] = useState<FormInfo | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  // What the user typed, per option key (a key present even when emptied).
  const [typed, setTyped] = useState<Values>(() =>
    valuesFromModel(model.runtimeEnvironmentParameters)
  );
  const [answer, setAnswer] = useState<CheckAnswer | null>(null);
  const [checkError, setCheckError] = useState<string | null>(null);
  // The body (JSON) the answer, or the failure, in hand is for: while it is not the
  // current one, a check is on its way and Create stays disabled.
  const [answeredKey, setAnsweredKey] = useState<string | null>(null);
  // The notebook's parameters are to be merged into the model (once per notebook).
  const mergePending = useRef(false);

  useEffect(() => {
    let live = true;
    getForm(model.inputFile).then(
      form => {
        if (live) {
          mergePending.current = true;
          setLoadError(null);
          setInfo(form);
        }
      },
      error => {
        if (live) {
          setLoadError(message(error));
        }
      }
    );
    return () => {
      live = false;
    };
  }, [model.inputFile]);

  const options = info?.options ?? (loadError ? FALLBACK_OPTIONS : []);
  const env = info?.environments.find(e => e.name === model.environment);
  const values = effectiveValues(typed, env, info?.default_image);
  const runtime = runtimeParameters(values);

  // Keep jupyter-scheduler's model in step with the form. After every render: the form
  // replaces its model wholesale, and its own late updates (the environment list) are
  // built on an older model, which would drop ours.
  useEffect(() => {
    let next = props.model;
    if (!sameRuntimeParameters(runtime, next.runtimeEnvironmentParameters)) {
      next = { ...next, runtimeEnvironmentParameters: runtime };
    }
    if (info && (mergePending.current || next.parameters === undefined)) {
      mergePending.current = false;
      const merged = mergeNotebookParameters(next.parameters, info.parameters);
      if (merged !== next.parameters) {
        next = { ...next, parameters: merged };
      }
    }
    if (next !== props.model) {
      props.handleModelChange(next);
    }
  });

  // Ask the server, CHECK_DELAY_MS after the last change; only the latest answer counts.
  const bodyKey = JSON.stringify(
    checkBody(model.inputFile, model.environment, values, model.parameters, model.createType)
  );
  const checking = !!info && !!model.environment;
  const tracker = useRef<LatestCheck<CheckAnswer> | null>(null);
  if (tracker.current === null) {
    tracker.current = new LatestCheck<CheckAnswer>(
      key => checkForm(JSON.parse(key)),
      (key, result, error) => {
        setCheckError(error);
        setAnswer(result);
        setAnsweredKey(key);
      },
      CHECK_DELAY_MS,
      CHECK_TIMEOUT_MS
    );
  }
  useEffect(() => {
    if (checking) {
      tracker.current?.request(bodyKey);
    }
  }, [bodyKey, checking]);
  useEffect(() => () => tracker.current?.dispose(), []);
  const pending = checking && answeredKey !== bodyKey;

  const mapped = mapCheckErrors(
    answer?.errors ?? {},
    options.map(o => o.key)
  );
  const local = localErrors(values, env);
  const declared = info?.parameters ?? [];
  const emptyParams = emptyParameterErrors(model.parameters, declared);
  const paramErrors = parameterErrors(mapped, emptyParams);
  const errors = schedulerErrors(local, mapped, emptyParams, pending);
  useEffect(() => {
    if (!sameErrors(errors, props.errors)) {
      props.handleErrorsChange(errors);
    }
  });

  // The parameters' notes go right below jupyter-scheduler's Parameters picker (just
  // before the "Additional options" accordion holding this component), so that they
  // show with the accordion closed; inline here if the form is laid out otherwise.
  const root = useRef<HTMLDivElement>(null);
  const [notesHost, setNotesHost] = useState<HTMLElement | null>(null);
  // Whether the accordion is closed: its fields' errors are then also listed above it.
  const [collapsed, setCollapsed] = useState(false);
  useEffect(() => {
    const accordion = root.current?.closest('.MuiAccordion-root');
    if (!accordion || !accordion.parentElement) {
      return;
    }
    const host = document.createElement('div');
    host.className = 'cnb-param-notes-host';
    accordion.parentElement.insertBefore(host, accordion);
    setNotesHost(host);
    const update = () => setCollapsed(!accordion.classList.contains('Mui-expanded'));
    update();
    const observer = new MutationObserver(update);
    observer.observe(accordion, { attributes: true, attributeFilter: ['class'] });
    return () => {
      observer.disconnect();
      host.remove();
    };
  }, []);
  const hidden = collapsed ? options.filter(o => !!errors[o.key]) : [];
  const summary =
    notesHost && hidden.length > 0 ? (
      <div className="cnb-option-summary" role="alert">
        {hidden.map(o => (
          <div key={o.key} className="cnb-error" data-option={o.key}>
            {o.label} (under Additional options): {errors[o.key]}
          </div>
        ))}
      </div>
    ) : null;
  const loading = !info && !loadError;
  const hasNotes =
    !!summary ||
    loading ||
    pending ||
    !!checkError ||
    declared.length > 0 ||
    Object.keys(paramErrors).length > 0 ||
    !!info?.parameters_error;
  useEffect(() => {
    if (notesHost) {
      notesHost.hidden = !hasNotes;
    }
  }, [notesHost, hasNotes]);
  const notes = hasNotes ? (
    <ParameterNotes
      loading={loading}
      declared={declared}
      used={Object.keys(JSON.parse(bodyKey).parameters)}
      errors={paramErrors}
      parametersError={info?.parameters_error ?? null}
      pending={pending}
      checkError={checkError}
    />
  ) : null;

  const onChange = (key: string, value: string) => setTyped({ ...typed, [key]: value });

  return (
    <div className="cnb-form" ref={root}>
      {loadError && (
        <div className="cnb-error" role="alert">
          condor_nb could not load the form's fields: {loadError}
        </div>
      )}
      {!info && !loadError && <div className="cnb-hint">Loading HTCondor options…</div>}
      {mapped.other.length > 0 && (
        <div className="cnb-error" role="alert">
          {mapped.other.join('\n')}
        </div>
      )}
      {options.map(option => (
        <OptionField
          key={option.key}
          option={option}
          value={values[option.key] ?? ''}
          error={errors[option.key]}
          required={option.key === 'image' && !!env?.needs_image && !env.image}
          placeholder={
            option.key === 'image' && env?.image ? env.image : option.placeholder ?? ''
          }
          onChange={value => onChange(option.key, value)}
        />
      ))}
      {notesHost
        ? notes &&
          createPortal(
            <>
              {notes}
              {summary}
            </>,
            notesHost
          )
        : notes}
    </div>
  );
}

function OptionField(props: {
  option: FormOption;
  value: string;
  error?: string;
  required: boolean;
  placeholder: string;
  onChange: (value: string) => void;
}): JSX.Element {
  const { option, error } = props;
  const id = `cnb-option-${option.key}`;
  const described = [option.help ? `${id}-hint` : '', error ? `${id}-error` : '']
    .filter(Boolean)
    .join(' ');
  const common = {
    id,
    name: `cnb-${option.key}`,
    value: props.value,
    placeholder: props.placeholder,
    title: option.help ?? undefined,
    required: props.required,
    'aria-invalid': !!error,
    'aria-describedby': described || undefined,
    className: 'cnb-input'
  };
  return (
    <div className={error ? 'cnb-field cnb-field-invalid' : 'cnb-field'} data-option={option.key}>
      <label htmlFor={id}>
        {option.label}
        {props.required && <span className="cnb-required"> (required by this environment)</span>}
      </label>
      {option.kind === 'list' ? (
        <textarea {...common} rows={2} onChange={e => props.onChange(e.target.value)} />
      ) : (
        <input {...common} type="text" onChange={e => props.onChange(e.target.value)} />
      )}
      {option.help && (
        <div className="cnb-hint" id={`${id}-hint`}>
          {option.help}
        </div>
      )}
      {error && (
        <div className="cnb-error" id={`${id}-error`} role="alert">
          {error}
        </div>
      )}
    </div>
  );
}

/**
 * Where the check of the values stands: on its way (Create is disabled meanwhile), or
 * failed (Create is enabled again and checks everything itself). Kept above the
 * "Additional options" accordion, so that it shows with the accordion closed.
 */
function CheckStatus(props: { pending: boolean; checkError: string | null }): JSX.Element {
  const state = props.checkError ? 'failed' : props.pending ? 'pending' : 'done';
  return (
    <div
      className={props.checkError ? 'cnb-check-status cnb-warning' : 'cnb-check-status cnb-hint'}
      role="status"
      data-check={state}
    >
      {props.checkError
        ? `The values could not be checked as you type (${props.checkError}); Create ` +
          'still checks them.'
        : props.pending
          ? `${PENDING_MESSAGE} (Create waits for the answer)`
          : ''}
    </div>
  );
}

/** The notebook's declared parameters (name, type, default, help) and their errors. */
function ParameterNotes(props: {
  loading: boolean;
  declared: NotebookParameter[];
  used: string[];
  errors: MappedErrors['params'];
  parametersError: string | null;
  pending: boolean;
  checkError: string | null;
}): JSX.Element {
  const names = new Set(props.declared.map(p => p.name));
  const others = Object.keys(props.errors).filter(name => !names.has(name));
  return (
    <section className="cnb-param-notes" aria-label="Notebook parameters">
      <CheckStatus pending={props.pending} checkError={props.checkError} />
      {props.loading && (
        <div className="cnb-hint" role="status">
          Reading the notebook's parameters cell…
        </div>
      )}
      {props.parametersError && (
        <div className="cnb-error" role="alert">
          The notebook's parameters cell could not be read: {props.parametersError}
        </div>
      )}
      {props.declared.length > 0 && (
        <div className="cnb-hint">
          Declared in the notebook's parameters cell (values are typed as declared; a
          parameter left out keeps its default):
        </div>
      )}
      <ul>
        {props.declared.map(p => (
          <li key={p.name} className="cnb-param" data-name={p.name}>
            <code className="cnb-param-name">{p.name}</code>{' '}
            <span className="cnb-param-type" title="declared type">
              {p.type}
            </span>{' '}
            <span className="cnb-hint">
              default <code>{p.default_text}</code>
              {p.help ? ` — ${p.help}` : ''}
              {props.used.includes(p.name) ? '' : ' (not set: the default applies)'}
            </span>
            {props.errors[p.name] && (
              <div className="cnb-error" role="alert">
                {props.errors[p.name]}
              </div>
            )}
          </li>
        ))}
        {others.map(name => (
          <li key={name} className="cnb-param" data-name={name}>
            <code className="cnb-param-name">{name}</code>
            <div className="cnb-error" role="alert">
              {props.errors[name]}
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}
