import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** An absolute path inside the repository, from a path relative to its root. */
export function repoPath(relative: string): string {
  return fileURLToPath(new URL(`../${relative}`, import.meta.url));
}

/** The console build when there is one, else the placeholder page (the console build arrives later). */
export function consoleAssetPath(): string {
  const built = repoPath('console/dist');
  return existsSync(built) ? built : repoPath('infra/console-placeholder');
}
