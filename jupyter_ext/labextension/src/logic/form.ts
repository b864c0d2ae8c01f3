/**
 * The Create Job form's logic, without React or JupyterLab: what GET /condor_nb/form
 * answers, what goes into jupyter-scheduler's model, and how the answer of
 * POST /condor_nb/form/check maps onto the form's fields.
 */
import { filledIn, RuntimeParameters } from './options';

/** One field of the form (condor_nb.spec.options, in the server's order). */
export interface FormOption {
  key: string;
  label: string;
  /** int, size, duration, number, text or list (list: one per line or comma-separated). */
  kind: string;
  help?: string | null;
  placeholder?: string | null;
}

/** A runtime environment, as jupyter-scheduler's Environment menu lists it. */
export interface FormEnvironment {
  name: string;
  profile: string;
  /** The environment's own image ('' when it has none). */
  image?: string | null;
  /** The profile cannot run without an image (e.g. ospool). */
  needs_image: boolean;
}

/** One assignment of the notebook's parameters cell. */
export interface NotebookParameter {
  name: string;
  /** The declared type: int, float, str, bool, list, dict, ... or any. */
  type: string;
  /** The default as JSON (null also when it is not a JSON value). */
  default: unknown;
  /** The default as written in the cell. */
  default_text: string;
  help?: string | null;
}

/** GET /condor_nb/form?notebook=<path>. */
export interface FormInfo {
  environments: FormEnvironment[];
  default_image: string | null;
  options: FormOption[];
  parameters: NotebookParameter[];
  parameters_error: string | null;
}

/** POST /condor_nb/form/check's answer. */
export interface CheckAnswer {
  errors: { [key: string]: string };
  parameters?: { [name: string]: unknown };
}

/** A parameter of jupyter-scheduler's model (its Parameters picker edits these). */
export interface JobParameter {
  name: string;
  value: string | number | boolean | undefined;
}

export type Values = { [key: string]: string };
export type ErrorsType = { [key: string]: string };

/** The prefix of a parameter's key in /form/check's errors (and in the form's errors). */
export const PARAM_PREFIX = 'param:';

/**
 * The key of the pseudo-error handed to jupyter-scheduler while a check is on its way:
 * jupyter-scheduler disables Create while any error is there, so nothing typed is
 * created before the server has looked at it.
 */
export const PENDING_KEY = 'checking';
export const PENDING_MESSAGE = 'Checking the values with the server…';

/** jupyter-scheduler's createType: Run now ('Job') or Run on a schedule. */
export type CreateType = 'Job' | 'JobDefinition';

/** What /form/check checks the values for: a job, or a schedule (a job definition). */
export type CheckKind = 'job' | 'schedule';

export function checkKind(createType: string | undefined): CheckKind {
  return createType === 'JobDefinition' ? 'schedule' : 'job';
}

/** The form's values from a model's runtimeEnvironmentParameters (e.g. a copied job). */
export function valuesFromModel(params: RuntimeParameters | undefined): Values {
  const values: Values = {};
  for (const [key, value] of Object.entries(params ?? {})) {
    values[key] = String(value);
  }
  return values;
}

/**
 * What the image field holds when the user has not typed in it: the image the Jupyter
 * server runs in, unless the environment brings its own (then the field stays empty and
 * the environment's image applies).
 */
export function defaultImageFor(
  env: FormEnvironment | undefined,
  defaultImage: string | null | undefined
): string {
  if (env && env.image) {
    return '';
  }
  return defaultImage ?? '';
}

/**
 * The values the form shows and sends: what the user typed (``typed``, a key present
 * even when emptied), else the pre-filled image.
 */
export function effectiveValues(
  typed: Values,
  env: FormEnvironment | undefined,
  defaultImage: string | null | undefined
): Values {
  const out: Values = { ...typed };
  if (!('image' in typed)) {
    const image = defaultImageFor(env, defaultImage);
    if (image) {
      out.image = image;
    }
  }
  return out;
}

/** jupyter-scheduler's runtimeEnvironmentParameters: the filled-in values, as strings. */
export function runtimeParameters(values: Values): RuntimeParameters {
  return filledIn(values);
}

/** Whether two runtimeEnvironmentParameters hold the same values. */
export function sameRuntimeParameters(
  a: RuntimeParameters | undefined,
  b: RuntimeParameters | undefined
): boolean {
  const left = a ?? {};
  const right = b ?? {};
  const keys = Object.keys(left);
  if (keys.length !== Object.keys(right).length) {
    return false;
  }
  return keys.every(key => key in right && String(left[key]) === String(right[key]));
}

/**
 * The text a declared parameter's value is pre-filled with, typed back by the server as
 * the CLI types ``-p NAME VALUE``; undefined when no text gives the notebook's default
 * back (a str parameter defaulting to None, a default that is not a JSON value): such a
 * parameter is left out, so the notebook keeps its own default.
 */
export function prefillValue(p: NotebookParameter): string | undefined {
  const value = p.default;
  if (typeof value === 'string') {
    // An empty value is not one jupyter-scheduler takes ("No value specified"): a
    // parameter whose default is "" is left out, and so keeps it.
    return value === '' ? undefined : value;
  }
  if (value === null || value === undefined) {
    if (p.default_text.trim() === 'None' && p.type !== 'str') {
      return 'None';
    }
    return undefined;
  }
  if (typeof value === 'boolean') {
    return value ? 'True' : 'False';
  }
  if (typeof value === 'number') {
    return String(value);
  }
  return JSON.stringify(value);
}

/**
 * The model's parameters with the notebook's declared ones added, each with its
 * default; never changes or reorders a parameter already there (what the user typed,
 * or a copied job's values). Returns ``current`` itself when nothing is to be added.
 */
export function mergeNotebookParameters(
  current: JobParameter[] | undefined,
  declared: NotebookParameter[]
): JobParameter[] | undefined {
  const present = new Set((current ?? []).map(p => p.name));
  const added: JobParameter[] = [];
  for (const p of declared) {
    const value = prefillValue(p);
    if (!present.has(p.name) && value !== undefined) {
      added.push({ name: p.name, value });
      present.add(p.name);
    }
  }
  if (added.length === 0) {
    return current;
  }
  return [...(current ?? []).map(p => ({ ...p })), ...added];
}

/**
 * The parameters as /form/check takes them: name -> the text typed. A parameter with
 * no name is skipped; of two with the same name the first counts (as jupyter-scheduler
 * sends them).
 */
export function parameterStrings(params: JobParameter[] | undefined): Values {
  const out: Values = {};
  for (const p of params ?? []) {
    const name = p.name.trim();
    if (name !== '' && !(name in out)) {
      out[name] = p.value === undefined ? '' : String(p.value);
    }
  }
  return out;
}

/** The body of POST /condor_nb/form/check. */
export interface CheckBody {
  notebook: string;
  environment: string;
  options: Values;
  parameters: Values;
  kind: CheckKind;
}

export function checkBody(
  notebook: string,
  environment: string,
  values: Values,
  params: JobParameter[] | undefined,
  createType?: string
): CheckBody {
  return {
    notebook,
    environment,
    options: runtimeParameters(values) as Values,
    parameters: parameterStrings(params),
    kind: checkKind(createType)
  };
}

/**
 * Parameters given a name but no value, by name: jupyter-scheduler refuses an empty
 * value (once the field loses focus), so the form says it at once, with the way to keep
 * the notebook's default (delete the parameter), instead of sending "".
 */
export function emptyParameterErrors(
  params: JobParameter[] | undefined,
  declared: NotebookParameter[]
): Values {
  const defaults = new Map(declared.map(p => [p.name, p.default_text]));
  const out: Values = {};
  for (const [name, value] of Object.entries(parameterStrings(params))) {
    if (value !== '') {
      continue;
    }
    const fallback = defaults.get(name);
    out[name] =
      fallback === undefined
        ? `${name}: no value; type one, or delete this parameter`
        : `${name}: no value; type one, or delete this parameter to keep the ` +
          `notebook's default ${fallback}`;
  }
  return out;
}

/** /form/check's errors, sorted out: per option field, per parameter, and the rest. */
export interface MappedErrors {
  fields: Values;
  params: Values;
  other: string[];
}

export function mapCheckErrors(errors: ErrorsType, optionKeys: string[]): MappedErrors {
  const out: MappedErrors = { fields: {}, params: {}, other: [] };
  const keys = new Set(optionKeys);
  for (const [key, message] of Object.entries(errors ?? {})) {
    if (!message) {
      continue;
    }
    if (key.startsWith(PARAM_PREFIX)) {
      out.params[key.slice(PARAM_PREFIX.length)] = message;
    } else if (keys.has(key)) {
      out.fields[key] = message;
    } else {
      out.other.push(message);
    }
  }
  return out;
}

/** Errors found without asking the server: an image an environment cannot do without. */
export function localErrors(values: Values, env: FormEnvironment | undefined): Values {
  const errors: Values = {};
  if (env && env.needs_image && !env.image && (values.image ?? '').trim() === '') {
    errors.image =
      `image: the environment ${env.name} (profile ${env.profile}) needs an image; got none ` +
      '(give one, e.g. /cvmfs/singularity.opensciencegrid.org/<org>/<image>:<tag>, or ' +
      'docker://<image>:<tag>)';
  }
  return errors;
}

/** A parameter's error: the form's own (e.g. no value) over the server's. */
export function parameterErrors(mapped: MappedErrors, localParams: Values = {}): Values {
  return { ...mapped.params, ...localParams };
}

/**
 * The errors handed to jupyter-scheduler (a non-empty one disables Create): the local
 * ones first (they hold without a round trip), then the server's, keyed by option key
 * or ``param:<name>``; other errors under ``form``; while a check is on its way
 * (``pending``), PENDING_KEY too.
 */
export function schedulerErrors(
  local: Values,
  mapped: MappedErrors,
  localParams: Values = {},
  pending = false
): ErrorsType {
  const out: ErrorsType = {};
  for (const [key, message] of Object.entries(mapped.fields)) {
    out[key] = message;
  }
  for (const [key, message] of Object.entries(local)) {
    out[key] = message;
  }
  for (const [name, message] of Object.entries(parameterErrors(mapped, localParams))) {
    out[PARAM_PREFIX + name] = message;
  }
  if (mapped.other.length > 0) {
    out.form = mapped.other.join('\n');
  }
  if (pending) {
    out[PENDING_KEY] = PENDING_MESSAGE;
  }
  return out;
}

/** Whether two error maps say the same (so the form does not re-render for nothing). */
export function sameErrors(a: ErrorsType, b: ErrorsType): boolean {
  const left = Object.entries(a).filter(([, v]) => !!v);
  const right = Object.entries(b).filter(([, v]) => !!v);
  return left.length === right.length && left.every(([k, v]) => b[k] === v);
}
