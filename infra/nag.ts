import { Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';

/**
 * How cdk-nag spells a value in a finding id: `Ref`s and `Fn::GetAtt`s become `<AWS::Partition>` or
 * `<LogicalId.Attr>`, `Fn::Join`s are joined, and `${…}` becomes `<…>` (cdk-nag's `flattenCfnReference`).
 */
export function nagValue(scope: IConstruct, value: string): string {
  return flatten(Stack.of(scope).resolve(value));
}

/** Acknowledges the `AwsSolutions-IAM5` finding of one wildcard resource on `scope`, with the reason it is needed. */
export function acknowledgeWildcardResource(scope: IConstruct, resource: string, reason: string): void {
  Validations.of(scope).acknowledge({ id: `AwsSolutions-IAM5[Resource::${nagValue(scope, resource)}]`, reason });
}

function flatten(node: unknown): string {
  if (node === undefined) return '';
  if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/\}/g, '>');
  if (node === null || typeof node !== 'object') return String(node);
  const value = node as Record<string, unknown>;
  if (value['Fn::Join']) {
    const [delimiter, items] = value['Fn::Join'] as [string, unknown[]];
    return items.map(flatten).join(delimiter);
  }
  if (value['Fn::GetAtt']) {
    const [resource, attribute] = value['Fn::GetAtt'] as [unknown, unknown];
    return `<${flatten(resource)}.${flatten(attribute)}>`;
  }
  if (value.Ref) return `<${flatten(value.Ref)}>`;
  return JSON.stringify(node);
}

/**
 * For constructs aws-cdk-lib builds and we cannot change (the EKS kubectl provider, the ALB controller's role):
 * acknowledges each AWS managed policy (`IAM4`) of the roles and each wildcard (`IAM5`) of the policies under
 * `scope`, as they are now, with one reason. Call it once the construct is complete; anything added later is not
 * covered and fails the nag test.
 */
export function acknowledgeProvidedIam(scope: IConstruct, reason: string): void {
  const stack = Stack.of(scope);
  for (const node of scope.node.findAll()) {
    if (node instanceof iam.CfnRole) {
      const arns = (stack.resolve(node.managedPolicyArns) as unknown[] | undefined) ?? [];
      for (const arn of arns.map((value) => flatten(stack.resolve(value)))) {
        if (arn.includes(':iam::aws:'))
          Validations.of(node).acknowledge({ id: `AwsSolutions-IAM4[Policy::${arn}]`, reason });
      }
    }
    if (node instanceof iam.CfnPolicy) {
      const document = stack.resolve(node.policyDocument) as { Statement?: Record<string, unknown>[] };
      for (const statement of document.Statement ?? []) {
        if (statement.Effect !== 'Allow') continue;
        const actions = [statement.Action].flat().filter((action): action is string => typeof action === 'string');
        const resources = [statement.Resource].flat().map(flatten);
        for (const action of actions.filter((value) => value.includes('*'))) {
          Validations.of(node).acknowledge({ id: `AwsSolutions-IAM5[Action::${action}]`, reason });
        }
        for (const resource of resources.filter((value) => value.includes('*'))) {
          Validations.of(node).acknowledge({ id: `AwsSolutions-IAM5[Resource::${resource}]`, reason });
        }
      }
    }
  }
}
