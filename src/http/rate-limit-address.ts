import { isIPv4, isIPv6 } from 'node:net';

/**
 * The address the login and refresh limits count against: an IPv4 address as it is, an
 * IPv4-mapped IPv6 address (`::ffff:192.0.2.7`, what a dual-stack socket reports) as its
 * IPv4 address, and any other IPv6 address as its network of `ipv6Prefix` bits
 * (`2001:db8:1:2::/64`). One host is routinely given a whole /64 and can use any of its
 * 2^64 addresses, so keying on the /128 gave it a fresh budget per address.
 *
 * @example
 * rateLimitAddress('2001:db8:1:2:a:b:c:d', 64); // '2001:db8:1:2:0:0:0:0/64'
 */
export function rateLimitAddress(ip: string, ipv6Prefix: number): string {
  if (isIPv4(ip)) return ip;
  const bytes = ipv6Bytes(ip);
  if (bytes === null) return ip;
  const mapped = bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  if (mapped) return bytes.subarray(12).join('.');
  for (let bit = ipv6Prefix; bit < 128; bit++) {
    const index = bit >> 3;
    bytes[index] = (bytes[index] as number) & ~(0x80 >> (bit & 7));
  }
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  return `${groups.join(':')}/${ipv6Prefix}`;
}

/** The 16 bytes of an IPv6 address (a zone `%eth0` dropped, an embedded IPv4 tail read), else null. */
function ipv6Bytes(raw: string): Buffer | null {
  const ip = raw.replace(/%.*$/, '');
  if (!isIPv6(ip)) return null;
  const [head = '', tail] = ip.split('::');
  const parts = (text: string) => (text === '' ? [] : text.split(':'));
  const toGroups = (items: string[]) =>
    items.flatMap((item) => {
      if (!isIPv4(item)) return [Number.parseInt(item, 16)];
      const [a, b, c, d] = item.split('.').map(Number) as [number, number, number, number];
      return [(a << 8) | b, (c << 8) | d];
    });
  const left = toGroups(parts(head));
  const right = tail === undefined ? [] : toGroups(parts(tail));
  const groups = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  const bytes = Buffer.alloc(16);
  for (const [i, group] of groups.entries()) bytes.writeUInt16BE(group, i * 2);
  return bytes;
}
