import type { CloudFormationCustomResourceEvent, CloudFormationCustomResourceResponse } from 'aws-lambda';
import type { ControlPlane } from '../core/control-plane.ts';
import { FlinkplaneError, isFlinkplaneError } from '../core/errors.ts';
import type { Principal } from '../core/principal.ts';
import { awsControlPlane, logger } from './aws-composition.ts';

/**
 * CloudFormation reaches this provider only through `lambda:InvokeFunction`, which the platform grants to the stacks
 * it trusts; it acts with the operator's rights on the tenant the resource names.
 */
const CLOUDFORMATION: Principal = { kind: 'operator', id: 'cloudformation' };
const PHYSICAL_ID_PREFIX = 'flinkplane:flink-cluster:';

export interface ResourceOutcome {
  readonly physicalResourceId: string;
  readonly data?: Record<string, string>;
}

/**
 * `Custom::FlinkCluster` through the same workflow as the API: Create and Update deploy, Delete destroys (the bucket,
 * ZooKeeper namespace and volume are kept). Validation errors carry the API's codes and messages.
 */
export async function handleFlinkClusterEvent(
  plane: ControlPlane,
  event: CloudFormationCustomResourceEvent,
): Promise<ResourceOutcome> {
  if (event.RequestType === 'Delete') {
    const tenant = event.PhysicalResourceId.startsWith(PHYSICAL_ID_PREFIX)
      ? event.PhysicalResourceId.slice(PHYSICAL_ID_PREFIX.length)
      : undefined;
    // A resource whose create failed never got our id; there is nothing to destroy.
    if (!tenant) return { physicalResourceId: event.PhysicalResourceId };
    try {
      await plane.destroy(CLOUDFORMATION, tenant);
    } catch (error) {
      if (!(isFlinkplaneError(error) && (error.code === 'cluster_not_found' || error.code === 'tenant_not_found'))) {
        throw error;
      }
    }
    return { physicalResourceId: event.PhysicalResourceId };
  }
  const properties = event.ResourceProperties as { Tenant?: unknown; Spec?: unknown };
  if (typeof properties.Tenant !== 'string') {
    throw new FlinkplaneError('invalid_request', 'The resource property Tenant must be the tenant name', {
      field: 'Tenant',
    });
  }
  let spec: unknown = {};
  if (properties.Spec !== undefined) {
    try {
      spec = JSON.parse(String(properties.Spec));
    } catch {
      throw new FlinkplaneError('invalid_request', 'The resource property Spec must be a JSON cluster spec', {
        field: 'Spec',
      });
    }
  }
  const view = await plane.deploy(CLOUDFORMATION, properties.Tenant, spec);
  return {
    physicalResourceId: `${PHYSICAL_ID_PREFIX}${view.tenant}`,
    data: { UiUrl: view.uiUrl, HaClusterId: view.haClusterId, BucketName: view.bucket, Namespace: view.namespace },
  };
}

/** The CloudFormation response for an outcome or an error; the reason carries the error code and message. */
export function cloudFormationResponse(
  event: CloudFormationCustomResourceEvent,
  outcome: ResourceOutcome | { error: unknown },
): CloudFormationCustomResourceResponse {
  const common = { StackId: event.StackId, RequestId: event.RequestId, LogicalResourceId: event.LogicalResourceId };
  if ('error' in outcome) {
    const error = outcome.error;
    const reason = isFlinkplaneError(error) ? `${error.code}: ${error.message}` : 'internal: unexpected error (logged)';
    const physical =
      'PhysicalResourceId' in event ? event.PhysicalResourceId : `${PHYSICAL_ID_PREFIX}failed-${event.RequestId}`;
    // CloudFormation shows at most 4 KiB of the reason.
    return { ...common, Status: 'FAILED', Reason: reason.slice(0, 4000), PhysicalResourceId: physical };
  }
  return {
    ...common,
    Status: 'SUCCESS',
    PhysicalResourceId: outcome.physicalResourceId,
    ...(outcome.data ? { Data: outcome.data } : {}),
  };
}

/** The provider Lambda: runs the workflow and answers CloudFormation through the pre-signed response URL. */
export async function handler(event: CloudFormationCustomResourceEvent): Promise<CloudFormationCustomResourceResponse> {
  let response: CloudFormationCustomResourceResponse;
  try {
    response = cloudFormationResponse(event, await handleFlinkClusterEvent(await awsControlPlane(), event));
  } catch (error) {
    if (!isFlinkplaneError(error) || error.code === 'internal') logger.error('custom resource failed', { error });
    response = cloudFormationResponse(event, { error });
  }
  const body = JSON.stringify(response);
  const answer = await fetch(event.ResponseURL, {
    method: 'PUT',
    // The pre-signed URL was signed for an empty content type.
    headers: { 'content-type': '', 'content-length': String(Buffer.byteLength(body)) },
    body,
  });
  if (!answer.ok) throw new Error(`CloudFormation refused the response: HTTP ${answer.status}`);
  return response;
}
