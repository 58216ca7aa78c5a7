import { bundleHandler, HANDLER_ENTRIES, type HandlerName } from './bundle.ts';

/**
 * `node --import tsx functions/handlers/bundle-cli.ts <handler> <outDir>`: writes `<outDir>/index.mjs`. The CDK app
 * runs it at synth, so the deployed Lambda is exactly the bundle the tests and benchmarks measure.
 */
const [name, outDir] = process.argv.slice(2);
if (!name || !outDir || !(name in HANDLER_ENTRIES)) {
  process.stderr.write(`usage: bundle-cli.ts <${Object.keys(HANDLER_ENTRIES).join('|')}> <outDir>\n`);
  process.exit(2);
}
const { bytes } = await bundleHandler(name as HandlerName, outDir, { fileName: 'index.mjs' });
process.stdout.write(`bundled ${name}: ${bytes} bytes\n`);
