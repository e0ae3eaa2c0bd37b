/**
 * The kernel unit tests compile for: a recording (test/fixtures/target/kernel.json)
 * replayed by RecordedTarget, so unit tests read nothing of the machine and pass
 * as any user on any kernel.
 *
 * TSBPF_RECORD_TARGET=1 node test/run.js unit (as root, with tracefs and BTF)
 * answers from the running kernel instead and adds every answer given to the
 * recording (one test file after another, so the merges do not race).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runningKernel } from '../../src/target/kernel';
import { RecordedTarget, RecordingTarget, type TargetRecording } from '../../src/target/recorded';
import type { Target } from '../../src/target/target';

const FILE = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'target', 'kernel.json');

let target: Target | undefined;

function sorted(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sorted);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted((v as Record<string, unknown>)[k])]));
  }
  return v;
}

/** The recorded kernel (or, when recording, the running one with a recorder around it). */
export function unitTarget(): Target {
  if (target) return target;
  const previous = fs.existsSync(FILE) ? (JSON.parse(fs.readFileSync(FILE, 'utf8')) as TargetRecording) : undefined;
  if (process.env.TSBPF_RECORD_TARGET) {
    // start from the file as it is now (another test file may have added to it)
    const rec = new RecordingTarget(runningKernel(), previous);
    process.on('exit', () => {
      fs.writeFileSync(FILE, `${JSON.stringify(sorted(rec.recording()), null, 1)}\n`);
    });
    return (target = rec);
  }
  if (!previous) throw new Error(`${FILE} is missing: record it with TSBPF_RECORD_TARGET=1 node test/run.js unit`);
  return (target = new RecordedTarget(previous));
}
