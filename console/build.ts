import { copyFile, mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const CONSOLE_DIR = fileURLToPath(new URL('.', import.meta.url));
/** Where `local/console-files.ts` serves the console from. */
export const CONSOLE_DIST = join(CONSOLE_DIR, 'dist');
const STATIC_FILES = ['index.html', 'styles.css'];

export interface ConsoleBuild {
  readonly outDir: string;
  /** Size of the minified bundle `app.js`. */
  readonly bundleBytes: number;
}

/**
 * Bundles the console (plain TypeScript and DOM, no framework) into `console/dist/app.js` (minified ES2022 with a
 * source map) and copies `index.html` and `styles.css` beside it. Every file is written to a temporary name and
 * renamed, so a server reading `dist/` while another build runs never serves a half-written file.
 */
export async function buildConsole(outDir: string = CONSOLE_DIST): Promise<ConsoleBuild> {
  await mkdir(outDir, { recursive: true });
  const result = await build({
    entryPoints: [join(CONSOLE_DIR, 'src', 'main.ts')],
    outfile: join(outDir, 'app.js'),
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2022',
    platform: 'browser',
    sourcemap: 'linked',
    legalComments: 'none',
    write: false,
    logLevel: 'silent',
  });
  let bundleBytes = 0;
  for (const file of result.outputFiles) {
    if (basename(file.path) === 'app.js') bundleBytes = file.contents.byteLength;
    await writeAtomically(file.path, file.contents);
  }
  for (const name of STATIC_FILES) {
    const temporary = join(outDir, `.${name}.${process.pid}.tmp`);
    await copyFile(join(CONSOLE_DIR, name), temporary);
    await rename(temporary, join(outDir, name));
  }
  return { outDir, bundleBytes };
}

async function writeAtomically(path: string, contents: Uint8Array): Promise<void> {
  const temporary = join(path, '..', `.${basename(path)}.${process.pid}.tmp`);
  await writeFile(temporary, contents);
  await rename(temporary, path);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const built = await buildConsole();
  const css = await stat(join(built.outDir, 'styles.css'));
  console.log(
    `console built in ${built.outDir}: app.js ${(built.bundleBytes / 1024).toFixed(1)} KB, styles.css ${(css.size / 1024).toFixed(1)} KB`,
  );
}
