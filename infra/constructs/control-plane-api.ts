import { Duration } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ROUTES } from '../../functions/http/routes.ts';

/**
 * Every route of the control-plane API, from the one route table (`functions/http/routes.ts`); the API Lambda's
 * router answers each (and `$default` with 404).
 */
export const CONTROL_PLANE_ROUTES: readonly { readonly method: apigw.HttpMethod; readonly path: string }[] = ROUTES.map(
  (route) => ({ method: apigw.HttpMethod[route.method], path: route.path }),
);

export interface ControlPlaneApiProps {
  /** The one Lambda behind every route. */
  readonly handler: lambda.IFunction;
  /** Issuer of the JWTs the authorizer accepts (`iss`), e.g. a Cognito user pool URL. */
  readonly jwtIssuer: string;
  /** Accepted audiences (`aud`, or `client_id` for Cognito access tokens). */
  readonly jwtAudience: readonly string[];
  /** @default 50 */
  readonly throttlingRateLimit?: number;
  /** @default 100 */
  readonly throttlingBurstLimit?: number;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly accessLogRetention?: logs.RetentionDays;
  /**
   * Origins allowed to call the API from a browser (the console).
   * @default - no CORS
   */
  readonly corsAllowOrigins?: readonly string[];
}

export const API_DEFAULTS = { throttlingRateLimit: 50, throttlingBurstLimit: 100 } as const;

/**
 * The control plane's HTTP API: every route, `$default` included, behind one JWT authorizer (there is no
 * unauthenticated route), stage-wide throttling, and JSON access logs in a log group with retention.
 */
export class ControlPlaneApi extends Construct {
  readonly api: apigw.HttpApi;
  readonly stage: apigw.HttpStage;
  readonly accessLogs: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ControlPlaneApiProps) {
    super(scope, id);
    const integration = new HttpLambdaIntegration('Handler', props.handler);
    const authorizer = new HttpJwtAuthorizer('Jwt', props.jwtIssuer, { jwtAudience: [...props.jwtAudience] });

    this.api = new apigw.HttpApi(this, 'Api', {
      description: 'Flinkplane control plane',
      createDefaultStage: false,
      defaultAuthorizer: authorizer,
      // `$default` catches every other path, so unknown routes get the control plane's error body, not API Gateway's.
      defaultIntegration: integration,
      corsPreflight: props.corsAllowOrigins
        ? {
            allowOrigins: [...props.corsAllowOrigins],
            allowHeaders: ['authorization', 'content-type', 'if-match'],
            exposeHeaders: ['etag'],
            allowMethods: [apigw.CorsHttpMethod.ANY],
            maxAge: Duration.hours(1),
          }
        : undefined,
    });
    for (const route of CONTROL_PLANE_ROUTES) {
      this.api.addRoutes({ path: route.path, methods: [route.method], integration });
    }

    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.accessLogRetention ?? logs.RetentionDays.ONE_MONTH,
    });
    this.stage = new apigw.HttpStage(this, 'Stage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: {
        rateLimit: props.throttlingRateLimit ?? API_DEFAULTS.throttlingRateLimit,
        burstLimit: props.throttlingBurstLimit ?? API_DEFAULTS.throttlingBurstLimit,
      },
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            time: '$context.requestTime',
            ip: '$context.identity.sourceIp',
            method: '$context.httpMethod',
            path: '$context.path',
            routeKey: '$context.routeKey',
            status: '$context.status',
            responseLength: '$context.responseLength',
            latencyMs: '$context.responseLatency',
            integrationError: '$context.integrationErrorMessage',
            authorizerError: '$context.authorizer.error',
            subject: '$context.authorizer.claims.sub',
          }),
        ),
      },
    });
  }

  /** The stage's base URL, ending with `/`. */
  get url(): string {
    return this.stage.url;
  }
}
