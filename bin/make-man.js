#!/usr/bin/env node
// Writes dist/man/khpkg.1 from the commands' own help (summary, description, usage, flags,
// examples), so the man page never disagrees with `khpkg help`. Run by `npm run build`.
import {mkdirSync, writeFileSync} from 'node:fs';
import {Config} from '@oclif/core';

const root = new URL('..', import.meta.url).pathname;
const config = await Config.load(root);
const esc = (s) =>
  String(s ?? '')
    .replace(/\\/g, '\\e')
    .replace(/^([.'])/gm, '\\&$1')
    .replace(/-/g, '\\-');
const bin = config.bin;
const date = new Date(Number(process.env.SOURCE_DATE_EPOCH ?? 0) * 1000 || Date.now()).toISOString().slice(0, 10);
const out = [
  `.TH ${bin.toUpperCase()} 1 "${date}" "${bin} ${config.version}" "User Commands"`,
  '.SH NAME',
  `${bin} \\- ${esc(config.pjson.description)}`,
  '.SH SYNOPSIS',
  `.B ${bin}`,
  '.I COMMAND',
  '[\\fIARGS\\fR] [\\fIFLAGS\\fR]',
  '.SH COMMANDS',
];
const commands = config.commands.filter((c) => !c.hidden && !c.pluginName?.startsWith('@oclif/')).sort((a, b) => a.id.localeCompare(b.id));
for (const c of commands) {
  const id = c.id.replace(/:/g, ' ');
  const args = Object.entries(c.args ?? {}).map(([name, a]) => (a.required ? name.toUpperCase() : `[${name.toUpperCase()}]`));
  out.push('.TP', `.B ${bin} ${esc(id)}${args.length ? ` ${esc(args.join(' '))}` : ''}`, esc(c.summary ?? ''));
  if (c.description) out.push('.IP', esc(c.description));
  const flags = Object.entries(c.flags ?? {}).filter(([, f]) => !f.hidden);
  for (const [name, f] of flags) {
    const value = f.type === 'option' ? ` \\fI${f.options ? f.options.join('|') : 'VALUE'}\\fR` : '';
    out.push('.RS', '.TP', `${f.char ? `\\fB\\-${f.char}\\fR, ` : ''}\\fB\\-\\-${esc(name)}\\fR${value}`, esc(f.description ?? ''), '.RE');
  }
  for (const e of c.examples ?? []) {
    const text = typeof e === 'string' ? e : e.command;
    out.push('.IP', `.B ${esc(text.replace(/<%= config\.bin %>/g, bin))}`);
  }
}
out.push(
  '.SH EXIT STATUS',
  '0 success; 1 the input, the root or the machine is wrong (one line on stderr); 2 a usage error; 130 and 143 interrupted by SIGINT and SIGTERM.',
  '.SH FILES',
  '.TP',
  '.I /var/lib/khpkg/registry.db',
  'the registry of installed header sets (under \\-\\-root).',
  '.SH SEE ALSO',
  'dpkg(1), rpm(8), dkms(8), kernel\\-install(8)',
);
mkdirSync(new URL('../dist/man/', import.meta.url), {recursive: true});
writeFileSync(new URL('../dist/man/khpkg.1', import.meta.url), `${out.join('\n')}\n`);
