import { anonymousPrincipal, type EvaluationResult, runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import type { Template } from 'aws-cdk-lib/assertions';
import { ACCOUNT, REGION, resourcesOf } from './support.ts';

/**
 * IAM decisions on the synthesized platform template, judged by `@cloud-copilot/iam-simulate` (a maintained evaluator
 * of identity and resource policies, condition operators and policy variables). This module only turns the template's
 * CloudFormation into concrete policy documents and a request into a simulation; it decides nothing itself.
 */

export type Decision = EvaluationResult;

/** The concrete ARN or name each kind of resource gets in the simulated account (CloudFormation would assign them). */
const PHYSICAL: Record<string, { ref: (id: string) => string; arn: (id: string) => string }> = {
  'AWS::IAM::Role': { ref: (id) => id, arn: (id) => `arn:aws:iam::${ACCOUNT}:role/${id}` },
  'AWS::S3::Bucket': { ref: bucketName, arn: (id) => `arn:aws:s3:::${bucketName(id)}` },
  'AWS::DynamoDB::Table': { ref: (id) => id, arn: (id) => `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${id}` },
  'AWS::SecretsManager::Secret': {
    ref: (id) => `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${id}-AbCdEf`,
    arn: (id) => `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${id}-AbCdEf`,
  },
  'AWS::Logs::LogGroup': { ref: (id) => id, arn: (id) => `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${id}:*` },
  'AWS::CloudFront::Distribution': {
    ref: (id) => `E${id.toUpperCase()}`,
    arn: (id) => `arn:aws:cloudfront::${ACCOUNT}:distribution/E${id.toUpperCase()}`,
  },
};

function bucketName(logicalId: string): string {
  return logicalId.toLowerCase();
}

const PSEUDO: Record<string, string> = {
  'AWS::Partition': 'aws',
  'AWS::AccountId': ACCOUNT,
  'AWS::Region': REGION,
  'AWS::URLSuffix': 'amazonaws.com',
};

/** A policy document of the template with its `Ref`, `Fn::GetAtt` and `Fn::Join` resolved to concrete strings. */
export function resolve(template: Template, value: unknown): unknown {
  const types = Object.fromEntries(
    Object.entries(template.toJSON().Resources as Record<string, { Type: string }>).map(([id, r]) => [id, r.Type]),
  );
  const physical = (id: string) => {
    const kind = PHYSICAL[types[id] ?? ''];
    if (!kind) throw new Error(`no physical value for ${id} (${types[id] ?? 'not in the template'})`);
    return kind;
  };
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
    if (node === null || typeof node !== 'object') return node;
    const record = node as Record<string, unknown>;
    if ('Fn::Join' in record) {
      const [delimiter, parts] = record['Fn::Join'] as [string, unknown[]];
      return parts.map((part) => String(walk(part))).join(delimiter);
    }
    if ('Ref' in record) {
      const ref = String(record.Ref);
      return PSEUDO[ref] ?? physical(ref).ref(ref);
    }
    if ('Fn::GetAtt' in record) {
      const [id, attribute] = record['Fn::GetAtt'] as [string, string];
      if (attribute !== 'Arn') throw new Error(`cannot resolve ${id}.${attribute}`);
      return physical(id).arn(id);
    }
    if (Object.keys(record).some((key) => key.startsWith('Fn::'))) {
      throw new Error(`cannot resolve ${JSON.stringify(record)}`);
    }
    return Object.fromEntries(Object.entries(record).map(([key, item]) => [key, walk(item)]));
  };
  return walk(value);
}

/** The concrete ARN of a template resource, as `resolve` names it. */
export function arnOf(template: Template, logicalId: string): string {
  return resolve(template, { 'Fn::GetAtt': [logicalId, 'Arn'] }) as string;
}

/** The identity policies attached to a role, resolved, as iam-simulate takes them. */
export function identityPoliciesOf(template: Template, roleLogicalId: string): Simulation['identityPolicies'] {
  return Object.entries(resourcesOf(template, 'AWS::IAM::Policy'))
    .filter(([, policy]) => (policy.Properties.Roles as { Ref?: string }[]).some((role) => role.Ref === roleLogicalId))
    .map(([name, policy]) => ({ name, policy: resolve(template, policy.Properties.PolicyDocument) }));
}

/** The resolved bucket policy of a bucket of the template, or undefined when it has none. */
export function bucketPolicyOf(template: Template, bucketLogicalId: string): unknown {
  const policy = Object.values(resourcesOf(template, 'AWS::S3::BucketPolicy')).find(
    (candidate) => (candidate.Properties.Bucket as { Ref?: string }).Ref === bucketLogicalId,
  );
  return policy && resolve(template, policy.Properties.PolicyDocument);
}

/** Who calls: an IAM principal (role session ARN or service principal) with its policies, or nobody at all. */
export type Caller =
  | {
      readonly principal: string;
      readonly identityPolicies: Simulation['identityPolicies'];
      /** Session and principal tags, and any other context keys the caller brings (`aws:PrincipalTag/...`). */
      readonly context?: Readonly<Record<string, string>>;
    }
  | { readonly principal: 'anonymous' };

export interface SimulatedRequest {
  readonly action: string;
  readonly resource: string;
  /** The resource policy: a bucket policy, or a role's trust policy for `sts:*`. */
  readonly resourcePolicy?: unknown;
  /** Request context keys beyond the caller's, e.g. `aws:SecureTransport` or `aws:RequestTag/...`. */
  readonly context?: Readonly<Record<string, string>>;
  /** S3 Block Public Access on the bucket (tenant buckets always have it; `ensureBucket` sets it). */
  readonly blockPublicAccess?: boolean;
}

/**
 * IAM's decision for one request, from iam-simulate. A request it cannot validate, or a context key it drops as not
 * applying to the action, throws: no test reads a typo or an ignored tag as a deny.
 */
export async function decide(caller: Caller, request: SimulatedRequest): Promise<Decision> {
  const signed = 'identityPolicies' in caller ? caller : undefined;
  const simulation: Simulation = {
    request: {
      principal: signed ? signed.principal : anonymousPrincipal,
      action: request.action,
      resource: { resource: request.resource, accountId: ACCOUNT },
      contextVariables: {
        'aws:SecureTransport': 'true',
        ...signed?.context,
        ...request.context,
      },
    },
    identityPolicies: signed?.identityPolicies ?? [],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: request.resourcePolicy,
    additionalSettings: { s3: { blockPublicAccess: request.blockPublicAccess ?? false } },
  };
  const result = await runSimulation(simulation, {});
  if (result.resultType === 'error') {
    throw new Error(`iam-simulate refused the simulation: ${JSON.stringify(result.errors)}`);
  }
  const ignored = result.resultType === 'single' ? result.result.ignoredContextKeys : [];
  if (ignored && ignored.length > 0) {
    throw new Error(`iam-simulate ignored context keys for ${request.action}: ${ignored.join(', ')}`);
  }
  return result.overallResult;
}
