/**
 * The `--history` URL: checked at the edge (options.ts), and shown in messages without its
 * credentials. Kept apart from pg-history.ts so checking a flag does not load the driver.
 */

/** True for a postgres:// or postgresql:// URL with a host (or a `host` parameter, for a Unix socket). */
export function isHistoryUrl(raw: string): boolean {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return false;
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') return false;
  return u.hostname !== '' || (u.searchParams.get('host') ?? '') !== '';
}

/** The URL as it may be shown: scheme, host, port and database; never a user name or password (nor a query, which may hold one). */
export function describeHistoryUrl(raw: string): string {
  try {
    const u = new URL(raw);
    if (u.protocol === 'postgres:' || u.protocol === 'postgresql:') return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    // not a URL: fall through
  }
  // Not a URL: keep what follows the last "@" and drop any query, so a mistyped password is not echoed.
  const at = raw.lastIndexOf('@');
  const text = (at >= 0 ? `***${raw.slice(at)}` : raw).replace(/[?#].*$/, '');
  return text.length > 80 ? `${text.slice(0, 80)}...` : text;
}
