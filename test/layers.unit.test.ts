import assert from 'node:assert/strict';
import {readdirSync, readFileSync} from 'node:fs';
import {dirname, join, normalize, relative} from 'node:path';

const SRC = new URL('../src/', import.meta.url).pathname;

/** The house's floors, bottom up (README, "How it works"): a file imports from its own floor or below. */
const FLOORS: string[][] = [
  ['errors.ts', 'interrupt.ts', 'tool.ts', 'root'],
  ['codec'],
  ['archive', 'elf', 'btf', 'image'],
  ['content'],
  ['formats', 'registry'],
  ['source'],
  ['kbuild', 'pipeline', 'install', 'repo', 'lifecycle', 'release'],
  ['cli'],
  ['commands'],
];

/**
 * Verbs use each other only through these public doors: the kit is built for install and build; --via builds a package; the
 * kernel hooks install and remove, and ask kbuild whether a kernel source is at hand for a module-build tree.
 */
const VERB_DOORS = new Set(['pipeline>kbuild', 'install>kbuild', 'install>pipeline', 'lifecycle>install', 'lifecycle>kbuild']);

/** The floor of the verbs, which meet only through their doors. */
const VERBS = FLOORS.findIndex((f) => f.includes('pipeline'));

const floorOf = (file: string): number => {
  const top = file.split('/')[0]!;
  const i = FLOORS.findIndex((f) => f.includes(top));
  assert.notEqual(i, -1, `${file}: in no floor of the house (add its folder to FLOORS)`);
  return i;
};

function sources(dir = ''): string[] {
  return readdirSync(join(SRC, dir), {withFileTypes: true}).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

describe('the house: imports run one way', () => {
  const files = sources();
  const imports = (file: string): string[] => [...readFileSync(join(SRC, file), 'utf8').matchAll(/^import\s[^'"]*['"]([^'"]+)['"]/gm)].map((m) => m[1]!);

  it('no import runs up a floor, and verbs meet only through their public doors', () => {
    const up: string[] = [];
    for (const file of files) {
      for (const spec of imports(file).filter((s) => s.startsWith('.'))) {
        const target = relative(SRC, normalize(join(SRC, dirname(file), spec))).replace(/\.js$/, '.ts');
        if (floorOf(target) > floorOf(file)) up.push(`${file} imports ${target}`);
        const [from, to] = [file.split('/')[0], target.split('/')[0]];
        if (floorOf(file) === VERBS && floorOf(target) === VERBS && from !== to && !VERB_DOORS.has(`${from}>${to}`))
          up.push(`${file} reaches into the verb ${target}`);
      }
    }
    assert.deepEqual(up, []);
  });

  it('only src/registry/ speaks SQL (better-sqlite3)', () => {
    const sql = files.filter((f) => !f.startsWith('registry/') && readFileSync(join(SRC, f), 'utf8').includes('better-sqlite3'));
    assert.deepEqual(sql, []);
  });

  it('no format writer or core module knows about the CLI (oclif)', () => {
    const oclif = files.filter((f) => !/^(cli|commands)\//.test(f) && imports(f).some((s) => s.startsWith('@oclif/')));
    assert.deepEqual(oclif, []);
  });
});
