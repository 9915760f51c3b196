import {readFileSync} from 'node:fs';

/**
 * Automation calls the read commands in loops; loading oclif costs more than the answer. Their
 * plain forms (`list|info|files|owns|verify|status [ARG...] [--json] [--root DIR]`, `--version`)
 * are answered here without it, by the very views the oclif commands print (cli/views.ts). Anything
 * else (other flags, --help, errors) falls through to oclif, which answers or reports it its usual way.
 */
const READ_COMMANDS: Record<string, {args: [number, number]; flags?: string[]}> = {
  list: {args: [0, 1], flags: ['--built']},
  info: {args: [1, 1]},
  files: {args: [1, 1]},
  owns: {args: [1, 1]},
  verify: {args: [0, Infinity]},
  status: {args: [0, 0]},
};

export async function fastPath(argv: string[]): Promise<boolean> {
  if (argv.length === 1 && argv[0] === '--version') return version();
  if (argv[0] === 'btf' && argv[1] === 'dump') return btfDump(argv.slice(2));
  const command = READ_COMMANDS[argv[0] ?? ''];
  if (!command) return false;
  const opts = {json: false, built: false, root: process.env.KHPKG_ROOT ?? '/'};
  const args: string[] = [];
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--json') opts.json = true;
    else if (a === '--built' && command.flags?.includes(a)) opts.built = true;
    else if (a === '--root' && argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('-')) opts.root = argv[++i]!;
    else if (a.startsWith('--root=')) opts.root = a.slice(7);
    else if (a.startsWith('-')) return false;
    else args.push(a);
  }
  if (args.length < command.args[0] || args.length > command.args[1]) return false;
  try {
    const {resolveRoot} = await import('../root/paths.js');
    const root = resolveRoot(opts.root);
    const name = argv[0]!;
    // Only what the command needs is loaded: start-up is most of a read command's time.
    if (name === 'list') {
      const {listText} = await import('./list-view.js');
      process.stdout.write(listText(root, {json: opts.json, built: opts.built, pattern: args[0]}));
      return true;
    }
    const views = await import('./views.js');
    const view =
      name === 'info'
        ? views.infoView(root, args[0]!, opts.json)
        : name === 'files'
          ? views.filesView(root, args[0]!, opts.json)
          : name === 'owns'
            ? views.ownsView(root, args[0]!, opts.json)
            : name === 'verify'
              ? views.verifyView(root, args, opts.json)
              : views.statusView(root, opts.json);
    process.stdout.write(view.out);
    process.exitCode = view.code;
    return true;
  } catch {
    return false; // let oclif run it again and report the error its usual way
  }
}

/**
 * `btf dump [SOURCE] [-o FILE]`: what people would otherwise run bpftool for, often in a loop of
 * images; oclif's start-up would be a third of its time. Anything else, errors included, is oclif's.
 */
async function btfDump(argv: string[]): Promise<boolean> {
  let out: string | undefined;
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if ((a === '-o' || a === '--out') && argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('-')) out = argv[++i]!;
    else if (a.startsWith('--out=')) out = a.slice(6);
    else if (a.startsWith('-')) return false;
    else args.push(a);
  }
  if (args.length > 1) return false;
  try {
    const [{runBtfDump}, {DEFAULT_LIMITS}] = await Promise.all([import('./btf-dump.js'), import('../archive/limits.js')]);
    const r = await runBtfDump(args[0], out, DEFAULT_LIMITS);
    if (out !== undefined) process.stdout.write(`${r.said}\n`);
    return true;
  } catch {
    return false; // oclif runs it again and reports the error its usual way
  }
}

/** What oclif's --version prints, without oclif. */
function version(): boolean {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {name: string; version: string};
  // The commit the build was of (bin/build-info.js): a release has no git to ask.
  let commit = 'unknown';
  try {
    commit = (JSON.parse(readFileSync(new URL('../build-info.json', import.meta.url), 'utf8')) as {commit: string}).commit;
  } catch {
    // built by an older build script, or only tsc
  }
  process.stdout.write(`${pkg.name}/${pkg.version} (${commit}) ${process.platform}-${process.arch} node-${process.version}\n`);
  return true;
}
