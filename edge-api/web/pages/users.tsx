/** @jsxImportSource hono/jsx */
import type { PageHandler } from "../page.ts";

export const usersPage: PageHandler = async () => ({ title: "Users", body: <p>Not built yet.</p> });
export const userPage: PageHandler = async () => ({ title: "User", body: <p>Not built yet.</p> });
