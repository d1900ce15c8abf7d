// Where a server is opened from, as a URL (IPv6 addresses in brackets).

/** Where a server listening on `host`:`port` is opened from. */
export function serverUrl(host: string, port: number): string {
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `http://${h}:${port}/`;
}
