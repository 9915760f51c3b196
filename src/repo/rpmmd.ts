import {createHash} from 'node:crypto';
import {gzipSync} from 'node:zlib';
import type {RepoPackage} from './package-meta.js';
import type {IndexFile} from './apt.js';

const NS = {
  common: 'http://linux.duke.edu/metadata/common',
  rpm: 'http://linux.duke.edu/metadata/rpm',
  filelists: 'http://linux.duke.edu/metadata/filelists',
  other: 'http://linux.duke.edu/metadata/other',
  repo: 'http://linux.duke.edu/metadata/repo',
};

/**
 * An RPM-MD repository (what dnf and yum read): `primary`, `filelists` and `other` as gzipped XML
 * named by their digest (so a mirror never serves a new repomd.xml with old data), and
 * `repodata/repomd.xml` listing them with their digests before and after compression.
 * File lists come as an iterable: they are most of the metadata and need not all be in memory.
 */
export function rpmmdIndexes(rpms: RepoPackage[], filelists: Iterable<string>, revision: number): {data: IndexFile[]; repomd: IndexFile} {
  const head = '<?xml version="1.0" encoding="UTF-8"?>\n';
  const n = rpms.length;
  const parts: {type: string; xml: Buffer}[] = [
    {type: 'primary', xml: Buffer.from(`${head}<metadata xmlns="${NS.common}" xmlns:rpm="${NS.rpm}" packages="${n}">\n${rpms.map((p) => `${p.rpm!.primary}\n`).join('')}</metadata>\n`)},
    {type: 'filelists', xml: Buffer.concat([Buffer.from(`${head}<filelists xmlns="${NS.filelists}" packages="${n}">\n`), ...[...filelists].map((f) => Buffer.from(`${f}\n`)), Buffer.from('</filelists>\n')])},
    {type: 'other', xml: Buffer.from(`${head}<otherdata xmlns="${NS.other}" packages="${n}">\n${rpms.map((p) => `${p.rpm!.other}\n`).join('')}</otherdata>\n`)},
  ];
  const data: IndexFile[] = [];
  let repomd = `${head}<repomd xmlns="${NS.repo}" xmlns:rpm="${NS.rpm}">\n  <revision>${revision}</revision>\n`;
  for (const {type, xml} of parts) {
    const gz = gzipSync(xml, {level: 9});
    const sum = createHash('sha256').update(gz).digest('hex');
    const path = `repodata/${sum}-${type}.xml.gz`;
    data.push({path, data: gz});
    repomd += [
      `  <data type="${type}">`,
      `    <checksum type="sha256">${sum}</checksum>`,
      `    <open-checksum type="sha256">${createHash('sha256').update(xml).digest('hex')}</open-checksum>`,
      `    <location href="${path}"/>`,
      `    <timestamp>${revision}</timestamp>`,
      `    <size>${gz.length}</size>`,
      `    <open-size>${xml.length}</open-size>`,
      '  </data>',
      '',
    ].join('\n');
  }
  repomd += '</repomd>\n';
  return {data, repomd: {path: 'repodata/repomd.xml', data: Buffer.from(repomd)}};
}
