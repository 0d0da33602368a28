/** @jsxImportSource hono/jsx */
import type { PageHandler } from "../page.ts";

export const activityPage: PageHandler = async () => ({ title: "Activity", body: <p>Not built yet.</p> });
