import assert from 'node:assert/strict';
import {checkConfigMatches, deriveAutoConf, parseConfig} from '../../src/content/config.js';
import {gzipSync} from 'node:zlib';

describe('.config and auto.conf', () => {
  const text = '# comment\nCONFIG_A=y\nCONFIG_B=m\n# CONFIG_C is not set\nCONFIG_S="say \\"hi\\""\nCONFIG_H=0\n';
  it('parses plain and gzipped configs', () => {
    assert.deepEqual([...parseConfig(Buffer.from(text), 'x').symbols.keys()], ['CONFIG_A', 'CONFIG_B', 'CONFIG_S', 'CONFIG_H']);
    assert.equal(parseConfig(gzipSync(text), 'x').symbols.get('CONFIG_B'), 'm');
    assert.throws(() => parseConfig(Buffer.from('hello'), 'f'), /f: not a kernel \.config/);
  });
  it('derives auto.conf: unquoted strings from 5.17 on, quoted before', () => {
    const cfg = parseConfig(Buffer.from(text), 'x');
    assert.match(deriveAutoConf(cfg, '6.12.1', 'x86').toString(), /^CONFIG_S=say "hi"$/m);
    assert.match(deriveAutoConf(cfg, '5.10.1', 'x86').toString(), /^CONFIG_S="say \\"hi\\""$/m);
    assert.doesNotMatch(deriveAutoConf(cfg, '6.12.1', 'x86').toString(), /CONFIG_C/);
  });
  it('matches a config against autoconf.h (hex written with 0x there)', () => {
    const autoconf = Buffer.from('#define CONFIG_A 1\n#define CONFIG_B_MODULE 1\n#define CONFIG_S "say \\"hi\\""\n#define CONFIG_H 0x0\n');
    checkConfigMatches(parseConfig(Buffer.from(text), 'x'), autoconf, 'x');
    assert.throws(
      () => checkConfigMatches(parseConfig(Buffer.from('CONFIG_A=m\n'), 'y'), autoconf, 'y'),
      /y: does not match .* \(1 symbols differ, e\.g\. CONFIG_A\)/,
    );
  });
});
