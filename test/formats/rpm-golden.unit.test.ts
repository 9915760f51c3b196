import {headerBytes, int16, int32, str} from '../../src/formats/rpm/header.js';
import {lead} from '../../src/formats/rpm/lead.js';
import {cpioHeader} from '../../src/formats/rpm/cpio.js';
import {HEADER_IMMUTABLE} from '../../src/formats/rpm/tags.js';
import {assertGolden} from '../helpers/golden.js';

describe('rpm parts against golden bytes (as rpmpack compares header bytes in hex)', () => {
  it('a small header, a lead and a cpio header are what they were', () => {
    assertGolden(
      'rpm-header',
      headerBytes(
        HEADER_IMMUTABLE,
        new Map([
          [1000, str('kernel-devel')],
          [1001, str('6.1.42')],
          [1028, int32([7, 8])],
          [1030, int16([0o100644, 0o40755])],
        ]),
      ),
      'hex',
    );
    assertGolden('rpm-lead', lead('kernel-devel-6.1.42-1'), 'hex');
    assertGolden('rpm-cpio-header', cpioHeader({name: './usr/src/kernels/6.1.42/a.h', ino: 1, mode: 0o100644, mtime: 1700000000, size: 5, nlink: 1}), 'hex');
  });
});
