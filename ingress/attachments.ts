/**
 * S10 attachment policy: an allow-list by MIME type and by file extension (documented in
 * docs/attachments.md). A part is an attachment when it has a file name or an `attachment`
 * disposition. It is allowed when its extension is on the allow-list (or it has none) and its
 * type is allowed; executables and scripts are refused by extension whatever their declared type,
 * and by type whatever their name.
 */

/** Extensions that are always refused (S10), checked on every dot-separated part of the name. */
export const BLOCKED_EXTENSIONS: ReadonlySet<string> = new Set([
  "exe",
  "bat",
  "cmd",
  "com",
  "scr",
  "pif",
  "vbs",
  "vbe",
  "js",
  "jse",
  "jar",
  "msi",
  "msp",
  "ps1",
  "psm1",
  "wsf",
  "wsh",
  "hta",
  "cpl",
  "dll",
  "lnk",
  "reg",
  "sh",
  "app",
  "apk",
  "dmg",
  "iso",
  "scf",
]);

export const ALLOWED_EXTENSIONS: ReadonlySet<string> = new Set([
  // documents
  "pdf",
  "doc",
  "docx",
  "dot",
  "dotx",
  "xls",
  "xlsx",
  "xlsm",
  "ppt",
  "pptx",
  "odt",
  "ods",
  "odp",
  "rtf",
  "pages",
  "numbers",
  "key",
  "epub",
  // text and data
  "txt",
  "csv",
  "tsv",
  "json",
  "xml",
  "md",
  "log",
  "html",
  "htm",
  // calendar and contacts
  "ics",
  "ical",
  "vcs",
  "vcf",
  // images
  "png",
  "jpg",
  "jpeg",
  "gif",
  "bmp",
  "webp",
  "tif",
  "tiff",
  "svg",
  "heic",
  "ico",
  // audio and video
  "mp3",
  "wav",
  "ogg",
  "m4a",
  "mp4",
  "mov",
  "webm",
  // archives
  "zip",
  "gz",
  "tgz",
  "7z",
  "rar",
  "tar",
  "bz2",
  // mail
  "eml",
  "msg",
]);

const ALLOWED_TYPE_PREFIXES = ["image/", "text/", "audio/", "video/", "font/"];
const ALLOWED_TYPES: ReadonlySet<string> = new Set([
  "application/pdf",
  "application/msword",
  "application/rtf",
  "application/json",
  "application/xml",
  "application/zip",
  "application/gzip",
  "application/x-gzip",
  "application/x-7z-compressed",
  "application/x-rar-compressed",
  "application/vnd.rar",
  "application/x-tar",
  "application/x-bzip2",
  "application/ics",
  "application/octet-stream",
  "application/epub+zip",
  "message/rfc822",
  "application/pkcs7-signature",
  "application/pgp-signature",
  "application/pgp-encrypted",
]);
const ALLOWED_TYPE_PATTERNS = [
  /^application\/vnd\.openxmlformats-officedocument\./,
  /^application\/vnd\.ms-/,
  /^application\/vnd\.oasis\.opendocument\./,
  /^application\/vnd\.apple\./,
  /^multipart\//,
];
const BLOCKED_TYPES: ReadonlySet<string> = new Set([
  "application/x-msdownload",
  "application/x-msdos-program",
  "application/x-dosexec",
  "application/x-executable",
  "application/x-sh",
  "application/x-bat",
  "application/x-msi",
  "application/javascript",
  "text/javascript",
  "application/x-javascript",
  "application/java-archive",
  "application/vbscript",
  "text/vbscript",
  "application/hta",
  "application/x-ms-shortcut",
]);

export function typeAllowed(contentType: string): boolean {
  const t = contentType.toLowerCase().trim();
  if (BLOCKED_TYPES.has(t)) return false;
  return (
    ALLOWED_TYPES.has(t) ||
    ALLOWED_TYPE_PREFIXES.some((p) => t.startsWith(p)) ||
    ALLOWED_TYPE_PATTERNS.some((r) => r.test(t))
  );
}

/** S10: may a part with this name and type be attached? `name` may be empty for inline parts. */
export function attachmentAllowed(name: string, contentType: string): boolean {
  const parts = name
    .toLowerCase()
    .trim()
    .replace(/[.\s]+$/, "")
    .split(".");
  const exts = parts.slice(1);
  if (exts.some((e) => BLOCKED_EXTENSIONS.has(e))) return false;
  const last = exts.at(-1);
  if (last !== undefined && !ALLOWED_EXTENSIONS.has(last)) return false;
  return typeAllowed(contentType || "application/octet-stream");
}
