/** The part of mailsplit's API ingress uses (the package ships no types). */
declare module "mailsplit" {
  import { Transform } from "node:stream";

  export interface MimeHeaders {
    get(key: string): string[];
    getFirst(key: string): string;
    /** Every line of `key`, RFC 2047 words decoded. */
    getDecoded(key: string): { key: string; value: string }[];
    hasHeader(key: string): boolean;
    add(key: string, value: string, index?: number): void;
  }

  export interface MimeNode {
    type: "node";
    root: boolean;
    headers: MimeHeaders;
    contentType: string | false;
    disposition: string | false;
    filename: string | false;
    multipart: string | false;
    /** The header block as it will be written (the original bytes until a header is changed). */
    getHeaders(): Buffer;
  }

  export type SplitChunk = MimeNode | { type: "data" | "body"; value: Buffer };

  export class Splitter extends Transform {
    constructor(options?: { ignoreEmbedded?: boolean; maxHeadSize?: number });
  }
  export class Joiner extends Transform {
    constructor();
  }
  const mailsplit: { Splitter: typeof Splitter; Joiner: typeof Joiner };
  export default mailsplit;
}
