import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { type ContextKey, parseContext } from '../../infra/context.ts';
import { repoPath } from '../../infra/paths.ts';
import { PlatformStack } from '../../infra/platform-stack.ts';

export const ACCOUNT = '111111111111';
export const REGION = 'eu-west-1';

/** A synthesized platform stack. */
export interface Synthesized {
  readonly app: App;
  readonly stack: PlatformStack;
  readonly template: Template;
}

/**
 * Builds and synthesizes the platform stack with the given context. Lambda bundling is skipped (`aws:cdk:bundling-stacks`
 * is empty): the tests look at the template, and `npm run synth` bundles for real.
 */
export function synthPlatform(context: Partial<Record<ContextKey, unknown>> = {}): Synthesized {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const settings = parseContext({ account: ACCOUNT, region: REGION, ...context });
  const stack = new PlatformStack(app, 'Platform', {
    env: { account: settings.account, region: settings.region },
    settings,
    consoleAssetPath: repoPath('test/infra/console-fixture'),
  });
  return { app, stack, template: Template.fromStack(stack) };
}

/** A template resource; the types the tests read always have properties. */
type Resource = { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string };

/** The resources of a type, keyed by logical id. */
export function resourcesOf(template: Template, type: string): Record<string, Resource> {
  return template.findResources(type) as Record<string, Resource>;
}

/**
 * A CloudFormation value as one string: `Fn::Join` joined, `Ref: AWS::Partition` as `aws`, other references as
 * `<LogicalId>` or `<LogicalId.Attribute>`.
 */
export function flat(value: unknown): string {
  if (typeof value === 'string') return value;
  const node = value as Record<string, unknown>;
  if (node['Fn::Join']) {
    const [delimiter, items] = node['Fn::Join'] as [string, unknown[]];
    return items.map(flat).join(delimiter);
  }
  if (node.Ref === 'AWS::Partition') return 'aws';
  if (node.Ref) return `<${String(node.Ref)}>`;
  if (node['Fn::GetAtt']) return `<${(node['Fn::GetAtt'] as string[]).join('.')}>`;
  if (node['Fn::ImportValue']) return `<import:${flat(node['Fn::ImportValue'])}>`;
  return JSON.stringify(value);
}

/** A policy statement as the tests read it: actions and resources as flat strings. */
export interface Statement {
  readonly sid?: string;
  readonly effect: string;
  readonly principal?: unknown;
  readonly actions: string[];
  readonly resources: string[];
  readonly condition?: Record<string, Record<string, unknown>>;
}

export function statementsOf(document: unknown): Statement[] {
  const list = (value: unknown) => (value === undefined ? [] : Array.isArray(value) ? value : [value]);
  return list((document as { Statement: unknown }).Statement).map((raw) => {
    const statement = raw as Record<string, unknown>;
    return {
      sid: statement.Sid as string | undefined,
      effect: statement.Effect as string,
      principal: statement.Principal,
      actions: list(statement.Action).map(flat),
      resources: list(statement.Resource).map(flat),
      condition: statement.Condition as Statement['condition'],
    };
  });
}

/** Every statement of the IAM policies attached to a role (by its logical id). */
export function roleStatements(template: Template, roleLogicalId: string): Statement[] {
  const policies = Object.values(resourcesOf(template, 'AWS::IAM::Policy')).filter((policy) =>
    (policy.Properties.Roles as unknown[]).some((role) => flat(role) === `<${roleLogicalId}>`),
  );
  return policies.flatMap((policy) => statementsOf(policy.Properties.PolicyDocument));
}
