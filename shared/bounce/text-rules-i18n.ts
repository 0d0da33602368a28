/**
 * Text evidence in other languages than English: French, German, Spanish, Portuguese,
 * Italian, Dutch, Russian, Japanese (and Polish where a public sample exists). Consulted after
 * the English table at each step of `classify.ts`, by the same side-first order, so a
 * localised "blocked as spam" still wins over a localised "unknown user".
 *
 * Where a provider's own localised reply is public, the rule cites it (Orange/La Poste through
 * sisimai's FrancePTT transcription; Italian, Spanish, German, French and Polish phrases kept by
 * the PHP/Node bounce handlers, e.g. eNichers/node-bounce-handler lib/responses.js, and by
 * sisimai Reason/UserUnknown.pm). The rest are the usual wordings of the same causes in each
 * language, written from the English classes ("translation"): they widen recall for unknown
 * input and are tested, but no public sample of them was found.
 */
import type { Rule } from "./rule.ts";

const BH = "eNichers/node-bounce-handler lib/responses.js (after cfortune PHP-Bounce-Handler)";
const FPTT = "sisimai lib/Sisimai/Rhost/FrancePTT.pm (Orange / La Poste reply codes)";
const TR = "translation of the English class (no public sample found)";

export const I18N_RULES: readonly Rule[] = [
  // ---------------------------------------------------------------- sender side (step 1)
  {
    id: "i18n-blocklist",
    kind: "blocklist",
    text: /liste noire|schwarze[n]? liste|sperrliste|lista negra|lista nera|lista de bloqueio|zwarte lijst|blokkeerlijst|черн(ый|ом) списк|ブラックリスト|adresse ip source bloquee|ip[- ]adresse[^.]{0,30}gesperrt/i,
    says: "the sending IP is on a blocklist (localised)",
    source: `${FPTT} 102 "Adresse IP source bloquee pour incident de spam"; ${TR}`,
  },
  {
    id: "i18n-spam",
    kind: "content",
    text: /courrier ind[ée]sirable|ind[ée]sirable|spamverdacht|als spam|correo no deseado|no deseado|lixo eletr[oô]nico|posta indesiderata|ongewenste (e-?mail|post)|спам|迷惑メール|スパム|antyspam|mail rejet[ée]|message rejet[ée]/i,
    says: "the message was judged spam (localised)",
    source: `${FPTT} 506 "Mail rejete. Mail rejected"; ${BH} (.PL "odrzucona przez system antyspamowy"); ${TR}`,
  },
  {
    id: "i18n-sender",
    kind: "policy",
    text: /exp[ée]diteur|emetteur invalide|absender|remitente|remetente|mittente|afzender|отправител|送信者|差出人|受信拒否/i,
    says: "the refusal names the sender (localised)",
    source: `${FPTT} 403/415 "Emetteur invalide"; NTT docomo / au "受信拒否" (recipient-set refusal, sisimai lib/Sisimai/Rhost/NTTDOCOMO.pm, KDDI.pm); ${TR}`,
  },
  {
    id: "i18n-policy",
    kind: "policy",
    text: /politique|richtlinie|pol[ií]tica|politica|beleid|политик|ポリシー/i,
    says: "a policy of the receiving system (localised)",
    source: TR,
  },
  // ---------------------------------------------------------------- mailbox side (step 2)
  {
    id: "i18n-mailbox-full",
    kind: "mailbox_full",
    text: /boite (aux lettres |du destinataire )?(est )?pleine|bo[iî]te pleine|postfach (ist )?voll|zuviele mails|speicherplatz (ist )?(voll|ersch[öo]pft)|buz[oó]n (est[aá] )?lleno|cuota (excedida|superada)|caixa (postal |de correio )?(est[aá] )?cheia|cota excedida|casella (di posta )?(è |e' )?piena|spazio (esaurito|insufficiente)|(postbus|mailbox) (is )?vol\b|ящик переполнен|превышен[^.]{0,20}квот|容量(が|を)?(超過|オーバー|いっぱい)|メールボックスがいっぱい/i,
    says: "the mailbox is full (localised)",
    source: `${FPTT} 417 "Boite du destinataire pleine"; ${BH} (.DE "Benutzer hat zuviele Mails auf dem Server"); ${TR}`,
  },
  // ---------------------------------------------------------------- address side (step 3)
  {
    id: "i18n-disabled",
    kind: "disabled",
    text: /compte (du destinataire )?(est )?(bloqu|d[ée]sactiv|suspendu|ferm)|boite (du destinataire |aux lettres )?(est )?(archiv|d[ée]sactiv)|destinataire inconnu ou boite aux lettres desactivee|(postfach|konto|mailbox|benutzerkonto) (ist )?(deaktiviert|gesperrt|stillgelegt|inaktiv)|mailbox deaktiviert|cuenta (est[aá] )?(desactivada|suspendida|bloqueada|inactiva|deshabilitada)|estado: inactivo|casilla ha expirado|conta (est[aá] )?(desativada|bloqueada|suspensa|inativa|desabilitada)|casella (è |e' )?(disattivata|bloccata|sospesa)|disatt?tivata|bloccato per inutilizzo|account (è |e' )?(disattivato|sospeso|bloccato)|(account|postbus|mailbox) (is )?(geblokkeerd|gedeactiveerd|uitgeschakeld|opgeheven)|(ящик|аккаунт|учетная запись|учётная запись)[^.]{0,20}(заблокирован|отключен|удал[её]н)|(アカウント|メールボックス)[^。]{0,10}(無効|停止|ロック)|konto jest zablokowane/i,
    says: "the account is disabled (localised)",
    source: `${FPTT} 420 "Boite du destinataire archivee", 426 "Le compte du destinataire est bloque"; ${BH} (.DE "Adressat unbekannt oder Mailbox deaktiviert", .FR "Destinataire inconnu ou boite aux lettres desactivee", .ES "El usuario esta en estado: inactivo", "Esta casilla ha expirado por falta de uso", .IT "Questo indirizzo e' bloccato per inutilizzo", "mailbox disatttivata", .PL "konto jest zablokowane"); ${TR}`,
  },
  {
    id: "i18n-unknown-user",
    kind: "unknown_user",
    text: /destinataire (inconnu|invalide|inexistant)|adresse (d au moins un destinataire |destinataire )?(invalide|inconnue|inexistante)|utilisateur (inconnu|inexistant|non recens)|n'existe pas|non esiste|nom du destinataire n'est pas reconnu|(benutzer|empf[äa]nger|adressat|postfach|mailbox|e-?mail-adresse)[^.]{0,20}(unbekannt|existiert nicht|nicht gefunden|nicht vorhanden|ung[üu]ltig)|unbekannte[rn]? (benutzer|empf[äa]nger|adressat)|gibt es nicht|usuario (desconocido|no existe|inexistente|no encontrado|no v[aá]lido)|no existe|direcci[oó]n (de correo )?(no v[aá]lida|inexistente|desconocida)|destinatario (desconocido|inexistente|errato|sconosciuto|no v[aá]lido)|usu[aá]rio (desconhecido|inexistente|n[aã]o (existe|encontrado))|destinat[aá]rio (desconhecido|inexistente|inv[aá]lido)|endere[cç]o (inexistente|inv[aá]lido|desconhecido)|n[aã]o existe|utente (sconosciuto|inesistente|non (esiste|trovato|valido))|indirizzo (inesistente|non (valido|esiste))|destin\. sconosciuto|casella (inesistente|non esiste)|(gebruiker|ontvanger|adres|postbus|mailbox)[^.]{0,20}(onbekend|bestaat niet|niet gevonden|ongeldig)|onbekende (gebruiker|ontvanger)|(пользовател|адресат|получател|ящик|адрес)[^.]{0,30}(не существует|не найден|неизвест)|нет такого (пользователя|адресата|ящика|адреса)|несуществующ|(宛先|ユーザ|ユーザー|アドレス|メールアドレス|受信者)[^。]{0,20}(存在しません|見つかりません|不明|存在しない)|存在しないユーザ|ユーザ不明|nie istnieje|nie ma takiego konta/i,
    says: "the address does not exist (localised)",
    source: `${FPTT} 416/418 "Adresse d au moins un destinataire invalide"; sisimai lib/Sisimai/Reason/UserUnknown.pm (.ES "no existe dicha persona", "no existe ese usuario"); ${BH} (.IT "destin. Sconosciuto", "Destinatario errato", "Indirizzo inesistente"; .PL "nie istnieje", "Nie ma takiego konta"); ${TR}`,
  },
];
