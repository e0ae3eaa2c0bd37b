/**
 * Where the tsbpf package is on disk, for the files it ships beside the code
 * (package.json, the native addon, build info). The code runs from two layouts —
 * tsc's output (dist/src/...) and the CLI bundle (dist/tsbpf.js) — so the root
 * is found by walking up to the nearest package.json rather than by a fixed
 * number of '..'.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

let root: string | undefined;

export function packageRoot(): string {
  if (root === undefined) {
    let dir = __dirname;
    while (!fs.existsSync(path.join(dir, 'package.json'))) {
      const up = path.dirname(dir);
      if (up === dir) throw new Error(`tsbpf: cannot find the package directory above ${__dirname}`);
      dir = up;
    }
    root = dir;
  }
  return root;
}
