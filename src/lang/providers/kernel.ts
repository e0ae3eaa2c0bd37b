/**
 * Kernel function probes: kprobe/kretprobe (pt_regs: arguments in registers)
 * and fentry/fexit (BTF trampolines: arguments typed from the kernel's BTF).
 */
import type { AttachPoint } from '../ast';
import type { AttachSpec } from '../artifact';
import { globToRegExp, type TracepointField, type TracepointFormat } from '../../sys/tracefs';
import { MissingFeatureError } from '../../sys/features';
import { isGlob } from '../../ebpf/elf';
import { attachKprobe, attachTracing } from '../../ebpf/attach';
import type { KernelBtf, Target } from '../../target/target';
import { tracepointAlternative } from '../kernel-alternatives';
import { baseCtx, err, provider, type Attacher, type ListRequest, type ProviderOptions } from './provider';

/** kprobe and kretprobe attach alike; without kprobes the error names a tracepoint that sees the same event. */
const attachKprobeSpec: Attacher<'kprobe'> = (prog, s) => {
  try {
    return [attachKprobe(prog, s.func, { retprobe: s.retprobe, offset: s.offset, cookie: s.cookie !== undefined ? BigInt(s.cookie) : undefined })];
  } catch (e) {
    // one sentence: the missing feature, then what observes the same event (kernel-alternatives.ts)
    if (e instanceof MissingFeatureError && s.alternative) throw new MissingFeatureError(e.feature, `${e.message}; ${s.alternative}`);
    throw e;
  }
};

function kprobeProvider(name: string, aliases: string[], retprobe: boolean) {
  return provider({
    name,
    aliases,
    // bpftrace lists kprobe:FUNC only (a kretprobe exists for each), also for a pattern without a provider (-l '*sleep*')
    listing: retprobe ? undefined : 'default',
    list: retprobe ? undefined : (req: ListRequest) => req.target.kprobeFunctions().map((f) => `kprobe:${f}`).filter((n) => req.matches(n)),
    attach: { kprobe: attachKprobeSpec },
    expand(ap: AttachPoint, { target: kernel }: ProviderOptions) {
      let module: string | undefined;
      let target = ap.parts[ap.parts.length - 1] ?? '';
      if (ap.parts.length === 2) module = ap.parts[0];
      else if (ap.parts.length > 2 || !target) throw err(ap, `${name} needs a function: ${name}:FUNC or ${name}:MODULE:FUNC`);
      let offset = 0;
      const plus = /^(.*)\+(0x[0-9a-f]+|\d+)$/i.exec(target);
      if (plus) {
        if (retprobe) throw err(ap, `${name} does not take an offset`);
        target = plus[1];
        offset = Number(plus[2]);
      }
      const funcs = isGlob(target) ? kernel.kprobeFunctions().filter((f) => globToRegExp(target).test(f)) : [target];
      if (!funcs.length) throw err(ap, `no kernel functions match '${target}'`);
      return funcs.map((func) => {
        const full = `${name}:${module ? `${module}:` : ''}${func}${offset ? `+${offset}` : ''}`;
        const spec: AttachSpec = { kind: 'kprobe', func, offset, retprobe };
        if (module) spec.module = module;
        if (funcs.length === 1) spec.alternative = tracepointAlternative(func, retprobe, kernel.arch);
        return { spec, ctx: { ...baseCtx(name, 'kprobe', full), regs: true, funcArgs: true, retprobe, funcName: func }, name: full };
      });
    },
  });
}

export const kprobe = kprobeProvider('kprobe', ['k'], false);
export const kretprobe = kprobeProvider('kretprobe', ['kr'], true);


/**
 * fentry/fexit `args`: the traced function's parameters from kernel BTF, laid
 * out as a record of u64 slots (the tracing program's context), so `args.NAME`
 * uses the same field machinery as tracepoints. fexit's return value follows
 * the parameters.
 */
function btfArgs(target: Target, func: string): { format: TracepointFormat; structArgs: Record<string, number>; retOffset: number; retSigned: boolean } | string {
  let btf: KernelBtf;
  try {
    btf = target.btf();
  } catch (e) {
    return (e as Error).message;
  }
  const id = btf.find(func, 'func');
  if (id === undefined) return `kernel function '${func}' is not in the kernel's BTF (/sys/kernel/btf/vmlinux)`;
  const { returnType, params } = btf.funcParams(id);
  const field = (name: string, typeId: number, i: number): TracepointField => {
    const rid = btf.resolve(typeId);
    const t = btf.type(rid);
    const size = t.kind === 'int' || t.kind === 'enum' || t.kind === 'enum64' ? btf.sizeOf(rid) : 8;
    const signed = (t.kind === 'int' || t.kind === 'enum' || t.kind === 'enum64') && t.signed;
    return { name, type: btf.typeName(typeId), offset: 8 * i, size: [1, 2, 4, 8].includes(size) ? size : 8, signed, dataLoc: false };
  };
  const fields = params.filter((p) => p.type !== 0).map((p, i) => field(p.name || `arg${i}`, p.type, i));
  const structArgs: Record<string, number> = {};
  params.filter((p) => p.type !== 0).forEach((p, i) => {
    const t = btf.type(btf.resolve(p.type));
    if (t.kind !== 'ptr') return;
    const target = btf.resolve(t.type);
    const k = btf.kind(target);
    if (k === 'struct' || k === 'union') structArgs[p.name || `arg${i}`] = target;
  });
  const ret = returnType ? btf.type(btf.resolve(returnType)) : undefined;
  const format: TracepointFormat = { category: 'btf', event: func, id: 0, commonFields: [], fields, printFmt: '' };
  return { format, structArgs, retOffset: 8 * fields.length, retSigned: ret !== undefined && (ret.kind === 'int' || ret.kind === 'enum') && ret.signed };
}

const attachFentry: Attacher<'fentry' | 'fexit'> = (prog, s) => [attachTracing(prog, s.func)];

function fentryProvider(name: string, aliases: string[], exit: boolean) {
  return provider({
    name,
    aliases,
    // the functions kprobes could attach to that the kernel's BTF describes
    listing: exit ? undefined : 'default',
    list: exit ? undefined : (req: ListRequest) => {
      let btf: KernelBtf;
      try {
        btf = req.target.btf();
      } catch {
        return [];
      }
      return req.target.kprobeFunctions().map((f) => `fentry:${f}`).filter((n) => req.matches(n) && btf.find(n.slice(7), 'func') !== undefined);
    },
    attach: { fentry: attachFentry, fexit: attachFentry },
    expand(ap: AttachPoint, { target }: ProviderOptions) {
      const func = ap.parts[ap.parts.length - 1];
      if (!func) throw err(ap, `${name} needs a function: ${name}:FUNC`);
      if (isGlob(func)) throw err(ap, `${name}: wildcards are not supported yet; name one function`);
      const full = `${name}:${func}`;
      const a = btfArgs(target, func);
      if (typeof a === 'string') throw err(ap, `${name}: ${a}`);
      return [{
        spec: { kind: exit ? 'fexit' : 'fentry', func, alternative: tracepointAlternative(func, exit, target.arch) },
        ctx: {
          ...baseCtx(name, 'tracing', full), u64Args: true, funcArgs: true, retprobe: exit, funcName: func, perPoint: true,
          tracepoint: a.format, btfArgs: a.structArgs, retvalOffset: exit ? a.retOffset : undefined,
        },
        name: full,
      }];
    },
  });
}

export const fentry = fentryProvider('fentry', ['f', 'kfunc'], false);
export const fexit = fentryProvider('fexit', ['fr', 'kretfunc'], true);

