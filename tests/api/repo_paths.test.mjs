// Covers scripts/check_paths.sh, which `make analyze` runs: this checkout names nothing outside
// the repository, and the check does fail on each kind of outside reference in a tracked file
// (a sibling "shared" directory, the contract's or the overview's file name, an absolute path of
// the build machine, an issue number), while .ci/ and look-alikes pass.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './lib.mjs';

const CHECK = path.join(ROOT, 'scripts/check_paths.sh');

function check(root) {
  return spawnSync(CHECK, root ? [root] : [], { encoding: 'utf8' });
}

/** A throwaway git repository holding files ({path: text}), all tracked. */
function repoWith(files) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'innbocks-paths-'));
  const git = (...args) => {
    const r = spawnSync('git', ['-C', dir, ...args], { encoding: 'utf8' });
    assert.equal(r.status, 0, `git ${args.join(' ')}: ${r.stderr}`);
  };
  git('init', '-q');
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
    writeFileSync(path.join(dir, p), text);
  }
  git('add', '-A');
  return dir;
}

test('no tracked file of this checkout names a path outside the repository', () => {
  const r = check();
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
});

test('the check fails on every kind of outside reference and passes look-alikes and .ci/', () => {
  // Assembled from pieces, so that this file does not trip the check itself.
  const outside = [
    ['see ../shar', 'ed/API', '.md §2'],
    ['measured in FACTS', '.md'],
    ['as API', '.md §7 says'],
    ['partner-api-', 'overview.txt'],
    ['built in /', 'work/main'],
    ['fixed by is', 'sue 12'],
  ].map((parts) => parts.join(''));
  const dirs = [];
  try {
    for (const [i, line] of outside.entries()) {
      const dir = repoWith({ 'README.md': '# ok\n', [`src/f${i}.c`]: `/* ${line} */\n` });
      dirs.push(dir);
      const r = check(dir);
      assert.equal(r.status, 1, `must fail on: ${line}`);
      assert.match(r.stdout, new RegExp(`src/f${i}\\.c:1:`), r.stdout);
    }
    const fine = repoWith({
      'docs/a.md': 'see docs/api.md#lists and OPENAPI.md; shared state; a tissue 3; /var/work/x\n',
      '.ci/run': outside.join('\n'),
    });
    dirs.push(fine);
    const r = check(fine);
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  } finally {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
});
