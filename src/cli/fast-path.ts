/**
 * Automation polls `khpkg list --json` often; loading oclif costs ~130 ms of a ~240 ms run. The
 * plainest forms of `list` are answered here without it, with the very same output; anything else
 * (other flags, --help, errors) falls through to oclif. Returns true when it answered.
 */
export async function fastPath(argv: string[]): Promise<boolean> {
  if (argv[0] !== 'list') return false;
  const opts = {json: false, built: false, root: process.env.KHPKG_ROOT ?? '/'};
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--json') opts.json = true;
    else if (a === '--built') opts.built = true;
    else if (a === '--root' && argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('-')) opts.root = argv[++i]!;
    else if (a.startsWith('--root=')) opts.root = a.slice(7);
    else return false;
  }
  try {
    const [{listText}, {resolveRoot}] = await Promise.all([import('./list-view.js'), import('../root/paths.js')]);
    process.stdout.write(listText(resolveRoot(opts.root), opts));
    return true;
  } catch {
    return false; // let oclif run it again and report the error its usual way
  }
}
