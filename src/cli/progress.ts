import type {Progress} from '../archive/scan.js';

/**
 * A one-line progress display on stderr, only when stderr is a terminal and the user did not ask for
 * JSON or quiet. Piped or in CI it stays silent.
 */
export function progressBar(enabled: boolean, stream: NodeJS.WriteStream = process.stderr): {onProgress?: Progress; done: () => void} {
  if (!enabled || !stream.isTTY) return {done: () => undefined};
  let last = 0;
  let shown = false;
  const onProgress: Progress = ({phase, done, total}) => {
    const now = Date.now();
    if (now - last < 100) return;
    last = now;
    shown = true;
    const width = 30;
    const bar = total ? `[${'#'.repeat(Math.round((done / total) * width)).padEnd(width)}] ${done}/${total}` : `${done} entries`;
    stream.write(`\r\x1b[K${phase}: ${bar}`);
  };
  return {onProgress, done: () => shown && stream.write('\r\x1b[K')};
}
