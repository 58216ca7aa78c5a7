/**
 * One progress line on `stream`: rewritten in place on a terminal; elsewhere (CI logs) the first line, then at
 * most one line every few seconds, and the last one at `end`.
 */
export function progressLine(stream: NodeJS.WriteStream = process.stderr): {
  update: (line: string) => void;
  end: () => void;
} {
  let last: string | undefined;
  let printed: string | undefined;
  let printedAt = 0;
  return {
    update: (line) => {
      last = line;
      if (stream.isTTY) {
        stream.write(`\r${line}\x1b[K`);
        printed = line;
        return;
      }
      if (Date.now() - printedAt < 5000) return;
      stream.write(`${line}\n`);
      printed = line;
      printedAt = Date.now();
    },
    end: () => {
      if (last === undefined) return;
      if (stream.isTTY) stream.write('\n');
      else if (printed !== last) stream.write(`${last}\n`);
    },
  };
}
