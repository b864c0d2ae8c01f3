/**
 * The one way the extension calls condor_nb's REST API under <base_url>/condor_nb/
 * (ServerConnection adds the token and the XSRF header). The form and the panel share it.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/**
 * A failed call: the server's `{"message", "hint"}` and the HTTP status (0: the server
 * was unreachable). `message` ends with the hint in parentheses, when there is one.
 */
export class ApiError extends Error {
  constructor(
    readonly detail: string,
    readonly status: number,
    readonly hint: string = ''
  ) {
    super(hint ? `${detail} (${hint})` : detail);
  }
}

export async function requestAPI<T>(path: string, init: RequestInit = {}): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, 'condor_nb', path);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ApiError(`the Jupyter server is unreachable (${String(error)})`, 0);
  }
  const text = await response.text();
  let data: unknown = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { message: text.slice(0, 300) };
    }
  }
  if (!response.ok) {
    const body = (data ?? {}) as { message?: string; hint?: string };
    const method = init.method ?? 'GET';
    const said = body.message || `${method} ${path}: HTTP ${response.status}`;
    throw new ApiError(said, response.status, body.hint || '');
  }
  return data as T;
}
