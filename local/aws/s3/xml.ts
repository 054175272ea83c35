/**
 * S3's XML, read and written with fast-xml-parser. Requests are validated before they are parsed
 * (anything not well-formed is MalformedXML), values stay strings exactly as sent (a key `0123` or
 * ` a ` keeps its form), and responses carry S3's namespace.
 */
import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';
import { malformedXml } from './errors.ts';

export const S3_NAMESPACE = 'http://s3.amazonaws.com/doc/2006-03-01/';

/** Element names that may repeat in the request documents the twin reads. */
const REPEATED = new Set(['Object', 'Grant', 'Rule']);

const parser = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  parseTagValue: false,
  trimValues: false,
  isArray: (name) => REPEATED.has(name),
});

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_' });

export type XmlValue = string | number | boolean | XmlObject | readonly XmlValue[] | undefined;
export interface XmlObject {
  readonly [name: string]: XmlValue;
}

/** A response document: `<?xml …?><root xmlns="…">…</root>`; undefined members are left out. */
export function renderXml(root: string, content: XmlObject, namespace = true): string {
  return builder.build({
    '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' },
    [root]: namespace ? { '@_xmlns': S3_NAMESPACE, ...content } : content,
  }) as string;
}

/** The request document's root element, as nested records of strings; MalformedXML otherwise. */
export function parseXmlDocument(text: string, root: string): Record<string, unknown> {
  if (text.trim().length === 0 || XMLValidator.validate(text) !== true) throw malformedXml();
  const document = parser.parse(text) as Record<string, unknown>;
  const element = document[root];
  if (element === undefined) throw malformedXml();
  // `<Root/>` parses as an empty string: the element is there with nothing in it.
  return typeof element === 'object' && element !== null ? (element as Record<string, unknown>) : {};
}

/** A child element's text, trimmed (S3 ignores the whitespace around a value); undefined when absent. */
export function childText(element: Record<string, unknown>, name: string): string | undefined {
  const value = element[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw malformedXml();
  return value.trim();
}

/** A child element that must be a structure (or empty); undefined when absent. */
export function childElement(
  element: Record<string, unknown>,
  name: string,
): Record<string, unknown> | undefined {
  const value = element[name];
  if (value === undefined) return undefined;
  if (typeof value === 'string') {
    if (value.trim().length > 0) throw malformedXml();
    return {};
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw malformedXml();
  return value as Record<string, unknown>;
}

/** `true`/`false` as S3 writes booleans; MalformedXML for anything else. */
export function childBoolean(element: Record<string, unknown>, name: string): boolean | undefined {
  const text = childText(element, name);
  if (text === undefined) return undefined;
  if (text === 'true') return true;
  if (text === 'false') return false;
  throw malformedXml();
}
