import { mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** The Lambda handlers and their entry files; the CDK app, the bundle tests and the benchmarks read this one list. */
export const HANDLER_ENTRIES = {
  api: 'functions/handlers/api.ts',
  reconciler: 'functions/handlers/reconciler.ts',
  'flink-cluster-resource': 'functions/handlers/flink-cluster-resource.ts',
} as const;

export type HandlerName = keyof typeof HANDLER_ENTRIES;

/**
 * ESM output needs `require` for the CommonJS packages inside (node-zookeeper-client, parts of the AWS SDK), which
 * an ESM bundle does not have; this banner gives it one.
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __flinkplaneCreateRequire } from 'node:module'; const require = __flinkplaneCreateRequire(import.meta.url);";

/** Bundles one handler the way the Lambda runs it: ESM, minified, with source maps, for Node 22. */
export async function bundleHandler(name: HandlerName, outDir: string): Promise<{ file: string; bytes: number }> {
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `${name}.mjs`);
  await build({
    entryPoints: [join(ROOT, HANDLER_ENTRIES[name])],
    outfile: file,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    minify: true,
    sourcemap: true,
    legalComments: 'none',
    mainFields: ['module', 'main'],
    banner: { js: ESM_REQUIRE_BANNER },
    // The Node.js Lambda runtime provides the AWS SDK v3, as CDK's NodejsFunction assumes by default.
    external: ['@aws-sdk/*'],
    logLevel: 'silent',
  });
  return { file, bytes: statSync(file).size };
}
