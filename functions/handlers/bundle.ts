import { mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Metafile, type Plugin } from 'esbuild';

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

/**
 * Dependencies of `@kubernetes/client-node` that the handlers never reach, replaced by small modules. The client's
 * index imports every feature; these serve only kubeconfigs the handlers never build (the Lambda's has a server, a CA
 * and a bearer token) or calls they never make. A replaced feature fails loudly if it is ever used.
 */
const REPLACED_MODULES: Record<string, string> = {
  // node-fetch takes Node's own URL (`Url.URL || whatwgUrl.URL`); whatwg-url, with tr46's 254 KB mapping table, is
  // only its fallback for Node versions without one.
  'whatwg-url':
    'export const URL = globalThis.URL; export const URLSearchParams = globalThis.URLSearchParams; export default { URL, URLSearchParams };',
  // `auth-provider: azure` and `gcp` kubeconfig users.
  'jsonpath-plus': unused('jsonpath-plus', 'azure and gcp auth-provider users', ['JSONPath']),
  // `auth-provider: oidc` kubeconfig users.
  'openid-client': unused('openid-client', 'oidc auth-provider users', ['discovery', 'refreshTokenGrant']),
  // Clusters with a `proxy-url` of socks5://.
  'socks-proxy-agent': unused('socks-proxy-agent', 'socks proxy URLs', [], ['SocksProxyAgent']),
  // `Cp`, copying files to and from pods.
  'tar-fs': `${unused('tar-fs', 'Cp (copying files to pods)', ['pack', 'extract'])} export default { pack, extract };`,
};

function unused(module: string, feature: string, functions: readonly string[], classes: readonly string[] = []) {
  const fail = `function __unused() { throw new Error(${JSON.stringify(`${module} is left out of the Lambda bundle (functions/handlers/bundle.ts): ${feature} are not supported there`)}); }`;
  return [
    fail,
    ...functions.map((name) => `export function ${name}() { __unused(); }`),
    ...classes.map((name) => `export class ${name} { constructor() { __unused(); } }`),
  ].join('\n');
}

const replaceUnusedModules: Plugin = {
  name: 'replace-unused-modules',
  setup(build) {
    const names = Object.keys(REPLACED_MODULES).map((name) => name.replace(/[-/]/g, '\\$&'));
    build.onResolve({ filter: new RegExp(`^(${names.join('|')})$`) }, (args) => ({
      path: args.path,
      namespace: 'replaced',
    }));
    build.onLoad({ filter: /.*/, namespace: 'replaced' }, (args) => ({
      contents: REPLACED_MODULES[args.path]!,
      loader: 'js',
    }));
  },
};

/**
 * The AWS SDK stays outside the bundle and is loaded with `require`. Its packages are CommonJS: imported from ESM,
 * Node would first scan each one (hundreds of KB) to detect its format and then lex it for named exports, which
 * cost more than a third of the handlers' cold start.
 */
const requireAwsSdk: Plugin = {
  name: 'require-aws-sdk',
  setup(build) {
    build.onResolve({ filter: /^@aws-sdk\// }, (args) =>
      args.namespace === 'aws-sdk'
        ? { path: args.path, external: true }
        : { path: args.path, namespace: 'aws-sdk', sideEffects: false },
    );
    build.onLoad({ filter: /.*/, namespace: 'aws-sdk' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};

/** The handler whose entry file this is, for callers that know the file (the CDK construct). */
export function handlerNameOf(entry: string): HandlerName {
  const found = (Object.keys(HANDLER_ENTRIES) as HandlerName[]).find((name) => HANDLER_ENTRIES[name] === entry);
  if (!found) throw new Error(`${entry} is not a Lambda handler entry (functions/handlers/bundle.ts HANDLER_ENTRIES)`);
  return found;
}

/** Bundles one handler the way the Lambda runs it: ESM, minified, with source maps, for Node 22. */
export async function bundleHandler(
  name: HandlerName,
  outDir: string,
  options: { fileName?: string } = {},
): Promise<{ file: string; bytes: number; metafile: Metafile }> {
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, options.fileName ?? `${name}.mjs`);
  const result = await build({
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
    // The Node.js Lambda runtime provides the AWS SDK v3, as CDK's NodejsFunction assumes by default: it stays out.
    plugins: [requireAwsSdk, replaceUnusedModules],
    metafile: true,
    logLevel: 'silent',
  });
  return { file, bytes: statSync(file).size, metafile: result.metafile };
}
