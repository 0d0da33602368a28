/** Ingress series on the process registry (X4): S3 blocks and failures, accepts and refusals. */
import { Counter, type Registry } from "prom-client";

export interface IngressMetrics {
  authFailures: Counter;
  ipBlocks: Counter;
  messagesAccepted: Counter;
  recipientsAccepted: Counter;
  recipientsRejected: Counter<"reason">;
}

export function ingressMetrics(registry?: Registry): IngressMetrics {
  const registers = registry ? [registry] : [];
  return {
    authFailures: new Counter({
      name: "petrel_smtp_auth_failures_total",
      help: "Failed SMTP AUTH attempts (S3).",
      registers,
    }),
    ipBlocks: new Counter({
      name: "petrel_smtp_ip_blocks_total",
      help: "Client IPs blocked after failed AUTHs (S3).",
      registers,
    }),
    messagesAccepted: new Counter({
      name: "petrel_smtp_messages_accepted_total",
      help: "Messages answered 250 (S11).",
      registers,
    }),
    recipientsAccepted: new Counter({
      name: "petrel_smtp_recipients_accepted_total",
      help: "Recipients accepted for delivery.",
      registers,
    }),
    recipientsRejected: new Counter({
      name: "petrel_smtp_recipients_rejected_total",
      help: "Recipients refused at submission, by reason.",
      labelNames: ["reason"] as const,
      registers,
    }),
  };
}
