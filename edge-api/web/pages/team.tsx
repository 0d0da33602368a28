/** @jsxImportSource hono/jsx */
import type { PageHandler } from "../page.ts";

export const teamPage: PageHandler = async () => ({ title: "Team", body: <p>Not built yet.</p> });
