/** @jsxImportSource hono/jsx */
import type { PageHandler } from "../page.ts";

export const dashboardPage: PageHandler = async () => ({ title: "Dashboard", body: <p>Not built yet.</p> });
