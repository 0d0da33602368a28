/**
 * Content intake (S6, S10, S12, S13, S11 first half): the DATA stream flows once, chunk by chunk,
 * through the line guard (bare CR/LF, size), a streaming MIME walk (mailsplit; splitter.ts) that reads the
 * Subject, checks the header From (S7) and every attachment (S10), adds Message-ID and Date when
 * missing (S12), and straight into the content store, which resolves once the bytes are durable.
 * Any refusal aborts the write: nothing is stored.
 */
import type { Readable } from "node:stream";
import { Transform, type TransformCallback } from "node:stream";
import mailsplit, { type MimeNode, type SplitChunk } from "mailsplit";
import type { ContentStore, StoredContent } from "../shared/content/store.ts";
import { attachmentAllowed } from "./attachments.ts";
import { DelimiterLineCounter } from "./delimiter-lines.ts";
import { Replies, SmtpError } from "./errors.ts";
import { LineGuard } from "./lines.ts";
import { headerFromDomains } from "./policy.ts";
import { Splitter } from "./splitter.ts";
import type { MessageHeaders } from "./transaction.ts";

export interface IntakeOptions {
  store: ContentStore;
  messageId: string;
  hostname: string;
  now: number;
  maxBytes: number;
  maxHeaderBytes: number;
  /** S7: throws SmtpError unless every header From domain may be used (null: no From address). */
  checkHeaderFrom(domains: string[] | null, value: string): void;
  /** The root headers, as soon as they are read (before any check of them): a refusal keeps them. */
  onHeaders?(h: MessageHeaders): void;
}

export interface IntakeResult {
  stored: StoredContent;
  subject: string;
  headerFrom: string;
  eightBit: boolean;
}

const BOUNDARY = /boundary\s*=\s*(?:"([^"]*)"|([^;\s]+))/i;

class MimeInspector extends Transform {
  subject = "";
  headerFrom = "";
  /** Bytes mailsplit handed on (headers as received, data, bodies): fewer than it read = bytes lost. */
  private seen = 0;
  /** `--<boundary>` of every multipart seen so far. */
  private readonly delimiters = new Set<string>();
  /** Parts mailsplit found (nodes below the root), and delimiter lines of known boundaries in the text. */
  private parts = 0;
  private readonly delimiterLines = new DelimiterLineCounter(this.delimiters);

  constructor(
    private readonly o: IntakeOptions,
    private readonly guard: LineGuard,
  ) {
    super({ objectMode: true });
  }

  override _transform(chunk: SplitChunk, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      if (chunk.type === "node") {
        this.seen += chunk.getHeaders().length; // before inspect() adds Message-ID or Date
        this.inspect(chunk);
      } else {
        this.seen += chunk.value.length;
        this.delimiterLines.push(chunk.value);
      }
      done(null, chunk);
    } catch (e) {
      done(e as Error);
    }
  }

  /**
   * mailsplit drops a part whose header block runs into the next boundary without an empty line
   * (found by tests/fuzz/targets/mime.ts): refuse the message rather than relay it without that part.
   */
  override _flush(done: TransformCallback): void {
    this.delimiterLines.push(Buffer.from("\r\n"));
    const lost = this.seen < this.guard.outBytes;
    // More delimiter lines than parts: mailsplit missed parts (it knows only the boundaries of a part
    // and of its parent, and stumbles on an empty multipart), so the attachment policy never saw them.
    const hidden = this.delimiterLines.count > this.parts;
    done(lost || hidden ? Replies.malformedMime() : null);
  }

  private inspect(node: MimeNode): void {
    if (!node.root) this.parts++;
    if (node.multipart) {
      const m = BOUNDARY.exec(node.headers.getFirst("content-type"));
      const b = m?.[1] ?? m?.[2];
      if (b) this.delimiters.add(`--${b}`);
    }
    if (node.root) {
      this.subject = node.headers.getFirst("subject").slice(0, 998);
      const from = node.headers.getDecoded("from").map((h) => String(h.value ?? ""));
      this.headerFrom = from.join(", ").slice(0, 998);
      this.o.onHeaders?.({ subject: this.subject, headerFrom: this.headerFrom });
      this.o.checkHeaderFrom(headerFromDomains(from), this.headerFrom);
      if (!node.headers.hasHeader("message-id"))
        node.headers.add("Message-ID", `<${this.o.messageId}@${this.o.hostname}>`);
      if (!node.headers.hasHeader("date")) node.headers.add("Date", new Date(this.o.now).toUTCString());
    }
    const isAttachment = !!node.filename || node.disposition === "attachment";
    if (isAttachment && !node.multipart) {
      const name = (node.filename || "").toString();
      if (!attachmentAllowed(name, (node.contentType || "").toString()))
        throw Replies.attachmentNotAllowed(name || (node.contentType || "unnamed").toString());
    }
  }
}

/** Streams `source` (smtp-server's DATA stream) into the store. Never destroys `source`. */
export async function intake(
  source: Readable & { sizeExceeded?: boolean },
  o: IntakeOptions,
): Promise<IntakeResult> {
  const guard = new LineGuard(o.maxBytes);
  // mailsplit's Splitter, but a single-part body skips its line loop (splitter.ts).
  const splitter = new Splitter({ maxHeadSize: o.maxHeaderBytes });
  const inspector = new MimeInspector(o, guard);
  const joiner = new mailsplit.Joiner();
  let failure: unknown;
  // Chained by hand, as stream.pipeline does but without its per-message AbortController (its
  // AbortError + DOMException at every finish cost ~3 % of the ingress event loop): any stage's
  // error destroys every stage with it, so the store's read of `joiner` fails with that error.
  const stages = [guard, splitter, inspector, joiner] as const;
  const fail = (e: unknown) => {
    if (failure !== undefined) return;
    failure = e;
    for (const s of stages) s.destroy(e instanceof Error ? e : new Error(String(e)));
  };
  for (const s of stages) s.on("error", fail);
  guard.pipe(splitter).pipe(inspector).pipe(joiner);
  source.pipe(guard);
  // The client went away mid-DATA: smtp-server destroys the stream; abort the write with it.
  const abort = (e?: unknown) => {
    if (!source.readableEnded) guard.destroy(e instanceof Error ? e : new Error("DATA stream closed early"));
  };
  source.once("error", abort);
  source.once("close", abort);
  try {
    const stored = await o.store.put(joiner as unknown as Readable, { messageId: o.messageId });
    if (source.sizeExceeded) throw Replies.tooLarge();
    return { stored, subject: inspector.subject, headerFrom: inspector.headerFrom, eightBit: guard.eightBit };
  } catch (e) {
    source.unpipe(guard);
    source.resume(); // smtp-server drains the rest of DATA before it answers
    throw mapIntakeError(failure ?? e);
  }
}

function mapIntakeError(e: unknown): unknown {
  if (e instanceof SmtpError) return e;
  if ((e as { code?: string })?.code === "EMAXLEN") return Replies.headerTooLarge();
  return e;
}
