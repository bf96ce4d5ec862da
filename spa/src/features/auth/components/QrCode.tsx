import { useEffect, useState } from "react";

/** A QR code of `value` (an otpauth:// URI), drawn locally: the secret never leaves the page.
 * The QR library loads only when a code is shown. */
export function QrCode({ value, label }: { value: string; label: string }) {
  const [src, setSrc] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    void import("qrcode").then((qr) => qr.toDataURL(value, { margin: 1, width: 200 })).then((url) => {
      if (live) setSrc(url);
    });
    return () => {
      live = false;
    };
  }, [value]);
  return src ? <img className="qr" src={src} alt={label} width={200} height={200} /> : <p className="muted">Drawing the QR code…</p>;
}
