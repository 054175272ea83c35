/**
 * The CDK app: reads the `countersign:*` context, creates the stack and runs cdk-nag's
 * AwsSolutions pack on it. Environment-agnostic, so `cdk synth` needs no credentials or network.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readCountersignConfig } from '../lib/countersign-config.ts';
import { CountersignStack } from '../lib/countersign-stack.ts';

const app = new App();
new CountersignStack(app, 'Countersign', {
  config: readCountersignConfig(app),
  description: 'Countersign: action-level approvals for AI agents and pipelines',
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
