import { describe, expect, it } from 'vitest';
import { agentPrincipals, parseLocalConfig, publicDirectory } from '../../../../local/product/config.ts';

const agent = {
  id: 'invoice-bot',
  owner: 'dave',
  accessKeyId: 'AKIACOUNTERSIGNDEMO1',
  secretAccessKey: 'cs-local-demo-secret-invoice-bot-5f3a9c2e7b1d4e6f8a0b',
};
const users = [{ id: 'dave', groups: [] }];
const parse = (agents: unknown[]) => parseLocalConfig(JSON.stringify({ users, agents }), 'test.json');

describe('countersign.local.json agents’ principals', () => {
  it('defaults to the IAM user agents/<id>, takes a user or role of the twin’s account, and keeps it out of the directory', () => {
    expect(agentPrincipals(parse([agent]))).toEqual([
      { id: 'invoice-bot', principalArn: 'arn:aws:iam::000000000000:user/agents/invoice-bot' },
    ]);
    const role = 'arn:aws:iam::000000000000:role/invoice-bot';
    const config = parse([{ ...agent, principalArn: role }]);
    expect(agentPrincipals(config)).toEqual([{ id: 'invoice-bot', principalArn: role }]);
    expect(publicDirectory(config).agents).toEqual([{ id: 'invoice-bot', owner: 'dave' }]);
  });

  it('refuses a principal in another account or that is not a user or role, and one shared by two agents', () => {
    expect(() => parse([{ ...agent, principalArn: 'arn:aws:iam::123456789012:role/invoice-bot' }])).toThrow(
      /agents\.0\.principalArn: must be an IAM user or role ARN in the twin's account 000000000000/,
    );
    expect(() => parse([{ ...agent, principalArn: 'arn:aws:sts::000000000000:assumed-role/x/y' }])).toThrow(
      /principalArn/,
    );
    const shared = 'arn:aws:iam::000000000000:role/shared';
    expect(() =>
      parse([
        { ...agent, principalArn: shared },
        { ...agent, id: 'other-bot', accessKeyId: 'AKIACOUNTERSIGNDEMO2', principalArn: shared },
      ]),
    ).toThrow(
      validationErrorMatching(
        /principal arn:aws:iam::000000000000:role\/shared belongs to more than one agent/,
      ),
    );
  });
});

function validationErrorMatching(pattern: RegExp) {
  return expect.objectContaining({ issues: expect.arrayContaining([expect.stringMatching(pattern)]) });
}
