import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../../lambdas/domain/errors.ts';
import { loadEnvironment } from '../../../lambdas/handlers/environment.ts';

describe('loadEnvironment', () => {
  it('returns the requested variables, converted to their types', () => {
    const environment = loadEnvironment(['tableName', 'defaultTimeoutSeconds', 'consoleUrl'], {
      TABLE_NAME: 'countersign',
      DEFAULT_TIMEOUT_SECONDS: '3600',
      CONSOLE_URL: 'https://console.example.com',
      UNRELATED: 'ignored',
    });

    expect(environment).toEqual({
      tableName: 'countersign',
      defaultTimeoutSeconds: 3600,
      consoleUrl: 'https://console.example.com',
    });
  });

  it('leaves optional variables undefined when absent', () => {
    expect(loadEnvironment(['directoryJson'], {})).toEqual({ directoryJson: undefined });
  });

  it('accepts an identity store id and fails at start on anything else', () => {
    expect(loadEnvironment(['identityStoreId'], { IDENTITY_STORE_ID: 'd-1234567890' })).toEqual({
      identityStoreId: 'd-1234567890',
    });
    expect(() =>
      loadEnvironment(['identityStoreId'], { IDENTITY_STORE_ID: 'arn:aws:sso:::instance/x' }),
    ).toThrow(/IDENTITY_STORE_ID must be an identity store id/);
  });

  it('reads the auditor groups as a JSON array of group names, possibly empty', () => {
    expect(loadEnvironment(['auditorGroups'], { AUDITOR_GROUPS: '["security","audit"]' })).toEqual({
      auditorGroups: ['security', 'audit'],
    });
    expect(loadEnvironment(['auditorGroups'], { AUDITOR_GROUPS: '[]' })).toEqual({ auditorGroups: [] });
    for (const bad of ['security', '["bad group"]', '{"a":1}']) {
      expect(() => loadEnvironment(['auditorGroups'], { AUDITOR_GROUPS: bad }), bad).toThrow(
        /AUDITOR_GROUPS/,
      );
    }
  });

  it('lists every missing or malformed variable by name in one ConfigurationError', () => {
    const failure = (() => {
      try {
        loadEnvironment(['tableName', 'eventBusName', 'defaultTimeoutSeconds'], {
          EVENT_BUS_NAME: '  ',
          DEFAULT_TIMEOUT_SECONDS: 'soon',
        });
      } catch (error) {
        return error;
      }
    })();

    expect(failure).toBeInstanceOf(ConfigurationError);
    const message = (failure as Error).message;
    expect(message).toContain('TABLE_NAME is required');
    expect(message).toContain('EVENT_BUS_NAME must not be empty');
    expect(message).toContain('DEFAULT_TIMEOUT_SECONDS');
  });
});
