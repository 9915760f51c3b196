import {homedir} from 'node:os';
import {join} from 'node:path';

/** What `npm run setup` fetched and made once for the tests and the bench (bin/fetch-kbuild-test-debs.sh). */
export const CACHE = process.env.KHPKG_TEST_DEBS ?? (process.getuid?.() === 0 ? '/var/cache/khpkg-test' : join(homedir(), '.cache/khpkg-test'));
