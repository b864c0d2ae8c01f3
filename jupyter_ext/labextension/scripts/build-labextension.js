// Build the federated extension against the JupyterLab that is installed beside it.
//
// `jupyter labextension build` is deprecated in JupyterLab 4.6, and its replacement
// (jupyter-builder) downloads @jupyterlab/core-meta, which this project's machines cannot
// reach. @jupyterlab/builder's own script does the same build, given the core
// package.json that JupyterLab ships in its `staging` folder (the shared versions).
const { execFileSync } = require('child_process');
const path = require('path');

const python = process.env.PYTHON || 'python';
const jupyterlab = execFileSync(
  python,
  ['-c', 'import jupyterlab, os; print(os.path.dirname(jupyterlab.__file__))'],
  { encoding: 'utf-8' }
).trim();
const builder = require.resolve('@jupyterlab/builder/lib/build-labextension.js');
const args = [builder, '--core-path', path.join(jupyterlab, 'staging'), '.'];
if (process.env.CONDOR_NB_LABEXT_DEV) {
  args.splice(1, 0, '--development');
}
execFileSync(process.execPath, args, { stdio: 'inherit', cwd: path.join(__dirname, '..') });
