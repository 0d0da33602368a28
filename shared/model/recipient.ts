/**
 * The per-recipient record (D1): what ingress hands to the recipient domain's actor for each
 * accepted recipient, in the message `{ t: "recipient", record }` on the domain actor's inbox
 * (key `domain:<recipient-domain>`, actors/keys.ts). The content itself is in the content store;
 * the record carries its reference.
 */
import { z } from "zod";

export const RecipientRecord = z.object({
  /** `<messageId>.<seq>` (actors/keys.ts recipientId). */
  recipientId: z.string().min(1),
  messageId: z.string().min(1),
  accountId: z.string().min(1),
  smtpUser: z.string(),
  /** Envelope sender (MAIL FROM) as the customer gave it; delivery replaces it with the VERP Return-Path. */
  sender: z.string(),
  recipient: z.string().min(3),
  recipientDomain: z.string().min(1),
  sendingDomain: z.string().min(1),
  subject: z.string(),
  /** The message's From header as read at DATA (issue 14 point 6); absent on older records. */
  headerFrom: z.string().optional(),
  /** Content store reference of the stored message (headers as accepted, Message-ID/Date added). */
  contentRef: z.string().min(1),
  size: z.number().int().min(0),
  /** Needs SMTPUTF8 / 8BITMIME downstream. */
  smtputf8: z.boolean().default(false),
  eightBit: z.boolean().default(false),
  /** A sandbox recipient (S14): simulated outcome, no network delivery. */
  isTest: z.boolean().default(false),
  acceptedAt: z.number().int(),
  /**
   * How many records its message has (X5): the content is deleted once that many recipients have a
   * final status. Absent on records written before it was carried (their content is kept).
   */
  recipients: z.number().int().min(1).optional(),
});
export type RecipientRecord = z.infer<typeof RecipientRecord>;
