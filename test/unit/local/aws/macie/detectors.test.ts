import { describe, expect, it } from 'vitest';
import { detect, hasSecretKey, luhnValid, namesSsn } from '../../../../../local/aws/macie/detectors.ts';

const typesIn = (text: string, ssnKeywordNear = false) =>
  detect(text, { ssnKeywordNear }).map((match) => match.type);

describe('credit card numbers', () => {
  it('are found with and without separators when the network prefix and Luhn digit are right', () => {
    for (const card of [
      '4111111111111111',
      '4111 1111 1111 1111',
      '4111-1111-1111-1111',
      '5500 0000 0000 0004',
      '2223000048400011',
      '340000000000009',
      '3400 000000 00009',
      '6011000000000004',
      '3530111333300000',
      '30569309025904',
      '4222222222222',
    ]) {
      expect(typesIn(`paid with ${card} on 2026-11-30`), card).toEqual(['CREDIT_CARD_NUMBER']);
    }
  });

  it('are located where they start', () => {
    expect(detect('card: 4111 1111 1111 1111', { ssnKeywordNear: false })).toEqual([
      { type: 'CREDIT_CARD_NUMBER', index: 6 },
    ]);
  });

  it('are not just any 13–19 digits: wrong check digit, unknown prefix, odd grouping, mixed separators', () => {
    for (const text of [
      '4111111111111112', // Luhn fails
      '1234567890123452', // passes Luhn, no card network starts with 1
      '9999999999999995',
      '4111 11111111 1111', // not grouped as cards print
      '4111-1111 1111-1111', // mixed separators
      '41111111111111111111', // too long
      'order 20261130123456 shipped', // a timestamp-like id
      '0000000000000000',
    ]) {
      expect(typesIn(text), text).toEqual([]);
    }
  });

  it('uses the Luhn check', () => {
    expect(luhnValid('79927398713')).toBe(true);
    expect(luhnValid('79927398710')).toBe(false);
  });
});

describe('US social security numbers', () => {
  it('are found formatted, or plain next to a keyword', () => {
    expect(typesIn('SSN 123-45-6789')).toEqual(['USA_SOCIAL_SECURITY_NUMBER']);
    expect(typesIn('id 123 45 6789')).toEqual(['USA_SOCIAL_SECURITY_NUMBER']);
    expect(typesIn('ssn: 123456789')).toEqual(['USA_SOCIAL_SECURITY_NUMBER']);
    expect(typesIn('Social Security number 123456789')).toEqual(['USA_SOCIAL_SECURITY_NUMBER']);
    expect(typesIn('123456789', true)).toEqual(['USA_SOCIAL_SECURITY_NUMBER']);
  });

  it('are never issued with area 000, 666 or 9xx, group 00 or serial 0000', () => {
    for (const invalid of [
      '000-12-3456',
      '666-12-3456',
      '900-12-3456',
      '999-12-3456',
      '123-00-4567',
      '123-45-0000',
    ]) {
      expect(typesIn(`SSN ${invalid}`), invalid).toEqual([]);
    }
  });

  it('are not ordinary numbers: plain nine digits without a keyword, dates, amounts, ids', () => {
    for (const text of [
      'order 123456789 shipped',
      '2026-11-30',
      '12-345-6789',
      '1234-56-7890',
      'INV-123-45-67890',
    ]) {
      expect(typesIn(text), text).toEqual([]);
    }
  });

  it('are named by field names and column headers', () => {
    for (const name of ['SSN', 'ssn', 'customer_ssn', 'socialSecurityNumber', 'social security']) {
      expect(namesSsn(name), name).toBe(true);
    }
    for (const name of ['lesson', 'amount', 'session']) expect(namesSsn(name), name).toBe(false);
  });
});

describe('emails and phone numbers', () => {
  it('are found', () => {
    expect(typesIn('write to ada.lovelace+billing@example.co.uk')).toEqual(['EMAIL_ADDRESS']);
    for (const phone of [
      '(206) 555-0100',
      '206-555-0100',
      '206.555.0100',
      '+1 206 555 0100',
      '+442079460958',
    ]) {
      expect(typesIn(`call ${phone}`), phone).toEqual(['PHONE_NUMBER']);
    }
  });

  it('are not dates, versions, amounts or numbers with area codes no phone has', () => {
    for (const text of [
      '2026-11-30',
      'v1.2.3',
      '$1,234.56',
      '123-456-7890',
      '206-155-0100',
      'user@localhost',
    ]) {
      expect(typesIn(text), text).toEqual([]);
    }
  });
});

describe('secret access keys', () => {
  it('are 40 characters of the base64 alphabet mixing cases and digits', () => {
    expect(hasSecretKey('aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY')).toBe(true);
    expect(hasSecretKey('sha1 2fd4e1c67a2d28fced849ee1bb76e7391b93eb12')).toBe(false);
    expect(hasSecretKey('AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')).toBe(false);
  });
});
