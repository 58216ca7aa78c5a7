import { runCli } from '../../local/cli/main.ts';

function capture() {
  let text = '';
  return {
    stream: {
      write(chunk: string) {
        text += chunk;
        return true;
      },
    } as unknown as NodeJS.WritableStream,
    text: () => text,
  };
}

/** Runs the CLI in this process, with its output and errors captured. */
export async function cli(...args: string[]) {
  const out = capture();
  const err = capture();
  const code = await runCli(args, out.stream, err.stream);
  return { code, out: out.text(), err: err.text() };
}
