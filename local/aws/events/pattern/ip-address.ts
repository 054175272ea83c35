import { InvalidEventPatternError } from './errors.ts';

/**
 * IP literals and CIDR blocks as EventBridge's matcher (aws/event-ruler) understands them: only text that
 * looks like an IPv4 dotted quad or an IPv6 hex/colon literal is an address; IPv6 with an embedded IPv4
 * tail or a zone id is not.
 */

export interface IpAddress {
  readonly version: 4 | 6;
  readonly value: bigint;
}

export interface IpRange {
  readonly version: 4 | 6;
  readonly bottom: bigint;
  readonly top: bigint;
}

const IPV4_SHAPE = /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/;
const IPV6_SHAPE = /^[0-9a-fA-F:]*:[0-9a-fA-F:]*$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

export function looksLikeIpAddress(text: string): boolean {
  return IPV4_SHAPE.test(text) || IPV6_SHAPE.test(text);
}

/** The address, or undefined when the text is not a valid IPv4/IPv6 literal. */
export function parseIpAddress(text: string): IpAddress | undefined {
  if (IPV4_SHAPE.test(text)) return parseIpv4(text);
  if (IPV6_SHAPE.test(text)) return parseIpv6(text);
  return undefined;
}

function parseIpv4(text: string): IpAddress | undefined {
  let value = 0n;
  for (const octetText of text.split('.')) {
    const octet = Number(octetText);
    if (octet > 255) return undefined;
    value = (value << 8n) | BigInt(octet);
  }
  return { version: 4, value };
}

function parseIpv6(text: string): IpAddress | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = splitGroups(halves[0] ?? '');
  const tail = halves.length === 2 ? splitGroups(halves[1] ?? '') : [];
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  const value = groups.reduce((accumulated, group) => (accumulated << 16n) | BigInt(group), 0n);
  return { version: 6, value };
}

function splitGroups(text: string): number[] | undefined {
  if (text === '') return [];
  const groups: number[] = [];
  for (const group of text.split(':')) {
    if (!HEX_GROUP.test(group)) return undefined;
    groups.push(Number.parseInt(group, 16));
  }
  return groups;
}

/**
 * Parses `address/bits`. Like event-ruler, the range starts at the address as written (host bits are not
 * cleared) and ends at the address with every host bit set. Throws with the reason text AWS reports.
 */
export function parseCidr(text: string): IpRange {
  const parts = splitLikeJava(text, '/');
  if (parts.length !== 2) throw new InvalidEventPatternError("Malformed CIDR, one '/' required");
  const [addressText, bitsText] = parts as [string, string];
  if (!/^[+-]?[0-9]+$/.test(bitsText))
    throw new InvalidEventPatternError('Malformed CIDR, mask bits must be an integer');
  const maskBits = Number(bitsText);
  if (maskBits < 0) throw new InvalidEventPatternError('Malformed CIDR, mask bits must not be negative');
  const address = parseCidrAddress(addressText);
  const width = address.version === 4 ? 32 : 128;
  if (maskBits > width - 1)
    throw new InvalidEventPatternError(`IPv${address.version} mask bits must be < ${width}`);
  const hostBits = (1n << BigInt(width - maskBits)) - 1n;
  return { version: address.version, bottom: address.value, top: address.value | hostBits };
}

function parseCidrAddress(text: string): IpAddress {
  if (!looksLikeIpAddress(text)) throw new InvalidEventPatternError(`Nonstandard IP address: ${text}`);
  const address = parseIpAddress(text);
  if (address === undefined) throw new InvalidEventPatternError(`Invalid IP address: ${text}`);
  return address;
}

/** Java's String.split drops trailing empty strings; AWS's CIDR check inherits that. */
function splitLikeJava(text: string, separator: string): string[] {
  const parts = text.split(separator);
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

export function rangeContains(range: IpRange, address: IpAddress): boolean {
  return range.version === address.version && address.value >= range.bottom && address.value <= range.top;
}
