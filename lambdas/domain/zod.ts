/**
 * The zod every module bundled into a handler builds its schemas with: `zod/mini`, zod's functional
 * API (`z.optional(z.string().check(z.minLength(1)))`), ~20 KB in a bundle where the classic API's
 * methods weigh ~100 KB and are attached to every schema as it is built at cold start (issue 15).
 * zod/mini loads no locale: English is set here, and every schema module imports `z` from here, so it
 * is set before any schema can parse and the messages are the ones the API's 400 bodies show.
 */
import { en } from 'zod/locales';
import { config } from 'zod/mini';

config(en());

export * from 'zod/mini';
