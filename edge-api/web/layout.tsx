/** @jsxImportSource hono/jsx */
/**
 * The frame of every page (U1): skip link, menu limited by permission, the monthly quota bar on
 * top (A7: blue up to 80 %, orange above, red at 100 % with "sending blocked"), the page, and the
 * one small client script (assets/app.js).
 */
import type { Child } from "hono/jsx";
import { PAGES, type PagePath, quotaMessage, visiblePages } from "./nav.ts";
import type { Me, Quota } from "./types.ts";

export interface Frame {
  title: string;
  me: Me;
  quota: Quota | null;
  current: PagePath | null;
  /** Extra scripts of the page, under /assets/. */
  scripts?: string[] | undefined;
  /** A success notice shown once above the page (notices.ts). */
  notice?: string | undefined;
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
  const email = props.me.email ?? "";
  return (
    <html lang="en">
      <Head title={props.title} scripts={props.scripts} />
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="top">
          <span class="brand">Petrel</span>
          {/* Phones: the menu folds behind this button (assets/app.js); without script it stays open. */}
          <button type="button" class="menu-toggle" aria-expanded="false" aria-controls="site-menu">
            Menu
          </button>
          <div class="menu" id="site-menu">
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
              <span class="who" title={email}>
                {email}
              </span>{" "}
              <button type="submit">Sign out</button>
            </form>
          </div>
        </header>
        {props.quota ? <QuotaBar quota={props.quota} /> : null}
        <main id="main">
          <h1>{props.title}</h1>
          {props.notice ? (
            <p class="notice notice-done" role="status" data-notice>
              {props.notice}
            </p>
          ) : null}
          {props.children}
        </main>
      </body>
    </html>
  );
}

function Head({ title, scripts }: { title: string; scripts?: string[] | undefined }) {
  return (
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <title>{`${title} · Petrel`}</title>
      <link rel="stylesheet" href="/assets/app.css" />
      <script src="/assets/app.js" defer />
      {(scripts ?? []).map((s) => (
        <script src={`/assets/${s}`} defer />
      ))}
    </head>
  );
}

/** A sentence as the API gives it (`this needs ...`), capitalised and ended. */
export function sentence(message: string): string {
  const s = message.trim();
  if (!s) return s;
  const first = s.charAt(0).toUpperCase() + s.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}

/** The page body when the API refused: no permission (403), no active plan, or not found. */
export function Refusal({ status, message }: { status: number; message: string }) {
  return (
    <div class="refusal" role="alert" data-status={status}>
      <p>{status === 403 ? "You don't have access to this page." : "This page is not available."}</p>
      <p class="reason">{sentence(message)}</p>
    </div>
  );
}

/** An address no page answers: what happened and where to go, inside the frame (with the menu). */
export function NotFound({ path, first }: { path: string; first: PagePath | undefined }) {
  return (
    <div class="refusal" role="alert" data-status={404}>
      <p>
        There is no page at <code class="ident">{path}</code>.
      </p>
      <p class="reason">
        The address may be mistyped or the item deleted. Use the menu
        {first ? (
          <>
            {" "}
            or go back to <a href={first}>{titleOfPath(first)}</a>
          </>
        ) : null}
        .
      </p>
    </div>
  );
}

function titleOfPath(path: PagePath): string {
  return PAGES.find((p) => p.path === path)?.label ?? path;
}

/** An error page without the frame (visitor not signed in, or the frame itself failed). */
export function bareErrorPage({
  status,
  title,
  message,
}: {
  status: number;
  title: string;
  message: string;
}) {
  const html = (
    <html lang="en">
      <Head title={title} />
      <body class="signin">
        <main id="main" data-status={status}>
          <h1>{title}</h1>
          <p>{message}</p>
          <p>
            <a href="/">Go to the dashboard</a> · <a href="/sign-in">Sign in</a>
          </p>
        </main>
      </body>
    </html>
  );
  return `<!doctype html>${html}`;
}
