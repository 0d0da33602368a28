/**
 * A delivery node in front of a real Postfix, as the Postfix suites set it up: Knot serving the
 * recipient domain's MX (127.0.0.1) and the sending domain's DKIM keys; Postfix for the recipient
 * domain, routing bounce reports for the Return-Path host to the node's bounce listener (whose port
 * is learnt first from a probe node on the same data dir); optionally a recording wire between
 * the node and Postfix (tests/delivery/wire.ts).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SendingDomain } from "../../shared/model/account/protocol.ts";
import { type DnsServer, startDnsServer, testZone } from "../dns/server.ts";
import {
  type DeliveryNode,
  dkimTxt,
  type NodeOptions,
  RETURN_PATH_HOST,
  SENDER_DOMAIN,
  startDelivery,
} from "./harness.ts";
import { type Postfix, type PostfixOptions, startPostfix } from "./postfix.ts";
import { startWire, type Wire } from "./wire.ts";

export interface PostfixStack {
  dns: DnsServer;
  postfix: Postfix;
  node: DeliveryNode;
  /** Between the node and Postfix when asked for (`wire: true`). */
  wire: Wire | undefined;
  bouncePort: number;
  /** Stops the node and starts another on the same data dir and settings (plus `extra`). */
  restart(extra?: Partial<NodeOptions>): Promise<DeliveryNode>;
  stop(): Promise<void>;
}

export async function startPostfixStack(o: {
  /** The recipient domain (its MX is 127.0.0.1). */
  rcptDomain: string;
  domain: SendingDomain;
  domainOptions: NodeOptions["domainOptions"];
  /** Postfix's settings; the transport of the Return-Path host is added. */
  postfix: Omit<PostfixOptions, "transport">;
  wire?: boolean;
}): Promise<PostfixStack> {
  const dir = mkdtempSync(join(tmpdir(), "petrel-postfix-stack-"));
  const parts: Partial<PostfixStack> = {};
  const stop = async () => {
    await parts.node?.stop();
    await parts.wire?.close();
    await parts.postfix?.stop();
    await parts.dns?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const dns = await startDnsServer({
      zones: [
        testZone(o.rcptDomain, ["@ IN MX 10 mx", "mx IN A 127.0.0.1"]),
        testZone(
          SENDER_DOMAIN,
          o.domain.dkim.map((k) => `${k.selector}._domainkey IN TXT ${dkimTxt(k.publicKey)}`),
        ),
      ],
    });
    parts.dns = dns;
    const base = { dir, dnsServer: dns.address, domain: o.domain, domainOptions: o.domainOptions };
    // The bounce listener's port must be known before Postfix routes reports to it.
    const probe = await startDelivery({ ...base, smtpPort: 1 });
    const bouncePort = probe.bouncePort;
    await probe.stop();
    const postfix = await startPostfix({
      ...o.postfix,
      transport: { [RETURN_PATH_HOST]: `smtp:[127.0.0.1]:${bouncePort}` },
    });
    parts.postfix = postfix;
    const wire = o.wire ? await startWire(postfix.port) : undefined;
    parts.wire = wire;
    const nodeOptions: NodeOptions = { ...base, smtpPort: wire?.port ?? postfix.port, bouncePort };
    const node = await startDelivery(nodeOptions);
    parts.node = node;
    const restart = async (extra: Partial<NodeOptions> = {}) => {
      await parts.node?.stop();
      parts.node = undefined;
      parts.node = await startDelivery({ ...nodeOptions, ...extra });
      return parts.node;
    };
    return { dns, postfix, node, wire, bouncePort, restart, stop };
  } catch (e) {
    await stop().catch(() => {});
    throw e;
  }
}
