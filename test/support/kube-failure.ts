import { ApiException } from '@kubernetes/client-node';

/** The Status body and HTTP code of a client-node request that must fail; throws if it succeeds. */
export async function failure(request: Promise<unknown>): Promise<{ code: number; body: Record<string, unknown> }> {
  try {
    await request;
  } catch (error) {
    if (error instanceof ApiException) return { code: error.code, body: JSON.parse(error.body as string) };
    throw error;
  }
  throw new Error('expected the request to fail');
}
