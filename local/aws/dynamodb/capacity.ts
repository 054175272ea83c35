/**
 * DynamoDB's request units for the cost model, as on-demand bills them: dynalite reports the
 * consumed capacity of item operations itself (ReturnConsumedCapacity, by DynamoDB's rules: a write
 * unit per KB written, the larger of the old and new item; a read unit per 4 KB read, half when
 * eventually consistent); for Query and Scan, which it does not report, the items returned are
 * sized here (an attribute's name plus its value, DynamoDB's item size) and rounded once, up to 4 KB.
 */
import { BilledUnit, type UsageMeter } from '../usage.ts';

type AttributeValue = Record<string, unknown>;

function valueBytes(value: AttributeValue): number {
  const [type, content] = Object.entries(value)[0] ?? ['NULL', true];
  switch (type) {
    case 'S':
      return Buffer.byteLength(String(content));
    case 'N':
      // Up to 38 significant digits in about one byte per two digits, plus one.
      return Math.ceil(String(content).replace(/^-|\.|e.*$/gi, '').length / 2) + 1;
    case 'B':
      return Buffer.from(String(content), 'base64').length;
    case 'SS':
    case 'NS':
    case 'BS':
      return (content as string[]).reduce((sum, member) => sum + valueBytes({ [type[0]!]: member }), 0);
    case 'L':
      return 3 + (content as AttributeValue[]).reduce((sum, member) => sum + 1 + valueBytes(member), 0);
    case 'M':
      return 3 + itemBytes(content as Record<string, AttributeValue>) + Object.keys(content as object).length;
    default:
      return 1;
  }
}

export function itemBytes(item: Readonly<Record<string, AttributeValue>>): number {
  return Object.entries(item).reduce(
    (sum, [name, value]) => sum + Buffer.byteLength(name) + valueBytes(value),
    0,
  );
}

const READS = new Set(['GetItem', 'BatchGetItem', 'Query', 'Scan', 'TransactGetItems']);

interface Capacity {
  readonly CapacityUnits?: number;
}

/**
 * Asks dynalite for the consumed capacity of `operation` (the request body, parsed), and returns
 * how to count its answer: adds the units to the meter and gives back the answer as the caller
 * asked for it (without ConsumedCapacity when it did not ask).
 */
export function meterCapacity(
  meter: UsageMeter,
  operation: string,
  input: Record<string, unknown>,
): { request: Record<string, unknown>; count: (output: Record<string, unknown>) => Record<string, unknown> } {
  const asked = input.ReturnConsumedCapacity !== undefined && input.ReturnConsumedCapacity !== 'NONE';
  const unit = READS.has(operation) ? BilledUnit.dynamoDbRead : BilledUnit.dynamoDbWrite;
  return {
    request: asked ? input : { ...input, ReturnConsumedCapacity: 'TOTAL' },
    count: (output) => {
      const reported = [output.ConsumedCapacity]
        .flat()
        .filter((entry): entry is Capacity => entry !== undefined);
      if (reported.length > 0) {
        meter.add(
          unit,
          reported.reduce((sum, entry) => sum + (entry.CapacityUnits ?? 0), 0),
        );
      } else if (operation === 'Query' || operation === 'Scan') {
        const bytes = ((output.Items ?? []) as Record<string, AttributeValue>[]).reduce(
          (sum, item) => sum + itemBytes(item),
          0,
        );
        meter.add(unit, Math.max(1, Math.ceil(bytes / 4096)) / (input.ConsistentRead === true ? 1 : 2));
      }
      if (asked) return output;
      const { ConsumedCapacity: _capacity, ...rest } = output;
      return rest;
    },
  };
}
