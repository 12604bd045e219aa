// JSON over HTTP with the server's error shape ({"error": "..."}) turned into exceptions.

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.body = body;
  }
}

/**
 * Call the API. `body` is sent as JSON unless it is FormData (uploads) or a Blob/File (raw upload).
 * Returns the parsed JSON body, or null for 204 / empty responses.
 */
export async function request(method, url, { body, headers = {}, signal } = {}) {
  const init = { method, headers: { Accept: "application/json", ...headers }, signal };
  if (body instanceof FormData) {
    init.body = body;
  } else if (body instanceof Blob) {
    init.body = body;
    if (body.type) init.headers["Content-Type"] = body.type;
  } else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, "The server cannot be reached. Check your connection and try again.", null);
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const message =
      (data && (data.error || data.message)) || `${response.status} ${response.statusText || "error"}`;
    throw new ApiError(response.status, String(message), data);
  }
  return data;
}
