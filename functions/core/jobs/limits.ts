/** The largest JAR a tenant may upload: 500 MiB. The JobManager's REST body limit is derived from it. */
export const MAX_JAR_BYTES = 500 * 1024 * 1024;
