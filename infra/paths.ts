import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** An absolute path inside the repository, from a path relative to its root. */
export function repoPath(relative: string): string {
  return fileURLToPath(new URL(`../${relative}`, import.meta.url));
}

/** The console build (`npm run synth` builds it first); a deploy never ships a placeholder instead. */
export function consoleAssetPath(): string {
  const built = repoPath('console/dist');
  if (!existsSync(repoPath('console/dist/index.html'))) {
    throw new Error('The console is not built: run `npm run build:console` (npm run synth does) before synthesizing');
  }
  return built;
}
