/**
 * A QR code drawn in the page as SVG from `uqr`'s module matrix (encoded here, in the browser: the secret never
 * leaves the page for a QR service, and nothing is fetched). Drawn as Preact elements — one path of dark runs —
 * never as an SVG string, so the no-HTML-sinks rule holds. Its own chunk: only TOTP enrolment needs it.
 */
import { encode } from 'uqr';

/** The path of the dark modules, one `h` run per horizontal stretch (a few hundred commands, not thousands). */
export function darkPath(data: readonly (readonly boolean[])[]): string {
  const parts: string[] = [];
  data.forEach((row, y) => {
    for (let x = 0; x < row.length; x++) {
      if (!row[x]) continue;
      let end = x;
      while (end + 1 < row.length && row[end + 1]) end++;
      parts.push(`M${x} ${y}h${end - x + 1}v1h-${end - x + 1}z`);
      x = end;
    }
  });
  return parts.join('');
}

export default function QrCode(props: { text: string; label: string; pixels?: number }) {
  // Medium error correction and the standard 4-module quiet zone: what phone cameras read reliably off a screen.
  const qr = encode(props.text, { ecc: 'M', border: 4 });
  const px = props.pixels ?? 240;
  return (
    <svg
      class="qr"
      role="img"
      aria-label={props.label}
      width={px}
      height={px}
      viewBox={`0 0 ${qr.size} ${qr.size}`}
      shape-rendering="crispEdges"
      data-testid="totp-qr"
    >
      <rect width={qr.size} height={qr.size} fill="#ffffff" />
      <path d={darkPath(qr.data)} fill="#000000" />
    </svg>
  );
}
