/**
 * The activity cursor, in one place: the last row of a page as base64url JSON — events view
 * `[ts, eventId]`, recipient view `[ts, recipientId, rowKind]`. A cursor comes back from the client, so
 * decoding is strict: a zod schema for its shape and ranges (ts a whole number of ms within
 * ClickHouse's DateTime64 range, so never a number the query parameters cannot carry — `[1e+300,"x"]`
 * once reached the ClickHouse client and answered 500), and the view it pages.
 */
import { z } from "zod";
import { fromBase64Url, toBase64Url } from "../base64url.ts";

/** The view a cursor pages (activity.ts `ActivityView`, declared there). */
type View = "recipients" | "events";

/** The last instant a DateTime64(3) holds: 2299-12-31T23:59:59.999Z. */
export const MAX_CURSOR_TS = Date.UTC(2299, 11, 31, 23, 59, 59, 999);
/** Longer than any event or recipient id; the query string's cursor is at most 500 characters anyway. */
const MAX_ID = 300;

const Ts = z.number().int().min(0).max(MAX_CURSOR_TS);
const Id = z.string().min(1).max(MAX_ID);
const Events = z.tuple([Ts, Id]);
const Recipients = z.tuple([Ts, Id, z.union([z.literal(0), z.literal(1)])]);

export interface ActivityCursor {
  ts: number;
  /** Event id (events view) or recipient id (recipient view). */
  id: string;
  /** Recipient view only: 1 the current row, 0 the Delivered row a bounce followed. */
  rowKind?: 0 | 1;
}

/** An invalid cursor is the caller's error: a 400 naming `cursor` (edge-api/errors.ts). */
export class CursorError extends Error {
  override readonly name = "CursorError";
  readonly field = "cursor";
}

export function encodeCursor(ts: number, id: string, rowKind?: number): string {
  const v = rowKind === undefined ? [ts, id] : [ts, id, rowKind];
  return toBase64Url(new TextEncoder().encode(JSON.stringify(v)));
}

function json(cursor: string): unknown {
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(fromBase64Url(cursor)));
  } catch {
    throw new CursorError("invalid cursor: not a cursor of the activity list");
  }
}

/** The cursor of a page of `view`; throws CursorError for anything else. */
export function decodeCursor(cursor: string, view: View): ActivityCursor {
  const v = json(cursor);
  const other = view === "events" ? Recipients : Events;
  if (other.safeParse(v).success)
    throw new CursorError(`invalid cursor: it pages the ${view === "events" ? "recipients" : "events"} view`);
  if (view === "events") {
    const r = Events.safeParse(v);
    if (r.success) return { ts: r.data[0], id: r.data[1] };
  } else {
    const r = Recipients.safeParse(v);
    if (r.success) return { ts: r.data[0], id: r.data[1], rowKind: r.data[2] };
  }
  throw new CursorError("invalid cursor: not a cursor of the activity list");
}
