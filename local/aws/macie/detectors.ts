/**
 * The twin's managed data identifiers: the sensitive-data types it detects in text, each with the
 * validity rules that keep ordinary numbers out, under Macie's type and category names.
 *  - CREDIT_CARD_NUMBER (financial information): 13–19 digits, plain or in groups separated by one
 *    kind of separator (space or hyphen), with a card network's prefix and a valid Luhn check digit.
 *  - USA_SOCIAL_SECURITY_NUMBER (personal information): AAA-GG-SSSS (hyphens or spaces), or nine
 *    plain digits next to a keyword (`ssn`, `social security`); never area 000, 666 or 900–999,
 *    group 00 or serial 0000 (the Social Security Administration never issues them).
 *  - AWS_CREDENTIALS (credentials): an access key id (AKIA/ASIA + 16) with a secret access key (40
 *    characters of the base64 alphabet, mixing upper case, lower case and digits) near it.
 *  - EMAIL_ADDRESS, PHONE_NUMBER (personal information): addresses; North American numbers with
 *    separators (area and exchange codes not starting with 0 or 1) and E.164 numbers.
 */
import { SensitiveDataCategory } from '../../../lambdas/domain/classification.ts';

export const SensitiveDataType = {
  creditCard: 'CREDIT_CARD_NUMBER',
  ssn: 'USA_SOCIAL_SECURITY_NUMBER',
  awsCredentials: 'AWS_CREDENTIALS',
  email: 'EMAIL_ADDRESS',
  phone: 'PHONE_NUMBER',
} as const;
export type SensitiveDataType = (typeof SensitiveDataType)[keyof typeof SensitiveDataType];

export const CATEGORY_OF: Readonly<Record<SensitiveDataType, string>> = {
  [SensitiveDataType.creditCard]: SensitiveDataCategory.financial,
  [SensitiveDataType.ssn]: SensitiveDataCategory.personal,
  [SensitiveDataType.email]: SensitiveDataCategory.personal,
  [SensitiveDataType.phone]: SensitiveDataCategory.personal,
  [SensitiveDataType.awsCredentials]: SensitiveDataCategory.credentials,
};

/** A match in one piece of text: its type and where it starts (0-based character index). */
export interface Match {
  readonly type: SensitiveDataType;
  readonly index: number;
}

/** The Luhn (mod 10) check over a string of digits. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let position = 0; position < digits.length; position += 1) {
    let digit = Number(digits[digits.length - 1 - position]);
    if (position % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}

/** Issuer prefixes and lengths of the card networks (Visa, Mastercard, Amex, Discover, JCB, Diners). */
function cardNetworkKnown(digits: string): boolean {
  const prefix2 = Number(digits.slice(0, 2));
  const prefix3 = Number(digits.slice(0, 3));
  const prefix4 = Number(digits.slice(0, 4));
  const { length } = digits;
  if (digits.startsWith('4')) return length === 13 || length === 16 || length === 19;
  if ((prefix2 >= 51 && prefix2 <= 55) || (prefix4 >= 2221 && prefix4 <= 2720)) return length === 16;
  if (prefix2 === 34 || prefix2 === 37) return length === 15;
  if (prefix4 === 6011 || prefix2 === 65 || (prefix3 >= 644 && prefix3 <= 649)) return length >= 16;
  if (prefix4 >= 3528 && prefix4 <= 3589) return length >= 16;
  if ((prefix3 >= 300 && prefix3 <= 305) || prefix2 === 36 || prefix2 === 38) return length >= 14;
  return false;
}

// Runs of digits possibly grouped by one kind of separator; bounded so they are not part of a longer number.
const CARD_CANDIDATE = /(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])/g;

function creditCards(text: string): Match[] {
  const found: Match[] = [];
  for (const match of text.matchAll(CARD_CANDIDATE)) {
    const candidate = match[0];
    const separators = new Set(candidate.replace(/\d/g, ''));
    if (separators.size > 1) continue;
    if (separators.size === 1) {
      // Grouped as cards print: 4-4-4-4(-3), or Amex / Diners 4-6-5 / 4-6-4.
      const groups = candidate.split(/[ -]/).map((group) => group.length);
      const shapes = ['4,4,4,4', '4,4,4,4,3', '4,6,5', '4,6,4', '4,4,4,1', '4,4,4,3'];
      if (!shapes.includes(groups.join(','))) continue;
    }
    const digits = candidate.replace(/[ -]/g, '');
    if (cardNetworkKnown(digits) && luhnValid(digits)) {
      found.push({ type: SensitiveDataType.creditCard, index: match.index });
    }
  }
  return found;
}

const SSN_FORMATTED = /(?<![\d-])(\d{3})([- ])(\d{2})\2(\d{4})(?![\d-])/g;
const SSN_PLAIN = /(?<![\d-])(\d{3})(\d{2})(\d{4})(?![\d-])/g;
const SSN_KEYWORD = /\b(ssn|ssns|social[ _-]?security)\b/i;

function ssnValid(area: string, group: string, serial: string): boolean {
  const areaNumber = Number(area);
  return areaNumber !== 0 && areaNumber !== 666 && areaNumber < 900 && group !== '00' && serial !== '0000';
}

/** `keywordNear`: the text around (its line, field name or column header) names SSNs. */
function ssns(text: string, keywordNear: boolean): Match[] {
  const found: Match[] = [];
  for (const match of text.matchAll(SSN_FORMATTED)) {
    if (ssnValid(match[1]!, match[3]!, match[4]!))
      found.push({ type: SensitiveDataType.ssn, index: match.index });
  }
  if (keywordNear || SSN_KEYWORD.test(text)) {
    for (const match of text.matchAll(SSN_PLAIN)) {
      if (ssnValid(match[1]!, match[2]!, match[3]!))
        found.push({ type: SensitiveDataType.ssn, index: match.index });
    }
  }
  return found;
}

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;

const PHONE_NANP =
  /(?<![\w+-])(?:\+?1[ .-]?)?(?:\(([2-9]\d{2})\)\s?|([2-9]\d{2})[ .-])([2-9]\d{2})[ .-](\d{4})(?![\w-])/g;
const PHONE_E164 = /(?<![\w+])\+[1-9]\d{7,14}(?!\d)/g;

function phones(text: string): Match[] {
  const indexes = new Set<number>();
  for (const match of text.matchAll(PHONE_NANP)) indexes.add(match.index);
  for (const match of text.matchAll(PHONE_E164)) {
    // A NANP number written +1… is found once.
    if (![...indexes].some((index) => index === match.index)) indexes.add(match.index);
  }
  return [...indexes].map((index) => ({ type: SensitiveDataType.phone, index }));
}

export const ACCESS_KEY_ID = /(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])/g;
const SECRET_CANDIDATE = /(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/g;

/** Access key ids in the text (each is a credential when a secret key is near it). */
export function accessKeyIds(text: string): number[] {
  return [...text.matchAll(ACCESS_KEY_ID)].map((match) => match.index);
}

/** Whether the text holds something shaped like a secret access key. */
export function hasSecretKey(text: string): boolean {
  for (const match of text.matchAll(SECRET_CANDIDATE)) {
    const value = match[0];
    if (/[A-Z]/.test(value) && /[a-z]/.test(value) && /\d/.test(value)) return true;
  }
  return false;
}

/**
 * Every match in one piece of text (a line, a cell, a JSON value), except AWS credentials, which
 * need a second piece (the secret key) and are paired by the scanner across nearby pieces.
 */
export function detect(text: string, context: { readonly ssnKeywordNear: boolean }): Match[] {
  return [
    ...creditCards(text),
    ...ssns(text, context.ssnKeywordNear),
    ...[...text.matchAll(EMAIL)].map((match) => ({ type: SensitiveDataType.email, index: match.index })),
    ...phones(text),
  ];
}

/** Whether a field name or column header names SSNs. */
export function namesSsn(name: string): boolean {
  return SSN_KEYWORD.test(name.replace(/([a-z])([A-Z])/g, '$1 $2').replace(/[_.-]/g, ' '));
}
