/**
 * The contract of a page module: given the visitor (already signed in) and an API reader, answer
 * a title and a body. The frame (menu, quota bar), sign-in redirect and error pages are index.tsx's.
 */
import type { Context } from "hono";
import type { Child } from "hono/jsx";
import type { PageApi } from "./api.ts";
import type { Me, Quota } from "./types.ts";

export interface PageCtx {
  c: Context;
  api: PageApi;
  me: Me;
  quota: Quota | null;
  url: URL;
  /** Route parameters (`/domains/:domain` → { domain }). */
  params: Record<string, string>;
}

export interface PageResult {
  title: string;
  body: Child;
  /** HTTP status of the page (200 unless the API refused). */
  status?: 200 | 403 | 404 | 503;
  /** Extra scripts of this page, under /assets/ (e.g. the chart library). */
  scripts?: string[];
}

export type PageHandler = (p: PageCtx) => Promise<PageResult>;
