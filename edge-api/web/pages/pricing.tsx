/** @jsxImportSource hono/jsx */
import type { PageHandler } from "../page.ts";

export const pricingPage: PageHandler = async () => ({ title: "Pricing", body: <p>Not built yet.</p> });
