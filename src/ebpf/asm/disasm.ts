/**
 * Disassembler printing the text `bpftool prog dump xlated` prints:
 *    0: (bf) r6 = r1
 *    1: (85) call bpf_get_current_pid_tgid#14
 *    4: (18) r1 = map[id:5]
 *    7: (15) if r0 == 0x0 goto pc+2
 */
import { helperName } from './helpers';
import { AluOp, AtomicOp, Class, type Insn, JmpOp, Mode, PseudoCall, PseudoLd, Size, Src, decode, isLdImm64, opClass } from './insn';

const aluSym: Record<number, string> = {
  [AluOp.ADD]: '+=', [AluOp.SUB]: '-=', [AluOp.MUL]: '*=', [AluOp.DIV]: '/=', [AluOp.OR]: '|=', [AluOp.AND]: '&=',
  [AluOp.LSH]: '<<=', [AluOp.RSH]: '>>=', [AluOp.MOD]: '%=', [AluOp.XOR]: '^=', [AluOp.MOV]: '=', [AluOp.ARSH]: 's>>=',
};

const jmpSym: Record<number, string> = {
  [JmpOp.JEQ]: '==', [JmpOp.JGT]: '>', [JmpOp.JGE]: '>=', [JmpOp.JSET]: '&', [JmpOp.JNE]: '!=', [JmpOp.JSGT]: 's>',
  [JmpOp.JSGE]: 's>=', [JmpOp.JLT]: '<', [JmpOp.JLE]: '<=', [JmpOp.JSLT]: 's<', [JmpOp.JSLE]: 's<=',
};

const sizeName: Record<number, string> = { [Size.B]: 'u8', [Size.H]: 'u16', [Size.W]: 'u32', [Size.DW]: 'u64' };
const ssizeName: Record<number, string> = { [Size.B]: 's8', [Size.H]: 's16', [Size.W]: 's32', [Size.DW]: 's64' };

function hex(v: number): string {
  return v < 0 ? `0x${(v >>> 0).toString(16)}` : `0x${v.toString(16)}`;
}

function offStr(off: number): string {
  return off >= 0 ? `+${off}` : `${off}`;
}

export interface DisasmOptions {
  /** Names for helper ids (defaults to the kernel's bpf_<name>). */
  helperName?: (id: number) => string | undefined;
  /** Renders map references of lddw: map fd in our own programs, map id in xlated dumps. */
  mapRef?: (value: number, pseudo: number) => string;
}

/** One instruction as text (without the index prefix). `next` is the second lddw slot. */
export function formatInsn(i: Insn, next?: Insn, opts: DisasmOptions = {}): string {
  const cls = opClass(i.code);
  const op = i.code & 0xf0;
  const useX = (i.code & Src.X) !== 0;
  switch (cls) {
    case Class.ALU64:
    case Class.ALU: {
      const r = cls === Class.ALU64 ? 'r' : 'w';
      if (op === AluOp.NEG) return `${r}${i.dst} = -${r}${i.dst}`;
      if (op === AluOp.END) {
        if (cls === Class.ALU64) return `r${i.dst} = bswap${i.imm} r${i.dst}`;
        return `r${i.dst} = ${useX ? 'be' : 'le'}${i.imm} r${i.dst}`;
      }
      const sym = aluSym[op] ?? `?op${op.toString(16)}`;
      const signed = i.off === 1 && (op === AluOp.DIV || op === AluOp.MOD) ? 's' : '';
      if (op === AluOp.MOV && useX && i.off !== 0) return `${r}${i.dst} = (s${i.off}) ${r}${i.src}`;
      // bpftool prints ALU immediates in decimal and jump immediates in hex.
      const rhs = useX ? `${r}${i.src}` : String(i.imm);
      return `${r}${i.dst} ${signed}${sym} ${rhs}`;
    }
    case Class.LDX: {
      const mode = i.code & 0xe0;
      const size = i.code & 0x18;
      const type = mode === Mode.MEMSX ? ssizeName[size] : sizeName[size];
      return `r${i.dst} = *(${type} *)(r${i.src} ${offStr(i.off)})`;
    }
    case Class.ST:
      return `*(${sizeName[i.code & 0x18]} *)(r${i.dst} ${offStr(i.off)}) = ${i.imm}`;
    case Class.STX: {
      const mode = i.code & 0xe0;
      const size = i.code & 0x18;
      const t = sizeName[size];
      if (mode === Mode.ATOMIC) {
        const base = i.imm & ~AtomicOp.FETCH;
        const fetch = (i.imm & AtomicOp.FETCH) !== 0;
        const w = size === Size.DW ? '64' : '';
        if (i.imm === AtomicOp.XCHG) return `r${i.src} = atomic${w}_xchg((${t} *)(r${i.dst} ${offStr(i.off)}), r${i.src})`;
        if (i.imm === AtomicOp.CMPXCHG) return `r0 = atomic${w}_cmpxchg((${t} *)(r${i.dst} ${offStr(i.off)}), r0, r${i.src})`;
        const name: Record<number, string> = { [AtomicOp.ADD]: 'add', [AtomicOp.OR]: 'or', [AtomicOp.AND]: 'and', [AtomicOp.XOR]: 'xor' };
        const sym: Record<number, string> = { [AtomicOp.ADD]: '+=', [AtomicOp.OR]: '|=', [AtomicOp.AND]: '&=', [AtomicOp.XOR]: '^=' };
        if (fetch) return `r${i.src} = atomic${w}_fetch_${name[base]}((${t} *)(r${i.dst} ${offStr(i.off)}), r${i.src})`;
        return `lock *(${t} *)(r${i.dst} ${offStr(i.off)}) ${sym[base]} r${i.src}`;
      }
      return `*(${t} *)(r${i.dst} ${offStr(i.off)}) = r${i.src}`;
    }
    case Class.LD: {
      if (isLdImm64(i)) {
        const lo = BigInt(i.imm >>> 0);
        const hi = BigInt((next?.imm ?? 0) >>> 0);
        const v = (hi << 32n) | lo;
        if (i.src === PseudoLd.MAP_FD || i.src === PseudoLd.MAP_VALUE) {
          if (opts.mapRef) return `r${i.dst} = ${opts.mapRef(i.imm, i.src)}${i.src === PseudoLd.MAP_VALUE ? `+${Number(hi)}` : ''}`;
          return i.src === PseudoLd.MAP_FD ? `r${i.dst} = map[fd:${i.imm}]` : `r${i.dst} = map[fd:${i.imm}][0]+${Number(hi)}`;
        }
        return `r${i.dst} = 0x${v.toString(16)}`;
      }
      return `(legacy packet load ${hex(i.code)})`;
    }
    case Class.JMP:
    case Class.JMP32: {
      if (op === JmpOp.CALL) {
        if (i.src === PseudoCall.CALL) return `call pc${offStr(i.imm)}`;
        if (i.src === PseudoCall.KFUNC_CALL) return `call kernel-function#${i.imm}`;
        const name = (opts.helperName ?? helperName)(i.imm);
        return `call ${name ? `bpf_${name}` : 'unknown'}#${i.imm}`;
      }
      if (op === JmpOp.EXIT) return 'exit';
      if (op === JmpOp.JA) return `goto pc${offStr(cls === Class.JMP32 ? i.imm : i.off)}`;
      const r = cls === Class.JMP ? 'r' : 'w';
      const rhs = useX ? `${r}${i.src}` : hex(i.imm);
      return `if ${r}${i.dst} ${jmpSym[op] ?? '?'} ${rhs} goto pc${offStr(i.off)}`;
    }
  }
  return `(unknown opcode ${hex(i.code)})`;
}

/** Disassembles encoded instructions (Buffer) or decoded ones, one line per instruction. */
export function disassemble(code: Uint8Array | readonly Insn[], opts: DisasmOptions = {}): string[] {
  const insns = code instanceof Uint8Array ? decode(code) : code;
  const lines: string[] = [];
  for (let n = 0; n < insns.length; n++) {
    const i = insns[n];
    const text = formatInsn(i, insns[n + 1], opts);
    lines.push(`${String(n).padStart(4)}: (${i.code.toString(16).padStart(2, '0')}) ${text}`);
    if (isLdImm64(i)) n++;
  }
  return lines;
}
