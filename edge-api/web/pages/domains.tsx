/** @jsxImportSource hono/jsx */
import type { PageHandler } from "../page.ts";

export const domainsPage: PageHandler = async () => ({ title: "Domains", body: <p>Not built yet.</p> });
export const domainPage: PageHandler = async () => ({ title: "Domain", body: <p>Not built yet.</p> });
