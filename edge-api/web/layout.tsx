/** @jsxImportSource hono/jsx */
/**
 * The frame of every page (U1): skip link, menu limited by permission, the monthly quota bar on
 * top (A7: blue up to 80 %, orange above, red at 100 % with "sending blocked"), the page, and the
 * one small client script (assets/app.js).
 */
import type { Child } from "hono/jsx";
import { type PagePath, quotaMessage, visiblePages } from "./nav.ts";
import type { Me, Quota } from "./types.ts";

export interface Frame {
  title: string;
  me: Me;
  quota: Quota | null;
  current: PagePath | null;
  /** Extra scripts of the page, under /assets/. */
  scripts?: string[] | undefined;
}

export function QuotaBar({ quota }: { quota: Quota }) {
  const width = Math.min(100, Math.max(0, quota.percent));
  return (
    <section class={`quota quota-${quota.band}`} aria-label="Monthly quota" data-band={quota.band}>
      <div
        class="quota-track"
        role="progressbar"
        aria-label="Recipients used this period"
        aria-valuemin={0}
        aria-valuemax={quota.limit}
        aria-valuenow={quota.used}
        aria-valuetext={`${Math.floor(quota.percent)} %`}
      >
        <div class="quota-fill" style={`width:${width}%`} />
      </div>
      <p class="quota-text" role={quota.band === "red" ? "alert" : undefined}>
        {quotaMessage(quota)}
      </p>
    </section>
  );
}

export function Layout(props: Frame & { children?: Child }) {
  const pages = visiblePages(props.me.permissions ?? []);
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · Petrel`}</title>
        <link rel="stylesheet" href="/assets/app.css" />
        <script src="/assets/app.js" defer />
        {(props.scripts ?? []).map((s) => (
          <script src={`/assets/${s}`} defer />
        ))}
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="top">
          <span class="brand">Petrel</span>
          <nav aria-label="SMTP">
            <ul>
              {pages.map((p) => (
                <li>
                  <a href={p.path} aria-current={p.path === props.current ? "page" : undefined}>
                    {p.label}
                  </a>
                </li>
              ))}
            </ul>
          </nav>
          <form class="signout" data-api="/v1/session" data-method="DELETE" data-then="goto:/sign-in">
            <span class="who">{props.me.email}</span> <button type="submit">Sign out</button>
          </form>
        </header>
        {props.quota ? <QuotaBar quota={props.quota} /> : null}
        <main id="main">
          <h1>{props.title}</h1>
          {props.children}
        </main>
      </body>
    </html>
  );
}

/** The page body when the API refused: no permission (403), no active plan, or not found. */
export function Refusal({ status, message }: { status: number; message: string }) {
  return (
    <div class="refusal" role="alert" data-status={status}>
      <p>{status === 403 ? "You don't have access to this page." : "This page is not available."}</p>
      <p class="reason">{message}</p>
    </div>
  );
}
