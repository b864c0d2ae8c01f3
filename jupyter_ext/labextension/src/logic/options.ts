/** The HTCondor options of a Create Job form, as jupyter-scheduler sends them. */

export type RuntimeParameters = { [key: string]: number | string | boolean };

/** The form's values without the fields left empty: an empty field means the default. */
export function filledIn(values: { [key: string]: string }): RuntimeParameters {
  const out: RuntimeParameters = {};
  for (const [key, value] of Object.entries(values)) {
    if (value.trim() !== '') {
      out[key] = value.trim();
    }
  }
  return out;
}
