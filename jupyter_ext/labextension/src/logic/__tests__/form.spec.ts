import {
  checkBody,
  checkKind,
  effectiveValues,
  emptyParameterErrors,
  FormEnvironment,
  localErrors,
  mapCheckErrors,
  mergeNotebookParameters,
  NotebookParameter,
  parameterStrings,
  parameterErrors,
  PENDING_KEY,
  prefillValue,
  runtimeParameters,
  sameErrors,
  sameRuntimeParameters,
  schedulerErrors,
  valuesFromModel
} from '../form';

const personal: FormEnvironment = { name: 'personal', profile: 'personal', image: '', needs_image: false };
const ospool: FormEnvironment = { name: 'ospool', profile: 'ospool', image: '', needs_image: true };
const withImage: FormEnvironment = {
  name: 'gpu',
  profile: 'ospool',
  image: 'docker://site/gpu:1',
  needs_image: true
};

function param(name: string, type: string, value: unknown, text: string): NotebookParameter {
  return { name, type, default: value, default_text: text };
}

describe('runtimeEnvironmentParameters', () => {
  it('carries what the user typed as strings, empty fields left to the defaults', () => {
    const values = { cpus: '2', memory: ' 3GB ', disk: '', files: 'a.csv\nb.csv', retries: '  ' };
    expect(runtimeParameters(values)).toEqual({ cpus: '2', memory: '3GB', files: 'a.csv\nb.csv' });
  });

  it('pre-fills the image with the server default, unless the user typed one or emptied it', () => {
    const server = '/cvmfs/img:tag';
    expect(effectiveValues({}, personal, server)).toEqual({ image: server });
    expect(effectiveValues({ image: 'docker://mine:1' }, personal, server).image).toBe('docker://mine:1');
    expect(runtimeParameters(effectiveValues({ image: '' }, personal, server))).toEqual({});
    expect(effectiveValues({}, personal, null)).toEqual({});
  });

  it('leaves the image to an environment that brings its own', () => {
    expect(effectiveValues({ cpus: '1' }, withImage, '/cvmfs/img:tag')).toEqual({ cpus: '1' });
  });

  it('reads a copied job back as strings', () => {
    expect(valuesFromModel({ cpus: 2, memory: '1GB', flag: true })).toEqual({
      cpus: '2',
      memory: '1GB',
      flag: 'true'
    });
    expect(valuesFromModel(undefined)).toEqual({});
  });

  it('compares by value, not by object', () => {
    expect(sameRuntimeParameters({ cpus: '2' }, { cpus: '2' })).toBe(true);
    expect(sameRuntimeParameters({}, undefined)).toBe(true);
    expect(sameRuntimeParameters({ cpus: '2' }, { cpus: '3' })).toBe(false);
    expect(sameRuntimeParameters({ cpus: '2' }, { cpus: '2', memory: '1GB' })).toBe(false);
    expect(sameRuntimeParameters({ cpus: '2', disk: '1' }, { cpus: '2', memory: '1' })).toBe(false);
  });
});

describe('notebook parameters', () => {
  const declared = [
    param('n', 'int', 3, '3'),
    param('label', 'str', 'x', '"x"'),
    param('rate', 'float', 0.5, '0.5'),
    param('on', 'bool', true, 'True'),
    param('sizes', 'list', [1, 2], '[1, 2]'),
    param('limit', 'int', null, 'None'),
    param('title', 'str', null, 'None'),
    param('data', 'any', null, 'np.arange(3)')
  ];

  it('pre-fills the text the server types back into the default', () => {
    expect(declared.map(prefillValue)).toEqual([
      '3',
      'x',
      '0.5',
      'True',
      '[1,2]',
      'None',
      undefined,
      undefined
    ]);
  });

  it('adds the declared parameters with their defaults, in the cell order', () => {
    expect(mergeNotebookParameters(undefined, declared.slice(0, 2))).toEqual([
      { name: 'n', value: '3' },
      { name: 'label', value: 'x' }
    ]);
  });

  it('never clobbers what the user typed, nor reorders it', () => {
    const typed = [
      { name: 'label', value: 'mine' },
      { name: 'extra', value: '1' }
    ];
    const merged = mergeNotebookParameters(typed, declared.slice(0, 2));
    expect(merged).toEqual([
      { name: 'label', value: 'mine' },
      { name: 'extra', value: '1' },
      { name: 'n', value: '3' }
    ]);
    expect(typed).toHaveLength(2); // the model's own array is not changed in place
  });

  it('returns the same array when nothing is missing (no model change)', () => {
    const typed = [{ name: 'n', value: '7' }];
    expect(mergeNotebookParameters(typed, declared.slice(0, 1))).toBe(typed);
    expect(mergeNotebookParameters(undefined, [])).toBeUndefined();
  });

  it('sends parameters as typed, first of a name wins, nameless skipped', () => {
    const params = [
      { name: 'n', value: 'abc' },
      { name: '', value: '1' },
      { name: 'n', value: '5' },
      { name: ' on ', value: true },
      { name: 'u', value: undefined }
    ];
    expect(parameterStrings(params)).toEqual({ n: 'abc', on: 'true', u: '' });
    expect(checkBody('a.ipynb', 'personal', { cpus: '2', memory: '' }, params)).toEqual({
      notebook: 'a.ipynb',
      environment: 'personal',
      options: { cpus: '2' },
      parameters: { n: 'abc', on: 'true', u: '' },
      kind: 'job'
    });
  });

  it('does not pre-fill a str parameter whose default is empty (it keeps it)', () => {
    const empty = param('label', 'str', '', '""');
    expect(prefillValue(empty)).toBeUndefined();
    expect(mergeNotebookParameters(undefined, [empty])).toBeUndefined();
  });

  it('refuses an empty value at once, saying how to keep the default', () => {
    const params = [
      { name: 'n', value: '' },
      { name: 'label', value: 'x' },
      { name: 'extra', value: undefined },
      { name: '', value: '' }
    ];
    const errors = emptyParameterErrors(params, declared);
    expect(Object.keys(errors).sort()).toEqual(['extra', 'n']);
    expect(errors.n).toMatch(/no value.*delete this parameter to keep the notebook's default 3/);
    expect(errors.extra).toMatch(/no value; type one, or delete this parameter$/);
    expect(emptyParameterErrors([{ name: 'n', value: '1e' }], declared)).toEqual({});
  });
});

describe('schedules', () => {
  it('checks the values for a schedule when Run on a schedule is picked', () => {
    expect(checkKind('JobDefinition')).toBe('schedule');
    expect(checkKind('Job')).toBe('job');
    expect(checkKind(undefined)).toBe('job');
    const body = checkBody('a.ipynb', 'personal', { retries: '2' }, [], 'JobDefinition');
    expect(body.kind).toBe('schedule');
    expect(body.options).toEqual({ retries: '2' });
  });
});

describe('errors', () => {
  const keys = ['cpus', 'memory', 'image'];

  it('maps /form/check errors to their fields and parameters', () => {
    const mapped = mapCheckErrors(
      {
        cpus: 'cpus: expected a whole number; got lots',
        'param:n': "parameter 'n' is declared as int; got abc",
        profile: 'no such profile',
        memory: ''
      },
      keys
    );
    expect(mapped).toEqual({
      fields: { cpus: 'cpus: expected a whole number; got lots' },
      params: { n: "parameter 'n' is declared as int; got abc" },
      other: ['no such profile']
    });
  });

  it('hands jupyter-scheduler every error, parameters keyed param:<name>', () => {
    const mapped = mapCheckErrors({ cpus: 'bad cpus', 'param:n': 'bad n', x: 'other' }, keys);
    expect(schedulerErrors({ image: 'needs an image' }, mapped)).toEqual({
      cpus: 'bad cpus',
      image: 'needs an image',
      'param:n': 'bad n',
      form: 'other'
    });
    expect(schedulerErrors({}, mapCheckErrors({}, keys))).toEqual({});
  });

  it('holds Create with a pseudo-error while a check is on its way', () => {
    const none = mapCheckErrors({}, keys);
    const pending = schedulerErrors({}, none, {}, true);
    expect(Object.keys(pending)).toEqual([PENDING_KEY]);
    expect(pending[PENDING_KEY]).toMatch(/Checking/);
    expect(schedulerErrors({}, none, {}, false)).toEqual({});
    // The answer's errors stay while the next check is on its way.
    const old = mapCheckErrors({ cpus: 'bad cpus' }, keys);
    expect(schedulerErrors({}, old, {}, true)).toEqual({
      cpus: 'bad cpus',
      [PENDING_KEY]: pending[PENDING_KEY]
    });
  });

  it("puts the form's own parameter errors over the server's", () => {
    const mapped = mapCheckErrors({ 'param:n': 'server says', 'param:m': 'bad m' }, keys);
    const localParams = { n: 'n: no value' };
    expect(parameterErrors(mapped, localParams)).toEqual({ n: 'n: no value', m: 'bad m' });
    expect(schedulerErrors({}, mapped, localParams)).toEqual({
      'param:n': 'n: no value',
      'param:m': 'bad m'
    });
  });

  it('asks for an image only where the environment needs one and has none', () => {
    expect(localErrors({}, ospool).image).toMatch(/ospool.*needs an image; got none/);
    expect(localErrors({ image: '  ' }, ospool).image).toBeDefined();
    expect(localErrors({ image: 'docker://x:1' }, ospool)).toEqual({});
    expect(localErrors({}, withImage)).toEqual({});
    expect(localErrors({}, personal)).toEqual({});
    expect(localErrors({}, undefined)).toEqual({});
  });

  it('compares error maps ignoring cleared entries', () => {
    expect(sameErrors({ cpus: 'x' }, { cpus: 'x' })).toBe(true);
    expect(sameErrors({ cpus: 'x', memory: '' }, { cpus: 'x' })).toBe(true);
    expect(sameErrors({}, { cpus: 'x' })).toBe(false);
    expect(sameErrors({ cpus: 'x' }, { cpus: 'y' })).toBe(false);
  });
});
