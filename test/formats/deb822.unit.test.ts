import assert from 'node:assert/strict';
import {formatParagraphs, Paragraph, parseParagraphs} from '../../src/formats/deb/deb822.js';

describe('deb822 reader/writer', () => {
  it('writes fields in order with a trailing newline, blank Description lines as " ."', () => {
    const p = new Paragraph([
      ['Package', 'x'],
      ['Description', 'short\nfirst line\n\n  verbatim indented'],
    ]);
    assert.equal(p.toString(), 'Package: x\nDescription: short\n first line\n .\n   verbatim indented\n');
  });

  it('rejects a newline that would inject a field, empty values and bad names', () => {
    assert.throws(() => new Paragraph([['Package', 'x\nEvil: y']]), /field Package may not span lines/);
    assert.throws(() => new Paragraph([['Version', '  ']]), /field Version is empty/);
    assert.throws(() => new Paragraph([['Bad Name', 'x']]), /invalid field name/);
    assert.throws(() => new Paragraph([['-Dash', 'x']]), /invalid field name/);
    assert.throws(() => new Paragraph([['Package', 'a\rb']]), /carriage return/);
  });

  it('parses several paragraphs separately, keeping continuation lines and their indentation', () => {
    const text = 'Package: a\nVersion: 1\nDescription: syn\n line one\n .\n   indented\n\nPackage: b\nversion: 2\n';
    const [a, b, ...rest] = parseParagraphs(text);
    assert.equal(rest.length, 0);
    assert.equal(a!.get('Package'), 'a');
    assert.equal(a!.get('description'), 'syn\nline one\n\n  indented');
    assert.equal(b!.get('Version'), '2', 'names are case-insensitive');
    assert.equal(b!.names()[1], 'version', 'but kept as written');
  });

  it('round-trips', () => {
    const text = 'Package: a\nDescription: syn\n more\n .\n end\n\nPackage: b\nSHA256:\n abc 1 x\n def 2 y\n';
    assert.equal(formatParagraphs(parseParagraphs(text)), text);
  });

  it('rejects a continuation line before any field', () => {
    assert.throws(() => parseParagraphs(' orphan\n'), /line 1 continues no field/);
  });
});
