/**
 * Line ends of a chunk, found with the native `indexOf` (a JavaScript loop over every byte costs
 * several times more on 100 KiB bodies). Used where the relay passes CRLF-only content on as it is:
 * intake's line guard (ingress/lines.ts) and delivery's DATA encoder (actors/delivery/data-stream.ts).
 */
const CR = 0x0d;
const LF = 0x0a;

/** Every LF preceded by a CR and as many CRs as LFs: no bare CR or LF, no CR at the end. */
export function onlyCrlf(chunk: Uint8Array): boolean {
  let lfs = 0;
  for (let p = chunk.indexOf(LF); p !== -1; p = chunk.indexOf(LF, p + 1)) {
    if (p === 0 || chunk[p - 1] !== CR) return false;
    lfs++;
  }
  let crs = 0;
  for (let p = chunk.indexOf(CR); p !== -1; p = chunk.indexOf(CR, p + 1)) if (++crs > lfs) return false;
  return crs === lfs;
}
