/**
 * Builtin variables: one entry per name (argN/sargN stand for arg0..arg9 and
 * sarg0..sarg9). Adding a builtin variable touches only this file.
 */
import { FP, Helper, R0, R1, R2, R3, type Reg } from '../../ebpf/asm';
import type { Builtin } from '../ast';
import type { BuiltinVarDef, Lowering } from '../feature';
import { INT64 as I64, NONE, UINT64 as U64, type Type } from '../types';
import { defaultStackMode, helperValue, regsOnly, stackId, ustackStore } from './lower';
import { regOffset } from '../../arch';

/** The u64 at key 0 of a one-entry array map, read directly (BPF_PSEUDO_MAP_VALUE, no helper call): one register, like a global. */
function mapValue(g: Lowering, mapIndex: number): Reg {
  const r = g.temp();
  g.a.ldMapValue(r, mapIndex);
  g.a.ldx('dw', r, r, 0);
  return r;
}

const intVar = (emit: (g: Lowering, e: Builtin) => Reg, t: Type = U64): BuiltinVarDef => ({ check: () => t, scalar: emit });

export const BUILTIN_VARS: Record<string, BuiltinVarDef> = {
  pid: intVar((g, e) => {
    const r = helperValue(g, Helper.get_current_pid_tgid, e.span);
    g.a.rsh64(r, 32);
    return r;
  }),
  tid: intVar((g, e) => {
    const r = helperValue(g, Helper.get_current_pid_tgid, e.span);
    g.a.mov32(r, r);
    return r;
  }),
  uid: intVar((g, e) => {
    const r = helperValue(g, Helper.get_current_uid_gid, e.span);
    g.a.mov32(r, r);
    return r;
  }),
  gid: intVar((g, e) => {
    const r = helperValue(g, Helper.get_current_uid_gid, e.span);
    g.a.rsh64(r, 32);
    return r;
  }),
  nsecs: intVar((g, e) => helperValue(g, Helper.ktime_get_ns, e.span)),
  elapsed: intVar((g, e) => {
    const r = helperValue(g, Helper.ktime_get_ns, e.span);
    const slot = g.alloc(8);
    g.a.st('w', FP, slot, 0);
    g.ldMap(R1, g.shared.start());
    g.a.mov64(R2, FP);
    g.a.add64(R2, slot);
    g.a.call(Helper.map_lookup_elem);
    const none = g.a.newLabel('nostart');
    g.a.jeq(R0, 0, none);
    g.a.ldx('dw', R1, R0, 0);
    g.a.sub64(r, R1);
    g.a.label(none);
    return r;
  }),
  cpu: intVar((g, e) => helperValue(g, Helper.get_smp_processor_id, e.span)),
  rand: intVar((g, e) => helperValue(g, Helper.get_prandom_u32, e.span)),
  cgroup: intVar((g, e) => helperValue(g, Helper.get_current_cgroup_id, e.span)),
  // typed as struct task_struct * when the kernel has BTF, so curtask->pid works
  curtask: { check: (c) => c.btfPointer('task_struct'), scalar: (g, e) => helperValue(g, Helper.get_current_task, e.span) },
  jiffies: intVar((g, e) => helperValue(g, Helper.jiffies64, e.span)),
  // bpftrace's usermode: 1 when the probe fired while the CPU ran user code. With registers (k/uprobes, usdt,
  // perf events) that is pt_regs->cs's privilege level: (cs & 3) + 1 >> 2 is 1 exactly for level 3. Without
  // them, BEGIN/END run from the tracer in user space (1); tracepoints and fentry fire in the kernel (0).
  usermode: {
    check(c, e) {
      if (c.ctx.regs && c.opts.target.arch.ptRegs.cs === undefined) c.error(`usermode is not supported on ${c.opts.target.arch.name}`, e.span);
      return { kind: 'int', size: 1, signed: false };
    },
    scalar(g, e) {
      const r = g.temp(e.span);
      if (!g.probe.regs) {
        g.a.mov64(r, g.probe.fromUserSpace ? 1 : 0);
        return r;
      }
      g.a.ldx('dw', r, g.ctx, regOffset(g.target.arch, 'cs'));
      g.a.and64(r, 3);
      g.a.add64(r, 1);
      g.a.rsh64(r, 2);
      return r;
    },
  },
  numaid: intVar((g, e) => helperValue(g, Helper.get_numa_node_id, e.span)),
  // the probe's context pointer, as bpftrace's ctx (an integer here: no struct types for it)
  ctx: intVar((g, e) => {
    const r = g.temp(e.span);
    g.a.mov64(r, g.ctx);
    return r;
  }),
  // the -c command's pid: read from a map the runtime fills in before any probe is attached (the command waits stopped)
  cpid: intVar((g) => mapValue(g, g.shared.commandPid())),
  // bpftrace's ncpus: the possible CPUs (as many as per-CPU map values have slots)
  ncpus: intVar((g) => mapValue(g, g.shared.hostValue('possibleCpus'))),
  comm: {
    check: () => ({ kind: 'string', size: 16 }),
    store(g, _e, dst, size) {
      // before 6.x the helper copied with strscpy (no padding): bytes after the NUL kept stack garbage, splitting map keys
      g.zero(dst, 16);
      g.lea(R1, dst);
      g.a.mov64(R2, 16);
      g.a.call(Helper.get_current_comm);
      if (size > 16) g.zero({ base: dst.base, off: dst.off + 16 }, size - 16);
    },
  },
  username: {
    check: () => ({ kind: 'username' }),
    scalar(g, e) {
      const r = helperValue(g, Helper.get_current_uid_gid, e.span);
      g.a.mov32(r, r);
      return r;
    },
  },
  probe: {
    check: (c, e) => {
      if (!c.ctx.perPoint && !c.firstPass) {
        // the compile driver splits probes that use `probe` into one program per attach point
      }
      void e;
      return { kind: 'probe' };
    },
    scalar(g, e) {
      const r = g.temp(e.span);
      g.probeIndexValue(r, e.span);
      return r;
    },
  },
  func: {
    check(c, e) {
      // the traced function: from the registers, or bpf_get_func_ip in fentry/fexit (BPF_PROG_TYPE_TRACING) programs
      if (c.ctx.progType !== 'tracing' && !regsOnly(c, e, 'func')) return NONE;
      return c.ctx.user ? { kind: 'usym' } : { kind: 'ksym' };
    },
    scalar(g, e) {
      // kernel probes: bpf_get_func_ip gives the traced function even in kretprobes (it reads ctx)
      g.a.mov64(R1, g.ctx);
      return helperValue(g, Helper.get_func_ip, e.span);
    },
    store(g, e, dst) {
      const c = g.probe;
      if (c.retprobe) {
        g.a.mov64(R1, g.ctx);
        g.a.call(Helper.get_func_ip);
      } else g.a.ldx('dw', R0, g.ctx, regOffset(g.target.arch, g.target.arch.ipReg));
      g.a.stx('dw', dst.base, dst.off, R0);
      g.a.call(Helper.get_current_pid_tgid);
      g.a.rsh64(R0, 32);
      g.a.stx('dw', dst.base, dst.off + 8, R0);
      void e;
    },
  },
  retval: {
    check(c, e) {
      // k/uretprobes: the return register; fexit: the slot after the parameters (retvalOffset)
      if (!c.ctx.retprobe || (!c.ctx.regs && c.ctx.retvalOffset === undefined)) c.error('retval is only available in kretprobe, uretprobe and fexit probes', e.span);
      return I64;
    },
    scalar(g, e) {
      const r = g.temp(e.span);
      const off = g.probe.retvalOffset;
      // fexit: the return value follows the arguments in the context; k/uretprobes: pt_regs->ax
      g.a.ldx('dw', r, g.ctx, off ?? regOffset(g.target.arch, g.target.arch.retReg));
      return r;
    },
  },
  argN: {
    names: Array.from({ length: 10 }, (_, i) => `arg${i}`),
    check(c, e) {
      const n = Number(e.name.slice(3));
      // (uprobes and raw tracepoints have both: args from debug info or BTF, argN from registers or the context)
      if (c.ctx.tracepoint && !c.ctx.regs && c.ctx.tracepoint.category !== 'rawtracepoint') c.error(`${e.name} is not available in tracepoints: use args.FIELD`, e.span);
      else if (c.ctx.retprobe && c.ctx.regs) c.error(`${e.name} is not available in return probes`, e.span);
      else if (c.ctx.usdtArgs && n >= c.ctx.usdtArgs.length) c.error(`this usdt probe has ${c.ctx.usdtArgs.length} arguments`, e.span);
      else if (!c.ctx.regs && !c.ctx.u64Args) c.error(`${e.name} is not available in ${c.ctx.provider} probes`, e.span);
      else if (c.ctx.regs && !c.ctx.usdtArgs && n >= c.opts.target.arch.argRegs.length) c.error(`${e.name}: only arg0..arg${c.opts.target.arch.argRegs.length - 1} are available`, e.span);
      else if (!c.ctx.funcArgs) c.error(`${e.name} is not available in ${c.ctx.provider} probes`, e.span);
      if (c.ctx.usdtArgs && c.ctx.usdtArgs[n]) {
        const a = c.ctx.usdtArgs[n];
        return { kind: 'int', size: 8, signed: a.signed };
      }
      return U64;
    },
    scalar: (g, e) => g.argScalar(Number(e.name.slice(3)), e.span),
  },
  sargN: {
    names: Array.from({ length: 10 }, (_, i) => `sarg${i}`),
    check(c, e) {
      if (!regsOnly(c, e, e.name)) return NONE;
      return U64;
    },
    scalar(g, e) {
      const n = Number(e.name.slice(4));
      const slot = g.alloc(8);
      g.a.st('dw', FP, slot, 0);
      g.a.ldx('dw', R3, g.ctx, regOffset(g.target.arch, g.target.arch.spReg));
      g.a.add64(R3, 8 * (n + g.target.arch.stackArgSlot));
      g.a.mov64(R1, FP);
      g.a.add64(R1, slot);
      g.a.mov64(R2, 8);
      g.callRead(g.probe.user ? Helper.probe_read_user : Helper.probe_read_kernel);
      const r = g.temp(e.span);
      g.a.ldx('dw', r, FP, slot);
      return r;
    },
  },
  args: {
    check(c, e) {
      if (!c.ctx.tracepoint) return c.error(c.ctx.argsUnavailable ?? `args is only available in tracepoint, fentry, fexit and uprobe probes`, e.span);
      return { kind: 'ctx' };
    },
  },
  kstack: {
    // every program type has a kernel stack (bpf_get_stackid takes any ctx)
    check: (c, e) => ({ kind: 'kstack', mode: defaultStackMode(c, 'kstack', e.span), limit: 127 }),
    scalar: (g, e) => stackId(g, false, e.span),
  },
  ustack: {
    check: (c, e) => ({ kind: 'ustack', mode: defaultStackMode(c, 'ustack', e.span), limit: 127 }),
    store: (g, e, dst) => ustackStore(g, dst, e.span),
  },
};
