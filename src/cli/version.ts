/**
 * `tsbpf --version`: the package version and the commit it was built from.
 * scripts/build.js records the commit in dist/build-info.json at build time
 * (a tarball has no .git to ask), so an installed package still knows it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../sys/package-root';

export interface BuildInfo {
  /** Commit hash the build was made from, with "-dirty" when the tree had changes. */
  commit: string;
}

export function buildInfo(): BuildInfo | undefined {
  try {
    const info = JSON.parse(fs.readFileSync(path.join(packageRoot(), 'dist', 'build-info.json'), 'utf8')) as Partial<BuildInfo>;
    return typeof info.commit === 'string' ? { commit: info.commit } : undefined;
  } catch {
    return undefined;
  }
}

export function version(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
  const info = buildInfo();
  return `tsbpf v${pkg.version} (${info ? `commit ${info.commit}` : 'commit unknown: not built with npm run build'})`;
}
