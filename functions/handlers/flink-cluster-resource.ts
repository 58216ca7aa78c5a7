export async function handler() {
  throw new Error('not wired yet');
}
