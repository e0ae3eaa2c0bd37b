/**
 * Test support for the language back end: compiles a script and loads its
 * maps and programs with the library directly (no runtime), so expression
 * semantics can be checked by running BEGIN programs through
 * BPF_PROG_TEST_RUN and reading the maps back.
 */
import { compileDetailed, type CompileOptions } from '../../src/lang/compile';
import type { ScriptArtifact, UserMapSpec } from '../../src/lang/artifact';
import { BpfMap } from '../../src/ebpf/maps';
import { testRun, type Program } from '../../src/ebpf/programs';
import { loadArtifact } from '../../src/runtime/load';
import { userMapEntries } from '../../src/runtime/run';

export interface Loaded {
  artifact: ScriptArtifact;
  maps: BpfMap[];
  programs: Program[];
  close(): void;
  /** Runs every BEGIN program once. */
  runBegin(): void;
  /** Value of a user map under a u64 zero key (key-less maps), summed over CPUs for aggregations. */
  scalar(name: string): bigint | undefined;
  /**
   * All entries of a user map: [key bytes, value per CPU (or single)], read as
   * the runtime reads them (a key-less hist/lhist array as the hash keyed by
   * the bucket it stands for: 8 zero bytes, then the u64 bucket index).
   */
  entries(name: string): Array<[Buffer, Buffer[]]>;
  userMap(name: string): UserMapSpec;
}

export function loadScript(text: string, opts: CompileOptions = {}): Loaded {
  const { artifact } = compileDetailed({ name: 'test', text }, opts);
  const { maps, programs, close } = loadArtifact(artifact);
  const userMap = (name: string): UserMapSpec => {
    const u = artifact.userMaps.find((x) => x.name === name);
    if (!u) throw new Error(`no map ${name}`);
    return u;
  };
  const entries = (name: string): Array<[Buffer, Buffer[]]> => {
    const u = userMap(name);
    return userMapEntries(maps[u.map], u);
  };
  return {
    artifact,
    maps,
    programs,
    close,
    userMap,
    entries,
    runBegin() {
      artifact.programs.forEach((p, i) => {
        if (p.attach.some((a) => a.kind === 'begin')) testRun(programs[i], { ctx: Buffer.alloc(8) });
      });
    },
    scalar(name) {
      const u = userMap(name);
      const m = maps[u.map];
      const key = Buffer.alloc(m.keySize);
      if (m.isPerCpu) {
        const vs = m.lookupPerCpu(key);
        if (!vs) return undefined;
        let sum = 0n;
        for (const v of vs) sum += v.readBigUInt64LE(0);
        return BigInt.asIntN(64, sum);
      }
      const v = m.lookup(key);
      if (!v) return undefined;
      return u.value.kind === 'int' && !u.value.signed ? v.readBigUInt64LE(0) : v.readBigInt64LE(0);
    },
  };
}

/** Compiles `BEGIN { @r = EXPR; }`-style scripts, runs BEGIN, returns @r. */
export function evalBegin(body: string, opts: CompileOptions = {}): bigint | undefined {
  const l = loadScript(`BEGIN { ${body} }`, opts);
  try {
    l.runBegin();
    return l.scalar('@r');
  } finally {
    l.close();
  }
}

// The fixture process and attaching live in lang-target.ts (one of each); the names these tests use:
export { Target as FixtureProcess, attachAll } from './lang-target';
