// The page's one way to the API: the same public /api/v1 any other client uses. It sends the
// access token and the reader's language, refreshes the token once when it is refused, and turns
// problem details into ApiError with the fields named.

import { saveBlob } from "./dom.js";
import { language } from "./i18n.js";
import { queryString } from "./router.js";
import { accessToken, refresh } from "./session.js";

export class ApiError extends Error {
  constructor(status, body, headers) {
    super(body?.detail || body?.title || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
    this.title = this.body.title || "";
    this.detail = this.body.detail || "";
    /** [{field, message}] from a 400/403/422, so forms put each message next to its field. */
    this.errors = Array.isArray(this.body.errors) ? this.body.errors : [];
    this.retryAfter = headers?.get("Retry-After") || null;
  }

  /** The message about one field, if the answer named it. */
  about(field) {
    return this.errors.find((e) => e.field === field)?.message ?? null;
  }
}

async function send(method, url, { body, version, headers = {} }, token) {
  const all = { Accept: "application/json, application/problem+json", "Accept-Language": language(), ...headers };
  if (token) all.Authorization = `Bearer ${token}`;
  if (version !== undefined && version !== null) all["If-Match"] = `"${version}"`;
  let payload;
  if (body !== undefined) {
    all["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  return fetch(url, { method, headers: all, body: payload });
}

/** The raw response of a call (for downloads); throws ApiError on an error status. */
export async function call(method, path, options = {}) {
  const url = `/api/v1${path}${queryString(options.query)}`;
  let token = await accessToken();
  let response;
  try {
    response = await send(method, url, options, token);
  } catch (error) {
    throw new ApiError(0, { detail: String(error.message || error), title: "network" });
  }
  if (response.status === 401 && token) {
    const fresh = await refresh(token);
    token = fresh?.access_token;
    if (!token) throw new ApiError(401, { detail: "session expired", title: "Unauthorized" });
    response = await send(method, url, options, token);
  }
  if (!response.ok) {
    const body = await response.json().catch(() => ({ detail: response.statusText }));
    throw new ApiError(response.status, body, response.headers);
  }
  return response;
}

async function json(method, path, options) {
  const response = await call(method, path, options);
  if (response.status === 204) return null;
  const body = await response.json();
  const etag = response.headers.get("ETag");
  if (etag && body && typeof body === "object" && !Array.isArray(body)) {
    Object.defineProperty(body, "etag", { value: etag, enumerable: false });
  }
  return body;
}

export const api = {
  get: (path, query) => json("GET", path, { query }),
  post: (path, body, options = {}) => json("POST", path, { ...options, body }),
  patch: (path, body, options = {}) => json("PATCH", path, { ...options, body }),
  put: (path, body, options = {}) => json("PUT", path, { ...options, body }),
  delete: (path, body, options = {}) => json("DELETE", path, { ...options, body }),
};

/** Fetches a file with the token and hands it to the browser as a download. */
export async function download(path, query, fallbackName) {
  const response = await call("GET", path, { query, headers: { Accept: "*/*" } });
  const disposition = response.headers.get("Content-Disposition") || "";
  const match = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition);
  const name = match ? decodeURIComponent(match[1]) : fallbackName;
  const blob = await response.blob();
  saveBlob(blob, name);
  return { name, size: blob.size, unresolved: response.headers.get("X-DMT-Unresolved") };
}
