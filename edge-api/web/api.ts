/**
 * How a page reads and acts: through /v1 itself, in process, with the visitor's own cookie. The
 * pages hold no second copy of authorization, validation or scoping — a member without a
 * permission gets the API's 403 and the page says so (U1, C2).
 */
import type { Context } from "hono";

/** Calls the app's /v1 in process (Hono `app.request`). */
export type V1Fetch = (path: string, init: RequestInit) => Promise<Response>;

/** A /v1 answer that was not 2xx: its status and the API's stable `{ code, message }`. */
export class PageApiError extends Error {
  override readonly name = "PageApiError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface PageApi {
  get<T>(path: string): Promise<T>;
  /**
   * A change the browser asked for with a plain form (no script): the visitor's cookie and the
   * browser's `sec-fetch-site` go along, so /v1's own cross-site refusal applies.
   */
  post<T>(path: string, body: unknown): Promise<T>;
  /** Like `get`, but a 403/404/503 answer comes back as the error instead of being thrown. */
  tryGet<T>(path: string): Promise<T | PageApiError>;
}

/** The visitor's credential (the session cookie) and origin hints, forwarded to /v1. */
export function pageApi(c: Context, v1: V1Fetch): PageApi {
  const headers: Record<string, string> = { accept: "application/json" };
  const cookie = c.req.header("cookie");
  if (cookie) headers.cookie = cookie;
  const base = new URL(c.req.url).origin;
  const call = async <T>(path: string, init: RequestInit): Promise<T> => {
    const res = await v1(`${base}/v1${path}`, init);
    const body = (await res.json().catch(() => ({}))) as { code?: string; message?: string };
    if (!res.ok)
      throw new PageApiError(res.status, body.code ?? "internal", body.message ?? `HTTP ${res.status}`);
    return body as T;
  };
  const get = <T>(path: string) => call<T>(path, { method: "GET", headers });
  const site = c.req.header("sec-fetch-site");
  return {
    get,
    post: <T>(path: string, body: unknown) =>
      call<T>(path, {
        method: "POST",
        headers: {
          ...headers,
          "content-type": "application/json",
          ...(site ? { "sec-fetch-site": site } : {}),
        },
        body: JSON.stringify(body),
      }),
    async tryGet<T>(path: string) {
      try {
        return await get<T>(path);
      } catch (e) {
        if (e instanceof PageApiError && e.status !== 401 && (e.status < 500 || e.status === 503)) return e;
        throw e;
      }
    },
  };
}
