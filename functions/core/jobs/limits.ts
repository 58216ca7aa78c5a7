/** The largest JAR a tenant may upload: 500 MiB. The JobManager's REST body limit is derived from it. */
export const MAX_JAR_BYTES = 500 * 1024 * 1024;

const JAR_ID = /^[0-9a-f]{16}$/;

/** Whether a value is a JAR id: the first 16 hex digits of the JAR's SHA-256. */
export function isJarId(value: string): boolean {
  return JAR_ID.test(value);
}
