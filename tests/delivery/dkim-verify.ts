/**
 * The independent DKIM check of the delivery and cluster tests: dkimpy (Debian python3-dkim) run on
 * the message, the key fetched from the test's own DNS server (dkimverify.py), never the system resolver.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import type { DnsServer } from "../dns/server.ts";

export function dkimVerify(dns: DnsServer, message: string): Promise<{ ok: boolean; out: string }> {
  const [ip, port] = dns.address.split(":") as [string, string];
  return new Promise((resolve) => {
    const p = execFile(
      "/usr/bin/python3",
      [join(import.meta.dirname, "dkimverify.py"), ip, port],
      (err, stdout, stderr) => resolve({ ok: !err, out: `${stdout}${stderr}` }),
    );
    p.stdin?.end(message.replace(/\r?\n/g, "\r\n"));
  });
}

/** An RFC 3464 non-delivery report for `rcpt`, sent to the VERP address `verp` (D7 tests). */
export function dsnFor(verp: string, rcpt = "bob@rcpt.test"): string {
  return [
    "From: MAILER-DAEMON@mx.rcpt.test",
    `To: ${verp}`,
    "Subject: Undelivered Mail Returned to Sender",
    "MIME-Version: 1.0",
    'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"',
    "",
    "--b1",
    "Content-Type: text/plain",
    "",
    "Your message could not be delivered.",
    "--b1",
    "Content-Type: message/delivery-status",
    "",
    "Reporting-MTA: dns; mx.rcpt.test",
    "",
    `Final-Recipient: rfc822; ${rcpt}`,
    "Action: failed",
    "Status: 5.1.1",
    `Diagnostic-Code: smtp; 550 5.1.1 <${rcpt}>: User unknown`,
    "",
    "--b1--",
    "",
  ].join("\r\n");
}
