import { createReadStream, existsSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const CONSOLE_DIR = resolve(fileURLToPath(new URL('../console/dist', import.meta.url)));
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.map': 'application/json',
};

/** Serves the console's static build for GET requests outside the API's paths; answers false for the API. */
export function serveConsole(request: IncomingMessage, response: ServerResponse): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  const path = new URL(request.url ?? '/', 'http://localhost').pathname;
  if (path.startsWith('/v1/') || path === '/healthz' || path === '/openapi.json') return false;
  const relative = path === '/' ? 'index.html' : decodeURIComponent(path).replace(/^\/+/, '');
  const file = normalize(join(CONSOLE_DIR, relative));
  if (!file.startsWith(CONSOLE_DIR)) return false;
  const target = existsSync(file) && statSync(file).isFile() ? file : join(CONSOLE_DIR, 'index.html');
  if (!existsSync(target)) {
    response.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
    response.end('The console is not built; run `npm run build:console`.\n');
    return true;
  }
  response.writeHead(200, {
    'content-type': TYPES[extname(target)] ?? 'application/octet-stream',
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
    'content-security-policy': "default-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    'referrer-policy': 'no-referrer',
  });
  if (request.method === 'HEAD') response.end();
  else createReadStream(target).pipe(response);
  return true;
}
