// Who the client is: the socket's peer, unless that peer is a trusted proxy — then the
// rightmost X-Forwarded-For hop that is not itself trusted (so a client cannot spoof it).
import { BlockList, isIP } from 'node:net';

export class TrustedProxies {
  private readonly list = new BlockList();
  readonly empty: boolean;

  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const [address, prefix] = entry.split('/') as [string, string | undefined];
      const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
      if (prefix === undefined) this.list.addAddress(address, family);
      else this.list.addSubnet(address, Number(prefix), family);
    }
    this.empty = entries.length === 0;
  }

  has(address: string): boolean {
    if (this.empty) return false;
    const family = isIP(address);
    if (family === 0) return false;
    return this.list.check(address, family === 6 ? 'ipv6' : 'ipv4');
  }

  /** The client's address given the socket peer and the X-Forwarded-For it sent. */
  clientIp(peer: string, forwardedFor: string | undefined): string {
    if (forwardedFor === undefined || !this.has(peer)) return peer;
    const hops = forwardedFor.split(',');
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i]!.trim();
      if (isIP(hop) === 0) return peer;
      if (!this.has(hop)) return hop;
    }
    return hops[0]!.trim();
  }
}

/** `::ffff:127.0.0.1` → `127.0.0.1`: IPv4 clients on a dual-stack socket show up mapped. */
export function peerAddress(remote: string | undefined): string {
  if (remote === undefined) return '';
  return remote.startsWith('::ffff:') && remote.includes('.') ? remote.slice(7) : remote;
}
