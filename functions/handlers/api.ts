import type { APIGatewayProxyEventV2WithJWTAuthorizer, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { bufferStreamedResponse, fromApiGatewayEvent, toApiGatewayResult } from '../http/api-gateway.ts';
import { createJwtClaimsAuthenticator } from '../http/authenticator.ts';
import { createRouter } from '../http/router.ts';
import { awsControlPlane, environment, logger } from './aws-composition.ts';

// Built once per execution environment; the control plane itself is built on first use (it reads a secret).
const router = createRouter({
  controlPlane: awsControlPlane,
  authenticate: createJwtClaimsAuthenticator({
    tenantClaim: environment.AUTH_TENANT_CLAIM,
    operatorClaim: environment.AUTH_OPERATOR_CLAIM,
    operatorValue: environment.AUTH_OPERATOR_VALUE,
  }),
  log: (message, context) => logger.error(message, context),
});

/** The HTTP API's one Lambda: every route goes through the router the local server uses too. */
export async function handler(
  event: APIGatewayProxyEventV2WithJWTAuthorizer,
): Promise<APIGatewayProxyStructuredResultV2> {
  return toApiGatewayResult(await bufferStreamedResponse(await router(fromApiGatewayEvent(event))));
}
