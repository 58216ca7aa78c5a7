import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkJarName, jarView, meter } from '../../../functions/core/jobs/jars.ts';

async function* chunks(...parts: string[]): AsyncIterable<Uint8Array> {
  for (const part of parts) yield Buffer.from(part);
}

async function drain(body: AsyncIterable<Uint8Array>): Promise<string> {
  let text = '';
  for await (const chunk of body) text += Buffer.from(chunk).toString();
  return text;
}

describe('JAR rules', () => {
  it('passes a stream through and answers its size and SHA-256 once read', async () => {
    const metered = meter(chunks('PK', 'jar-', 'bytes'), 100);
    expect(await drain(metered.body)).toBe('PKjar-bytes');
    expect(metered.done()).toEqual({ bytes: 11, sha256: createHash('sha256').update('PKjar-bytes').digest('hex') });
  });

  it('cuts off a stream as soon as it passes the limit, with payload_too_large', async () => {
    const metered = meter(chunks('12345', '67890', 'never read'), 8);
    await expect(drain(metered.body)).rejects.toMatchObject({ code: 'payload_too_large', details: { limit: 8 } });
    expect(() => metered.done()).toThrow(/not read to its end/);
  });

  it('accepts a plain .jar file name and refuses paths, other endings and odd characters', () => {
    expect(checkJarName('stateful-counter_1.2.jar')).toBe('stateful-counter_1.2.jar');
    for (const name of ['../x.jar', 'dir/x.jar', 'x.zip', 'x y.jar', '.jar', '', 42, `${'a'.repeat(130)}.jar`]) {
      expect(() => checkJarName(name), String(name)).toThrow(expect.objectContaining({ code: 'invalid_request' }));
    }
  });

  it('reads a stored JAR object as a view, and skips an upload still incoming', () => {
    const stored = {
      key: 'jars/0123456789abcdef.jar',
      bytes: 10,
      lastModified: '2026-01-01T00:00:00.000Z',
      metadata: { name: 'job.jar', sha256: 'ab'.repeat(32) },
    };
    expect(jarView(stored)).toEqual({
      jarId: '0123456789abcdef',
      name: 'job.jar',
      bytes: 10,
      sha256: 'ab'.repeat(32),
      uploadedAt: '2026-01-01T00:00:00.000Z',
    });
    expect(jarView({ ...stored, key: 'jars/.incoming/0123456789abcdef' })).toBeUndefined();
  });
});
