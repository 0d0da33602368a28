/**
 * Text evidence in English, from the replies of the major mailbox providers, MTAs and
 * filtering gateways. Each rule is one cause phrased the ways those systems phrase it; the
 * side of its kind (rules.ts `KINDS`) decides at which step of `classify.ts` it is consulted,
 * and within a step the first rule of this table that matches wins.
 *
 * Sources, read and compared (never copied): sisimai `lib/Sisimai/Reason/*.pm` (UserUnknown,
 * Suspend, HostUnknown, Blocked, SpamDetected, PolicyViolation, TooManyConn, Speeding) and
 * `lib/Sisimai/Rhost/*.pm` (Google, Microsoft, YahooInc, Apple, Cox, GoDaddy, Mimecast,
 * FrancePTT — transcriptions of each provider's published reply reference); zone-mta
 * `config/bounces.txt` (example replies in its comments); the providers' pages named below.
 */
import type { Rule } from "./rule.ts";

const ZONE = "zone-mta config/bounces.txt";
const SIS = "sisimai lib/Sisimai";

export const TEXT_RULES: readonly Rule[] = [
  // ---------------------------------------------------------------- sender side (step 1)
  {
    id: "uri-blocklist",
    kind: "content",
    text: /blacklisted (url|link)|\buribl\b|surbl|\bURLBL\d|url (in|within) the (body|message)/i,
    says: "a link in the message is on a URI blocklist",
    source: `${ZONE} (uribl.com, dbl: "Spammy URL in message"); ${SIS}/Rhost/Cox.pm URLBL codes`,
  },
  {
    id: "greylist",
    kind: "greylist",
    text: /grey ?list|gray ?list|internal resources? (are )?temporarily unavailable/i,
    says: "greylisting",
    source: `${ZONE} (Greylist rules); ${SIS}/Rhost/Mimecast.pm 451 "internal resources are temporarily unavailable"`,
  },
  {
    id: "tls",
    kind: "tls",
    text: /tls required|must issue a starttls|encryption required|requires? (a )?secure connection|route requires (encryption|tls|high-strength)|requires tls version/i,
    says: "the receiver requires TLS",
    source: `Google SMTP errors (support.google.com/a/answer/3726730) 421 4.7.0 / 530 5.7.0; ${SIS}/Rhost/Mimecast.pm 553 "this route requires encryption (tls)"`,
  },
  {
    id: "rate-unusual-temp",
    kind: "rate_limit",
    class: 4,
    text: /unusual rate of (unsolicited )?mail/i,
    says: "unusual rate of mail from the sending IP",
    source: "Google SMTP errors 421 4.7.0 / 4.7.28 (support.google.com/a/answer/3726730)",
  },
  {
    id: "invalid-recipients-reputation",
    kind: "reputation",
    text: /too many (invalid|unknown|bad|non-?existent|undeliverable) (recipients|addresses|users|rcpt)|excessive (userid unknowns|invalid recipients|unknown recipients)|too many (bounces|bad commands)|for attempting to (mail|send to) too many invalid/i,
    says: "the sender mailed too many invalid recipients (a reputation block, not this address)",
    source: `${ZONE} "550 Too many invalid recipients"; ${SIS}/Rhost/GoDaddy.pm IB112/IB113; ${SIS}/Rhost/Cox.pm "too many invalid recipients"`,
  },
  {
    id: "reputation-unusual",
    kind: "reputation",
    class: 5,
    text: /unusual rate of (unsolicited )?mail/i,
    says: "unusual rate of unsolicited mail from the sending IP",
    source: "Google 550 5.7.1 / 5.7.28 (support.google.com/a/answer/3726730)",
  },
  {
    id: "sender-auth",
    kind: "auth",
    text: /\bspf\b|\bdkim\b|\bdmarc\b|domainkeys|sender policy framework|\bptr\b|reverse dns|\brdns\b|unauthenticated|authentication (checks|level|requirements)|fails? to pass authentication|may not be mail exchanger|\(AU01\)|\bCXSNDR\b|\bCXDNS\b|\bIB108\b/i,
    says: "SPF, DKIM, DMARC or reverse DNS",
    source: `RFC 7372; Google 5.7.23–5.7.30 (support.google.com/a/answer/81126); Yahoo 5.7.9 / AU01 (senders.yahooinc.com/smtp-error-codes); Microsoft 5.7.23/5.7.25/5.7.509; ${SIS}/Rhost/Cox.pm CXSNDR/CXDNS; ${SIS}/Rhost/Mimecast.pm`,
  },
  {
    id: "sender-address",
    kind: "policy",
    text: /sender address rejected|sender domain|sender('s)? (account|address) (is )?(disabled|blocked|invalid|unknown|not registered)|mail sending denied|tenantattribution|domain of sender|sender was rejected|from: domain is invalid|blank from: addresses|sender (is )?(blocked|denied|not allowed|not authorized)|sender denied|bad outbound sender|mail from not owned|invalid sender|envelope blocked|blocked senders?\b|anti-spoofing|from address is spammer/i,
    says: "the sender's address or domain was refused",
    source: `Google 550 5.7.0 "Mail Sending denied" (support.google.com/a/answer/6140680); Microsoft 5.7.64 TenantAttribution (learn.microsoft.com, Exchange Online NDRs); ${SIS}/Rhost/Microsoft.pm 5.1.0/5.1.7/5.1.8; ${SIS}/Rhost/Mimecast.pm "envelope blocked", "blocked senders", "anti-spoofing policy"; ${SIS}/Rhost/GoDaddy.pm IB501/IB506; ${SIS}/Rhost/FrancePTT.pm 403/415/421`,
  },
  {
    id: "x.1.7-sender",
    kind: "policy",
    enhanced: /^\d\.1\.[78]$/,
    says: "bad sender address (x.1.7/x.1.8)",
    source: "RFC 3463 X.1.7/X.1.8; KumoMTA assets/bounce_classifier/iana.toml InvalidSender",
  },
  {
    id: "blocklist",
    kind: "blocklist",
    text: /blocked using|rejected using|black ?list|block ?list|deny ?list|\bdnsbl|\brbl\b|spamhaus|sorbs|spamcop|barracudacentral|\bcsi\.cloudmark|(?<!not )\b(is|are|been|ip|address|host) (listed|found) (by|on|in|at)\b|\blisting in\b|banned send|\bblocked (- see|by|for)\b|^blocked\b|client host (\[[^\]]*\] )?blocked|host network not allowed|weren't sent|sender rejected|\bAUP#|identified as (a )?spammer|spammer list|\b(ip|address) (is |has been )?(temporarily )?(blocked|banned)|\bIPBL\d|\bCXBL\b|\bCDRBL\b|\bIB10[3-6]\b|\bRTR:(BB|BL|SC|DU)|\b(OU|SC)-00\d|\[(BL\d+|TSS07)\]|not accepting connections|access denied, (banned|rejected by recipient)/i,
    says: "the sending IP or domain is on a blocklist",
    source: `${ZONE} (Spamhaus, SORBS, Cloudmark, Barracuda, Trend Micro, Comcast DNSBL, Yahoo BL21/BL23, Hotmail SC/OU, AOL RTR); ${SIS}/Rhost/Microsoft.pm 5.7.511/5.7.606-649/S3150; ${SIS}/Rhost/Cox.pm IPBL/CXBL; ${SIS}/Rhost/GoDaddy.pm IB104-106; ${SIS}/Rhost/Apple.pm; Comcast postmaster.comcast.net/smtp-error-codes.php BL000010`,
  },

  {
    id: "reputation",
    kind: "reputation",
    text: /reputation|user complaints|\[TSS\d+\]|\bRP-00\d|permanently deferred|\bIB110\b|\bIB111\b|suspicious activity|\bS775\b/i,
    says: "the sender's reputation",
    source: `Google 550 5.7.1 "very low reputation" (support.google.com/mail/answer/188131); Yahoo TSS04/TSS09 (senders.yahooinc.com/smtp-error-codes); Microsoft 4.7.650 / 5.7.850 (${SIS}/Rhost/Microsoft.pm); ${SIS}/Rhost/Mimecast.pm "local ct ip reputation"; ${SIS}/Rhost/GoDaddy.pm IB103/IB110`,
  },
  {
    id: "rate-limit",
    kind: "rate_limit",
    text: /receiving mail (at a rate|too quickly)|excessive volume|too many (recipients|connections|messages|sessions|concurrent|mails?)\b|frequency limit|rate limit(ed| exceeded)|rate-limit|slow down|throttl|(sending|relay|submission) (limit|quota) (exceeded|reached)|sent too many|message threshold exceeded|max(imum)? (number of )?messages? per (connection|session|hour)|max message per connection|exceeded the max number of messages/i,
    says: "a rate or volume limit",
    source: `Google 450 4.2.1 / 550 5.2.1 ReceivingRate (support.google.com/a/answer/3726730); Apple 421 4.7.1 "deferred due to excessive volume" (support.apple.com/en-us/102322); ${SIS}/Rhost/GoDaddy.pm IB504/IB510/IB607; ${SIS}/Rhost/Cox.pm; ${ZONE} Hotmail RP-00x`,
  },
  {
    id: "recipient-preference",
    kind: "policy",
    text: /preferences?\b|has (chosen|opted|elected) not to|does not (want|wish) to receive|(blocked|rejected|refused|denied) by (the )?recipient|recipient has (blocked|refused)|recipient('s)? (allow|block|safe) ?list|not (in|on) (the )?(allowed|white|allow)[- ]?(senders )?list|ip not in whitelist|not authorized to send|delivery not authorized|sender not authenticated for|sender was not authenticated|accepts? (mail|messages) only from|only accepts? (mail|messages) from|customer block list|restricted to internal/i,
    says: "the recipient (or its organisation) does not accept mail from this sender",
    source: `Google 550 5.7.1 "has a policy that prohibited" / 421 4.7.0 "IP not in whitelist" (support.google.com/a/answer/3726730); ${SIS}/Rhost/Microsoft.pm 5.7.1 "delivery not authorized", 5.7.12/5.7.13x, 5.7.513; ${ZONE} 554 5.7.105 SenderFilterConfig`,
  },
  {
    id: "content",
    kind: "content",
    text: /spam|virus|malware|phishing|infected|content (rejected|presents|examination|judged)|message content|\bUBE\b|unsolicited|junk ?mail|rfc ?5322 (section [\d.]+ )?compliant|not rfc compliant|multiple addresses in from|missing a valid (address|message-id)|headers? (value )?too (large|long|many)|hop count|mail loop|message is looping|message filtered|mail rejected|message rejected for|illegal attachment|attachment (extension )?(is )?(forbidden|not allowed|blocked)|malformed|bare line feed|8-?bit characters|suspicious (content|attachment|url)|security issue|\bHVU:|\bIB212\b|\bIB705\b|\bDY-002\b/i,
    says: "the message's content or form",
    source: `Google 550 5.7.1 RfcMessageNonCompliant / 552 5.7.0 BlockedMessage (support.google.com/a/answer/3726730); ${SIS}/Reason/SpamDetected.pm, VirusDetected.pm, ContentError.pm; ${SIS}/Rhost/GoDaddy.pm IB212/IB705; ${SIS}/Rhost/Microsoft.pm 5.4.14 hop count, 5.6.11; ${ZONE} AOL HVU, Hotmail DY-002`,
  },
  {
    id: "policy",
    kind: "policy",
    text: /polic(y|ies)|authentication required|access to submit messages|unresolvable .*from domain|unverifi?y?able sending|not allowed to (connect|send)|administrative prohibition|prohibited|geographical|\bdynamic ip|dial-?up|bad helo|helo\/ehlo|relay (is )?not permitted for you|open relay|\bIB401\b|\bIB50[12]\b|\bRTR:RD|\bDY-001\b|\bSC-003\b/i,
    says: "a policy of the receiving system",
    source: `Yahoo 554 5.7.9 "not accepted for policy reasons" (senders.yahooinc.com/smtp-error-codes); Apple 550 5.7.1 [CS01] "due to local policy" (support.apple.com/en-us/102322); ${SIS}/Reason/PolicyViolation.pm; ${SIS}/Rhost/Mimecast.pm; ${ZONE} Hotmail DY-001/SC-003, AOL RTR:RD`,
  },
  {
    id: "service-refused",
    kind: "policy",
    class: 5,
    text: /service refused?\b/i,
    says: "service refused to the sending host",
    source: `${SIS}/Rhost/FrancePTT.pm (Orange "Service refuse", OFR_999/LPN_108)`,
  },
  // ---------------------------------------------------------------- mailbox side (step 2)
  {
    id: "mailbox-full",
    kind: "mailbox_full",
    text: /quota|mailbox (is )?full|mailbox size limit|out of storage|storage (space|limit)|insufficient storage for|not enough (storage|space)|exceeded storage allocation|(mailbox|inbox|mailfolder) (is )?(full|over ?quota)|has exhausted allowed storage|too many messages (on the server|in (the|this) mailbox)|pleine/i,
    says: "the mailbox is full",
    source: `Google 452/552 4.2.2/5.2.2 OverQuota (support.google.com/a/answer/3726730); Apple 552 5.2.2 "user is over quota"; ${SIS}/Reason/MailboxFull.pm; ${SIS}/Rhost/GoDaddy.pm "account storage limit"`,
  },
  {
    id: "too-large",
    kind: "too_large",
    text: /message (is )?too (large|big)|message (size|length)|size limit|recipsizelimit|exceeds? (the )?(maximum|fixed maximum) (email |message )?size|maximum email size|too big for (this )?system/i,
    says: "the message is too large",
    source: `Google 552 5.2.3 / 5.3.4 (support.google.com/mail/answer/6584); ${SIS}/Rhost/Microsoft.pm 5.2.3 RecipSizeLimit / 5.3.4; ${SIS}/Rhost/Mimecast.pm 554 "maximum email size exceeded"`,
  },
  {
    id: "dns-temporary",
    kind: "dns",
    text: /(host|domain) not found, try again|name service error.*try again|temporary dns|dns (lookup )?(failure|error).*(try|temporar)|temporary lookup failure/i,
    says: "a temporary DNS failure",
    source:
      "Postfix bounce texts (Host or domain name not found. Name service error ... try again); RFC 3463 X.4.3",
  },
  // ---------------------------------------------------------------- address side (step 3)
  {
    id: "relay-denied",
    kind: "relay_denied",
    text: /relay(ing)? access denied|relaying denied|isn't in my list of allowed rcpthosts|we do not relay|unable to relay|relay not permitted|relaying not allowed|not configured to relay/i,
    says: "the recipient's MX does not accept mail for that domain",
    source: `${SIS}/Rhost/Apple.pm "relay access denied"; ${SIS}/Rhost/Microsoft.pm 5.4.1/5.7.1 "unable to relay"; ${SIS}/Rhost/YahooInc.pm "relaying denied for"; qmail "not in rcpthosts"`,
  },
  {
    id: "disabled",
    kind: "disabled",
    text: /\b(account|mailbox|address|user)\b[^.]{0,40}\b(is|has been|was)\s*(disabled|inactive|deactivated|frozen|suspended|discontinued|locked|blocked|closed|expired|terminated|archived)|disabled recipient|(inactive|deactivated|suspended|disabled|expired|expirada|locked) (user|recipient|account|mailbox)|user suspended|recipient suspend|account (disabled|inactive|expired|suspended|closed)|mailbox (disabled|inactive|locked|suspended)|no longer (valid|active|in use)|(currently|administratively|temporarily|permanently) (suspended|disabled|deactivated)|(user|account|mailbox|address) (is )?not active|no longer (an employee|accepts mail)|archived recipient|is expired account|mailbox is frozen/i,
    says: "the account is disabled",
    source: `Google 550 5.2.1 DisabledUser (support.google.com/a/answer/3726730); ${SIS}/Reason/Suspend.pm; ${SIS}/Rhost/YahooInc.pm "is no longer valid", "this mailbox is disabled"; ${SIS}/Rhost/GoDaddy.pm "account disabled"; ${SIS}/Rhost/FrancePTT.pm 420/426; ${ZONE} Hot.ee / Mail.ee`,
  },
  {
    id: "unknown-domain",
    kind: "unknown_domain",
    text: /no such domain|domain (does not exist|not found|name not found|unknown)|host or domain name not found|host unknown|unrouteable (address|domain)|unrouteable mail domain|nonexistent domain|dns domain .* does not exist|no route found to domain|not our customer|domain (is )?not (hosted|served) here/i,
    says: "the domain does not exist or is not served",
    source: `${SIS}/Reason/HostUnknown.pm; ${SIS}/Rhost/Microsoft.pm 5.4.4 "nonexistent domain", 5.4.310; Comcast "Not our Customer"; Exim "Unrouteable address"`,
  },
  {
    id: "unknown-user",
    kind: "unknown_user",
    text: /no such (user|mailbox|recipient|address|person|account|e-?mail)|user(name)? (is )?(unknown|not found|not known|does not exist|doesn't exist|invalid)|unknown (user|recipient|addressee|mailbox|account|e-?mail address|address|local[- ]part|alias)|addressee unknown|recipient (not found|unknown|does not exist)|recip(ient)?notfound|(mailbox|address|account|user|recipient|e-?mail account|email address) (does not|doesn't|did not) exist|does not exist|doesn't exist|(invalid|not a valid|bad|illegal) (recipient|mailbox|address|user|e-?mail address|account)|mailbox (not found|invalid|not present)|no mailbox (here|found|by that name)|not listed in .*directory|no longer on server|doesn't have an? \S+ account|not a (registered|known|valid|local) (user|address|recipient)|is not (a valid mailbox|an active address)|not (a )?registered|(user|recipient|address) (is )?not (local|registered|found)|no (one|one with that e-?mail address) (here|at this address)|there is no one at this address|could not be found|(address|email address) (is )?(unknown|not recognized)|inactive email address|unknown or illegal alias|^address rejected|badrcptto|no account by that name|could not deliver mail to this user|mail receiving disabled|nosuchuser/i,
    says: "the address does not exist",
    source: `Google 550 5.1.1 NoSuchUser (support.google.com/a/answer/3726730); Microsoft 550 5.1.10 RecipientNotFound / 5.4.1 "Recipient address rejected: Access denied" (learn.microsoft.com, Exchange Online NDRs); Yahoo 554 "dd This user doesn't have a yahoo.com account"; Apple 550 5.1.1 "user does not exist" / 5.1.6; ${SIS}/Reason/UserUnknown.pm; ${SIS}/Rhost/Mimecast.pm "invalid recipient"; ${SIS}/Rhost/GoDaddy.pm "recipient not found"; ${ZONE} "554 Invalid mailbox"`,
  },
  {
    id: "unknown-user-nouns",
    kind: "unknown_user",
    text: /\b(user|recipient|address|addressee|mailbox|account|e-?mail name|mail ?drop|virtual user)(e?s)?\b[^.;:]{0,24}?[\s_](were |was |is |are )?(unknown|not[\s_]found|not known|not defined|non-?existent)\b|non-?existent (user|recipient|address|mailbox|account)|no (such )?mail ?(box|drop)|no valid recipients|(address|e-?mail address) (is )?(invalid|wrong)|wrong or no longer valid|doesn't handle mail for (that|this) user|missing home directory|bad destination (mailbox|e-?mail) address|not known to this system/i,
    says: "the address does not exist (a noun for the address with 'unknown', 'not found' or 'non-existent')",
    source: `${SIS}/Reason/UserUnknown.pm ("destination addresses were unknown", "no mail box available", "no valid recipients", "user missing home directory", "vdeliver: invalid or unknown virtual user"); eNichers/node-bounce-handler lib/responses.js ("Account not found", "ADDRESS_NOT_FOUND", "No such mail drop defined"); RFC 3463 X.1.1 title "Bad destination mailbox address"`,
  },
  {
    id: "unknown-user-weak",
    kind: "unknown_user",
    weak: true,
    text: /recipient address rejected: access denied|mailbox (is )?(unavailable|not available)|recipient (address )?(rejected|refused|not (allowed|accepted|ok))|address rejected|recipient (cannot|could not) be verified|invalid mailbox/i,
    says: "the server refused the mailbox (RFC 5321 550 'mailbox unavailable')",
    source: `RFC 5321 §4.2.2 (550 "mailbox unavailable"); Microsoft 365 550 5.4.1 "Recipient address rejected: Access denied" (directory-based edge blocking, learn.microsoft.com); ${SIS}/Reason/UserUnknown.pm; ${SIS}/Rhost/Cox.pm "recipient rejected"`,
  },
];
