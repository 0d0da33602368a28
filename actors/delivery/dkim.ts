/**
 * DKIM signing (D3) with mailauth: relaxed/relaxed, the sending domain's active selector and
 * its key (RSA-2048 or ed25519), the signature prepended to the message.
 */
import { Piscina } from "piscina";
import type { SendingDomain } from "../../shared/model/account/protocol.ts";
import { sign as signDirect } from "./dkim-direct.js";

export const SIGNED_HEADERS = [
  "From",
  "Sender",
  "Reply-To",
  "Subject",
  "Date",
  "Message-ID",
  "To",
  "Cc",
  "MIME-Version",
  "Content-Type",
  "Content-Transfer-Encoding",
  "In-Reply-To",
  "References",
  "List-Unsubscribe",
  "List-Unsubscribe-Post",
];

export class DkimSignError extends Error {
  override readonly name = "DkimSignError";
}

/** mailauth's options for one signature with the domain's active selector. */
function signOptions(domain: SendingDomain, now: Date): Record<string, unknown> {
  const key = domain.dkim.find((k) => k.selector === domain.activeSelector);
  if (!key) throw new DkimSignError(`no DKIM key for the active selector of ${domain.domain}`);
  // mailauth signs only what is in `signatureData` (its typings describe top-level fields too).
  return {
    canonicalization: "relaxed/relaxed",
    algorithm: key.algorithm,
    signTime: now,
    headerList: SIGNED_HEADERS,
    signatureData: [
      {
        signingDomain: domain.domain,
        selector: key.selector,
        privateKey: key.privateKeyPem,
        algorithm: key.algorithm,
      },
    ],
  };
}

/** The DKIM-Signature header to put before the message (not the message: no 100 KiB copy). */
function signatureOf(signatures: string, errors: readonly unknown[]): Buffer {
  if (errors.length > 0) throw new DkimSignError(`DKIM signing failed: ${JSON.stringify(errors)}`);
  if (!signatures.startsWith("DKIM-Signature:"))
    throw new DkimSignError("DKIM signing produced no signature");
  return Buffer.from(signatures);
}

/** The DKIM-Signature header of `message` (ending in CRLF), to prepend to it. */
export type DkimSignFn = (message: Buffer, domain: SendingDomain, now: Date) => Promise<Buffer>;

/** Signs on the calling thread. */
export const signMessage: DkimSignFn = async (message, domain, now) => {
  const result = await signDirect(message, signOptions(domain, now));
  return signatureOf(result.signatures, result.errors);
};

interface SignResult {
  signatures: string;
  errors: string[];
}

interface Queued {
  message: Buffer;
  options: Record<string, unknown>;
  resolve(r: SignResult): void;
  reject(e: unknown): void;
}

/** Most signatures one thread task carries. */
const MAX_BATCH = 32;

/**
 * Signs on worker threads (piscina; actors/delivery/dkim-thread.js). An RSA-2048 signature
 * costs about 1.7 ms of CPU here (mailauth parses the PEM key for every message, then signs):
 * on the event loop that is the largest single cost of a delivery, taken from ingress and the
 * actors; on a worker thread it runs on another core.
 *
 * Signatures asked for in the same turn of the event loop go in one task per thread (at most
 * MAX_BATCH each): a task is a message to the thread, a wake-up of it and an answer, about
 * 0.3 ms of the event loop on a busy 2-core machine, paid once per batch instead of per message.
 */
export class DkimPool {
  private readonly pool: Piscina;
  private queue: Queued[] = [];
  private scheduled = false;

  constructor(private readonly threads: number) {
    this.pool = new Piscina({
      filename: new URL("./dkim-thread.js", import.meta.url).href,
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: Number.POSITIVE_INFINITY,
    });
  }

  readonly sign: DkimSignFn = async (message, domain, now) => {
    const options = signOptions(domain, now);
    const result = await new Promise<SignResult>((resolve, reject) => {
      this.queue.push({ message, options, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
    return signatureOf(result.signatures, result.errors);
  };

  /** Sends what was queued: split evenly over the threads, at most MAX_BATCH per task. */
  private flush(): void {
    this.scheduled = false;
    const queued = this.queue;
    this.queue = [];
    const per = Math.min(MAX_BATCH, Math.ceil(queued.length / this.threads));
    for (let i = 0; i < queued.length; i += per) {
      const batch = queued.slice(i, i + per);
      const task = { batch: batch.map((q) => ({ message: q.message, options: q.options })) };
      this.pool.run(task).then(
        (results: SignResult[]) => {
          batch.forEach((q, n) => {
            q.resolve(results[n] as SignResult);
          });
        },
        (e: unknown) => {
          for (const q of batch) q.reject(e);
        },
      );
    }
  }

  /** Tasks the threads have finished (tests: signatures of one turn go in one task per thread). */
  get tasks(): number {
    return this.pool.completed;
  }

  close(): Promise<void> {
    return this.pool.destroy();
  }
}

/**
 * Signatures already made, by message content, sending domain and selector (the caller's key):
 * the signature does not depend on the recipient, so a message's other transactions (more than
 * one transaction's worth of recipients, other recipient domains, retries) reuse it instead of
 * signing again. A signature still being made is shared too: a message to five recipient domains
 * reaches their five attempts at once, and they wait for one signature instead of making five.
 * Bounded (oldest out first) and short-lived; the signers hand back the header alone, kept as it
 * is; a failure is not kept (each waiter gets it, the next attempt signs again).
 */
export class SignatureCache {
  private readonly entries = new Map<string, { signature: Buffer; until: number }>();
  private readonly making = new Map<string, Promise<Buffer>>();

  constructor(
    private readonly max = 1024,
    private readonly ttlMs = 10 * 60_000,
  ) {}

  private get(key: string, now: number): Buffer | undefined {
    const hit = this.entries.get(key);
    if (hit && hit.until > now) return hit.signature;
    if (hit) this.entries.delete(key);
    return undefined;
  }

  private set(key: string, signature: Buffer, now: number): void {
    this.entries.delete(key);
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, { signature, until: now + this.ttlMs });
  }

  /** The signature under `key`: kept, being made, or made now by `make` (then kept). */
  signature(key: string, now: number, make: () => Promise<Buffer>): Promise<Buffer> {
    const hit = this.get(key, now);
    if (hit) return Promise.resolve(hit);
    let pending = this.making.get(key);
    if (!pending) {
      pending = make().then(
        (sig) => {
          this.making.delete(key);
          this.set(key, sig, now);
          return sig;
        },
        (e: unknown) => {
          this.making.delete(key);
          throw e;
        },
      );
      this.making.set(key, pending);
    }
    return pending;
  }
}
