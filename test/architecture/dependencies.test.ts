import { describe, expect, it } from 'vitest';
import { checkRepository, importsOf, layerOf, REPO_ROOT, violationOf } from './dependencies.ts';

describe('imports point one way (docs/ARCHITECTURE.md)', () => {
  it('holds for every file under agent/, lambdas/, lib/, local/ and bin/', () => {
    const { files, violations } = checkRepository(REPO_ROOT);
    expect(files).toBeGreaterThan(150);
    expect(violations, `wrong-way imports:\n${violations.join('\n')}`).toEqual([]);
  });
});

describe('the check itself', () => {
  const violation = (file: string, text: string) => importsOf(file, text).map(violationOf).find(Boolean);

  it('names the file, the import and the rule of a wrong-way import', () => {
    expect(
      violation('lambdas/domain/policy.ts', "import type { PolicyEngine } from '../ports/index.ts';"),
    ).toBe(
      "lambdas/domain/policy.ts imports '../ports/index.ts' (lambdas/ports): lambdas/domain may import only lambdas/domain",
    );
    expect(
      violation('lambdas/domain/policy.ts', "import * as cedar from '@cedar-policy/cedar-wasm/nodejs';"),
    ).toMatch(
      /imports the package '@cedar-policy\/cedar-wasm\/nodejs': lambdas\/domain may import only zod\/mini/,
    );
    expect(violation('lambdas/adapters/slack/x.ts', "import * as z from 'zod';")).toMatch(
      /imports the package 'zod': agent\/ and lambdas\/ import zod as `import \* as z` from lambdas\/domain\/zod.ts/,
    );
    expect(violation('lambdas/domain/x.ts', "import { string } from 'zod/mini';")).toMatch(
      /lambdas\/domain\/zod.ts/,
    );
    expect(violation('agent/x.ts', "import type * as z from 'zod';")).toMatch(/lambdas\/domain\/zod.ts/);
    expect(
      violation('lambdas/adapters/slack/x.ts', "import type { A } from '../../http/api-app.ts';"),
    ).toMatch(/\(lambdas\/http\): lambdas\/adapters may import only/);
    expect(
      violation('lambdas/adapters/x.ts', "export { y } from '../handlers/environment.ts';"),
    ).toBeDefined();
    expect(
      violation('lambdas/services/x.ts', "const m = await import('../../local/twin/index.ts');"),
    ).toMatch(/\(local\/twin\)/);
    expect(
      violation('lib/stack.ts', "import { StaticDirectory } from '../lambdas/adapters/static-directory.ts';"),
    ).toMatch(/shared names/);
    expect(violation('local/aws/s3/service.ts', "import { x } from '../kms/keys.ts';")).toMatch(
      /\(local\/aws\/service:kms\): local\/aws\/service:s3 may import only/,
    );
    expect(violation('local/twin/start.ts', "import { y } from '../product/rules.ts';")).toBeDefined();
  });

  it('lets the allowed directions through', () => {
    expect(
      violation('lambdas/handlers/api.ts', "import { x } from '../adapters/jwt-verifier.ts';"),
    ).toBeUndefined();
    expect(
      violation('lib/stack.ts', "import { ENV } from '../lambdas/handlers/environment-names.ts';"),
    ).toBeUndefined();
    expect(violation('local/aws/s3/service.ts', "import { x } from '../front/service.ts';")).toBeUndefined();
    expect(
      violation('local/twin/aws-services.ts', "import { x } from '../aws/kms/service.ts';"),
    ).toBeUndefined();
    expect(
      violation('lambdas/domain/action-hash.ts', "import canonicalize from 'canonicalize';"),
    ).toBeUndefined();
    expect(violation('lambdas/domain/zod.ts', "import { config } from 'zod/mini';")).toBeUndefined();
    expect(violation('local/product/config.ts', "import * as z from 'zod';")).toBeUndefined();
  });

  it('knows the layers', () => {
    expect(layerOf('lambdas/openapi.ts')).toBe('lambdas/http');
    expect(layerOf('local/aws/http.ts')).toBe('local/aws/shared');
    expect(layerOf('local/aws/lambda/sandbox.mjs')).toBe('local/aws/service:lambda');
    expect(layerOf('test/unit/x.test.ts')).toBeUndefined();
  });
});
