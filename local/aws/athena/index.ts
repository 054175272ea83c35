/**
 * The twin's Athena from the synthesized template: the workgroups (`AWS::Athena::WorkGroup`), the
 * named queries (`AWS::Athena::NamedQuery`), and DuckDB over the objects at the Glue table's
 * location (`AWS::Glue::Table`) in the twin's S3, cached under `<dataDir>/athena`.
 */
import { join } from 'node:path';
import type { TwinResource } from '../cloudformation/template.ts';
import { ArchiveFileCache, type ArchiveObjectSource, parseS3Location } from './archive-files.ts';
import { ArchiveQueryEngine } from './duckdb-engine.ts';
import {
  LocalAthena,
  type TemplateNamedQuery,
  type TemplateWorkGroup,
  templateResourceUuid,
} from './service.ts';

export { ATHENA_TARGET_PREFIX, athenaService, LocalAthena } from './service.ts';

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

function workGroupsOf(resources: readonly TwinResource[]): TemplateWorkGroup[] {
  return resources
    .filter((resource) => resource.type === 'AWS::Athena::WorkGroup')
    .map((resource) => {
      const properties = resource.properties();
      const configuration = (properties.WorkGroupConfiguration ?? {}) as Record<string, unknown>;
      const results = (configuration.ResultConfiguration ?? {}) as Record<string, unknown>;
      const outputLocation = text(results.OutputLocation);
      const description = text(properties.Description);
      const cutoff = configuration.BytesScannedCutoffPerQuery;
      return {
        name: resource.name,
        enforce: configuration.EnforceWorkGroupConfiguration === true,
        ...(description === undefined ? {} : { description }),
        ...(outputLocation === undefined ? {} : { outputLocation }),
        ...(typeof cutoff === 'number' ? { bytesScannedCutoffPerQuery: cutoff } : {}),
        ...(results.EncryptionConfiguration === undefined
          ? {}
          : { encryption: results.EncryptionConfiguration as TemplateWorkGroup['encryption'] & object }),
      };
    });
}

function namedQueriesOf(resources: readonly TwinResource[]): TemplateNamedQuery[] {
  return resources
    .filter((resource) => resource.type === 'AWS::Athena::NamedQuery')
    .map((resource) => {
      const properties = resource.properties();
      const description = text(properties.Description);
      return {
        id: templateResourceUuid(resource.logicalId),
        name: text(properties.Name) ?? resource.logicalId,
        database: text(properties.Database) ?? '',
        queryString: text(properties.QueryString) ?? '',
        workGroup: text(properties.WorkGroup) ?? 'primary',
        ...(description === undefined ? {} : { description }),
      };
    });
}

/** The location of the template's Glue table (the twin serves the one table the stack defines). */
function tableLocationOf(resources: readonly TwinResource[]) {
  const table = resources.find((resource) => resource.type === 'AWS::Glue::Table');
  const input = (table?.properties().TableInput ?? {}) as { StorageDescriptor?: { Location?: unknown } };
  const location = text(input.StorageDescriptor?.Location);
  return location === undefined ? undefined : parseS3Location(location);
}

export async function openLocalAthena(options: {
  readonly resources: readonly TwinResource[];
  readonly reader: ArchiveObjectSource;
  readonly dataDir: string;
}): Promise<LocalAthena> {
  const location = tableLocationOf(options.resources);
  const cache = new ArchiveFileCache({
    directory: join(options.dataDir, 'athena'),
    reader: options.reader,
    location: location ?? { bucket: '', prefix: 'audit/' },
  });
  const engine = await ArchiveQueryEngine.open({ root: cache.root, files: () => cache.sync() });
  return new LocalAthena({
    engine,
    workGroups: workGroupsOf(options.resources),
    namedQueries: namedQueriesOf(options.resources),
  });
}
