import assert from 'node:assert/strict';
import {compareDebVersions, compareRpmVersions} from '../../src/formats/versions.js';
import {comparePacmanVersions} from '../../src/formats/pacman/version.js';
import {mustRun, tool} from '../helpers/run.js';

describe('repo/versions: which revision is newest', () => {
  it('orders Debian versions as dpkg --compare-versions does', () => {
    const ascending = ['0.9', '1.0~rc1', '1.0', '1.0-1', '1.0-1.1', '1.0-2', '1.0-10', '1.0a', '1.0+b1', '1.1', '6.12.117-1', '6.12.117-2', '1:0.1'];
    for (let i = 0; i + 1 < ascending.length; i++) {
      assert.equal(compareDebVersions(ascending[i]!, ascending[i + 1]!), -1, `${ascending[i]} < ${ascending[i + 1]}`);
      assert.equal(compareDebVersions(ascending[i + 1]!, ascending[i]!), 1);
    }
    assert.equal(compareDebVersions('1.0-01', '1.0-1'), 0);
  });

  it('orders RPM versions as rpmvercmp does', () => {
    const ascending = ['1.0~rc1-1', '1.0-1', '1.0^git1-1', '1.0a-1', '1.0.1-1', '1.1-1', '6.12.117_1-2', '6.12.117_1-10', '1:0.1-1'];
    for (let i = 0; i + 1 < ascending.length; i++) {
      assert.equal(compareRpmVersions(ascending[i]!, ascending[i + 1]!), -1, `${ascending[i]} < ${ascending[i + 1]}`);
      assert.equal(compareRpmVersions(ascending[i + 1]!, ascending[i]!), 1);
    }
    assert.equal(compareRpmVersions('1.01-1', '1.1-1'), 0);
  });

  it('agrees with dpkg --compare-versions and rpm.vercmp (EVR) on every pair of a mixed list', () => {
    const versions = ['1', '1.0', '1.0~', '1.0~~', '1.0a', '1.0+', '1.0.0', '01.0', '1.0-0', 'a', 'A', '1.0+dfsg', '2~beta.1', '6.12.117_2', '1.0^', '1.0^1'];
    for (const a of versions)
      for (const b of versions) {
        if (!a.includes('^')) {
          const dpkg = (op: string): boolean => tool('dpkg', ['--compare-versions', a, op, b]).code === 0;
          const want = dpkg('lt') ? -1 : dpkg('gt') ? 1 : 0;
          assert.equal(compareDebVersions(a, b), want, `dpkg: ${a} vs ${b}`);
        }
      }
    const lua = versions.flatMap((a) => versions.map((b) => `print(rpm.vercmp('${a}', '${b}'), ' ')`)).join(' ');
    const theirs = tool('rpm', ['--eval', `%{lua: ${lua}}`])
      .stdout.trim()
      .split(/\s+/)
      .map(Number);
    const ours = versions.flatMap((a) => versions.map((b) => compareRpmVersions(a, b)));
    assert.deepEqual(ours, theirs);
  });

  it("agrees with pacman's vercmp (libalpm) on every pair of a mixed list, pkgrel and epoch included (#37)", () => {
    const versions = [
      '1',
      '1.0',
      '1.0a',
      '1.0.0',
      '01.0',
      '1.0-1',
      '1.0-2',
      '1.0-10',
      '1.0-1.1',
      '1:0.1',
      '1:0.1-1',
      '0:1.0',
      '6.12.117_2-1',
      '1.0rc1',
      '1.0_1',
      'a',
      '1.0+1',
      '1..0',
      '1.0..1',
      '1.0~1',
      ':1.0',
      '1.0-',
      '1.0-a',
      'r1000.b481c3c',
      '6.1.0_56_amd64-1',
      '1.0-1-1',
    ];
    const ours = versions.flatMap((a) => versions.map((b) => comparePacmanVersions(a, b)));
    const theirs = versions.flatMap((a) => versions.map((b) => Math.sign(Number(mustRun('vercmp', [a, b]).trim()))));
    assert.deepEqual(ours, theirs);
  });
});
