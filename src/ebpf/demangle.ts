/**
 * C++ symbol demangling (the Itanium C++ ABI's mangling, used by g++ and
 * clang on Linux), so user stacks and symbols print `ns::Cls::method(int)`
 * as bpftrace prints them (it demangles by default), in c++filt's layout.
 *
 * A recursive-descent parser over the mangled name builds small nodes
 * (names, types, template arguments) that print themselves; the ABI's
 * substitution table (S_, S0_ ...) and template parameters (T_ ...) refer
 * back to nodes already built. Anything it does not understand leaves the
 * name as it was: demangle() never throws.
 *
 * @example
 *   demangle('_ZN2ns3Cls6methodEi')   // 'ns::Cls::method(int)'
 *   demangle('main')                  // 'main' (not a mangled name)
 */
import { InternalError } from '../errors';

/** The parser met something it does not know; caught in demangle(), which then keeps the name as it was. */
class Fail extends InternalError {
  constructor() {
    super('not a mangled name this demangler reads');
  }
}

/** A demangled entity; printed in two halves so declarators nest (`int (*)(char)`, `int (&) [3]`). */
abstract class Node {
  /** Text before the declarator position. */
  abstract left(): string;
  /** Text after it (function parameters, array bounds). */
  right(): string {
    return '';
  }
  /** Whether a pointer to this needs parentheses around the `*` (functions and arrays). */
  wrapsDeclarator(): boolean {
    return false;
  }
  str(): string {
    return this.left() + this.right();
  }
}

class Text extends Node {
  constructor(readonly text: string) {
    super();
  }
  override left(): string {
    return this.text;
  }
}

class Nested extends Node {
  constructor(readonly prefix: Node, readonly name: Node) {
    super();
  }
  override left(): string {
    return `${this.prefix.str()}::${this.name.str()}`;
  }
}

class Template extends Node {
  constructor(readonly name: Node, readonly args: Node[]) {
    super();
  }
  override left(): string {
    const inner = this.args.map((a) => a.str()).join(', ');
    // c++filt separates a closing '>' from the one before it
    const name = this.name.str();
    // c++filt separates `operator<` from the argument list's `<`
    return `${name}${name.endsWith('<') ? ' ' : ''}<${inner}${inner.endsWith('>') ? ' ' : ''}>`;
  }
}

class AbiTagged extends Node {
  constructor(readonly base: Node, readonly tag: string) {
    super();
  }
  override left(): string {
    return `${this.base.str()}[abi:${this.tag}]`;
  }
}

class Qualified extends Node {
  constructor(readonly child: Node, readonly quals: string) {
    super();
  }
  override left(): string {
    if (this.child instanceof FunctionType) return this.child.left();
    return `${this.child.left()} ${this.quals}`;
  }
  override right(): string {
    if (this.child instanceof FunctionType) return `${this.child.right()} ${this.quals}`;
    return this.child.right();
  }
  override wrapsDeclarator(): boolean {
    return this.child.wrapsDeclarator();
  }
}

/** Pointer, lvalue and rvalue reference. */
class Indirect extends Node {
  constructor(readonly child: Node, readonly op: '*' | '&' | '&&') {
    super();
  }
  override left(): string {
    if (this.child.wrapsDeclarator()) return `${this.child.left()}(${this.op}`;
    return `${this.child.left()}${this.op}`;
  }
  override right(): string {
    if (this.child.wrapsDeclarator()) return `)${this.child.right()}`;
    return this.child.right();
  }
}

class FunctionType extends Node {
  constructor(readonly ret: Node, readonly params: Node[], readonly suffix = '') {
    super();
  }
  override left(): string {
    return `${this.ret.str()} `;
  }
  override right(): string {
    return `(${paramList(this.params)})${this.suffix}`;
  }
  override wrapsDeclarator(): boolean {
    return true;
  }
}

class ArrayType extends Node {
  constructor(readonly elem: Node, readonly dim: string) {
    super();
  }
  override left(): string {
    return `${this.elem.str()} `;
  }
  override right(): string {
    return `[${this.dim}]`;
  }
  override wrapsDeclarator(): boolean {
    return true;
  }
}

class MemberPointer extends Node {
  constructor(readonly cls: Node, readonly member: Node) {
    super();
  }
  override left(): string {
    if (this.member instanceof FunctionType || (this.member instanceof Qualified && this.member.child instanceof FunctionType)) {
      return `${this.member.left()}(${this.cls.str()}::*`;
    }
    return `${this.member.str()} ${this.cls.str()}::*`;
  }
  override right(): string {
    if (this.member instanceof FunctionType || (this.member instanceof Qualified && this.member.child instanceof FunctionType)) return `)${this.member.right()}`;
    return '';
  }
}

/** A function's full name with its parameters: `[ret ]name(params)[ const]`. */
class Encoding extends Node {
  constructor(readonly name: Node, readonly ret: Node | null, readonly params: Node[], readonly suffix: string) {
    super();
  }
  override left(): string {
    return `${this.ret ? `${this.ret.str()} ` : ''}${this.name.str()}(${paramList(this.params)})${this.suffix}`;
  }
}

class Pack extends Node {
  constructor(readonly items: Node[]) {
    super();
  }
  override left(): string {
    return this.items.map((i) => i.str()).join(', ');
  }
}

function paramList(params: Node[]): string {
  // a lone `void` means no parameters
  if (params.length === 1 && params[0] instanceof Text && params[0].text === 'void') return '';
  return params.map((p) => p.str()).join(', ');
}

const BUILTINS: Record<string, string> = {
  v: 'void', w: 'wchar_t', b: 'bool', c: 'char', a: 'signed char', h: 'unsigned char', s: 'short', t: 'unsigned short',
  i: 'int', j: 'unsigned int', l: 'long', m: 'unsigned long', x: 'long long', y: 'unsigned long long', n: '__int128',
  o: 'unsigned __int128', f: 'float', d: 'double', e: 'long double', g: '__float128', z: '...',
};
const D_BUILTINS: Record<string, string> = {
  n: 'decltype(nullptr)', i: 'char32_t', s: 'char16_t', u: 'char8_t', a: 'auto', c: 'decltype(auto)', d: 'decimal64',
  e: 'decimal128', f: 'decimal32', h: 'half',
};
// c++filt prints the abbreviations of std::string and the streams in full
const TRAITS = 'std::char_traits<char>';
const STD_SUBS: Record<string, string> = {
  a: 'std::allocator', b: 'std::basic_string', s: `std::basic_string<char, ${TRAITS}, std::allocator<char> >`,
  i: `std::basic_istream<char, ${TRAITS} >`, o: `std::basic_ostream<char, ${TRAITS} >`, d: `std::basic_iostream<char, ${TRAITS} >`,
};
const OPERATORS: Record<string, string> = {
  nw: 'new', na: 'new[]', dl: 'delete', da: 'delete[]', ps: '+', ng: '-', ad: '&', de: '*', co: '~', pl: '+', mi: '-',
  ml: '*', dv: '/', rm: '%', an: '&', or: '|', eo: '^', aS: '=', pL: '+=', mI: '-=', mL: '*=', dV: '/=', rM: '%=',
  aN: '&=', oR: '|=', eO: '^=', ls: '<<', rs: '>>', lS: '<<=', rS: '>>=', eq: '==', ne: '!=', lt: '<', gt: '>',
  le: '<=', ge: '>=', ss: '<=>', nt: '!', aa: '&&', oo: '||', pp: '++', mm: '--', cm: ',', pm: '->*', pt: '->',
  cl: '()', ix: '[]', qu: '?', aw: 'co_await',
};

class Parser {
  private pos = 0;
  private readonly subs: Node[] = [];
  private templateArgs: Node[] = [];
  private depth = 0;
  /** Inside a type: template argument lists there do not rebind T_ (that names the function's own). */
  private typeDepth = 0;

  constructor(private readonly s: string) {}

  private peek(k = 0): string {
    return this.s[this.pos + k] ?? '';
  }
  private eat(t: string): boolean {
    if (this.s.startsWith(t, this.pos)) {
      this.pos += t.length;
      return true;
    }
    return false;
  }
  private need(t: string): void {
    if (!this.eat(t)) throw new Fail();
  }
  get done(): boolean {
    return this.pos >= this.s.length;
  }
  get rest(): string {
    return this.s.slice(this.pos);
  }

  private number(): number {
    const m = /^n?\d+/.exec(this.rest);
    if (!m) throw new Fail();
    this.pos += m[0].length;
    return m[0].startsWith('n') ? -Number(m[0].slice(1)) : Number(m[0]);
  }

  /** A base-36 sequence id before `_` (S_ = 0, S0_ = 1 ...; T_ = 0, T0_ = 1). */
  private seqId(): number {
    if (this.eat('_')) return 0;
    const m = /^[0-9A-Z]+_/.exec(this.rest);
    if (!m) throw new Fail();
    this.pos += m[0].length;
    return parseInt(m[0].slice(0, -1), 36) + 1;
  }

  private guard<T>(f: () => T): T {
    if (++this.depth > 200) throw new Fail();
    try {
      return f();
    } finally {
      this.depth--;
    }
  }

  /** <encoding> ::= <name> <bare-function-type> | <name> | <special-name> */
  encoding(): Node {
    return this.guard(() => {
      if (this.peek() === 'T' || (this.peek() === 'G' && /[VRT]/.test(this.peek(1)))) return this.specialName();
      const { node, cv, isTemplate, ctorDtor } = this.name();
      if (this.done || this.peek() === 'E' || this.peek() === '.') return node;
      // a template function (not a constructor or destructor) encodes its return type first
      const ret = isTemplate && !ctorDtor ? this.type() : null;
      const params: Node[] = [];
      while (!this.done && this.peek() !== 'E' && this.peek() !== '.') params.push(this.type());
      if (!params.length) throw new Fail();
      return new Encoding(node, ret, params, cv);
    });
  }

  private specialName(): Node {
    if (this.eat('TV')) return new Text(`vtable for ${this.type().str()}`);
    if (this.eat('TT')) return new Text(`VTT for ${this.type().str()}`);
    if (this.eat('TI')) return new Text(`typeinfo for ${this.type().str()}`);
    if (this.eat('TS')) return new Text(`typeinfo name for ${this.type().str()}`);
    if (this.eat('Th')) {
      this.number();
      this.need('_');
      return new Text(`non-virtual thunk to ${this.encoding().str()}`);
    }
    if (this.eat('Tv')) {
      this.number();
      this.need('_');
      this.number();
      this.need('_');
      return new Text(`virtual thunk to ${this.encoding().str()}`);
    }
    if (this.eat('Tc')) {
      for (let i = 0; i < 2; i++) {
        if (this.eat('h')) { this.number(); this.need('_'); } else { this.need('v'); this.number(); this.need('_'); this.number(); this.need('_'); }
      }
      return new Text(`covariant return thunk to ${this.encoding().str()}`);
    }
    if (this.eat('TW')) return new Text(`TLS wrapper function for ${this.name().node.str()}`);
    if (this.eat('TH')) return new Text(`TLS init function for ${this.name().node.str()}`);
    if (this.eat('GTt')) return new Text(`transaction clone for ${this.encoding().str()}`);
    if (this.eat('GV')) return new Text(`guard variable for ${this.name().node.str()}`);
    if (this.eat('GR')) {
      const n = this.name().node.str();
      if (!this.eat('_')) this.seqId();
      return new Text(`reference temporary #0 for ${n}`);
    }
    throw new Fail();
  }

  /**
   * <name>: nested (N...E), local (Z...E), unscoped (optionally St), each
   * possibly with template arguments. `cv` is a member function's
   * qualifiers; `ctorDtor` marks constructors and destructors.
   */
  private name(): { node: Node; cv: string; isTemplate: boolean; ctorDtor: boolean } {
    if (this.peek() === 'N') return this.nestedName();
    if (this.peek() === 'Z') return this.localName();
    let node: Node;
    let ctorDtor = false;
    if (this.peek() === 'S' && this.peek(1) !== 't') {
      node = this.substitution();
      if (this.peek() !== 'I') throw new Fail();
    } else {
      const std = this.eat('St');
      const u = this.unqualifiedName(null);
      ctorDtor = u.ctorDtor;
      node = std ? new Nested(new Text('std'), u.node) : u.node;
    }
    if (this.peek() === 'I') {
      this.subs.push(node);
      node = new Template(node, this.templateArgList());
      return { node, cv: '', isTemplate: true, ctorDtor };
    }
    return { node, cv: '', isTemplate: false, ctorDtor };
  }

  private cvQualifiers(): string {
    const q: string[] = [];
    if (this.eat('r')) q.push('restrict');
    if (this.eat('V')) q.push('volatile');
    if (this.eat('K')) q.push('const');
    return q.join(' ');
  }

  private nestedName(): { node: Node; cv: string; isTemplate: boolean; ctorDtor: boolean } {
    this.need('N');
    const cv = this.cvQualifiers();
    let ref = '';
    if (this.eat('R')) ref = ' &';
    else if (this.eat('O')) ref = ' &&';
    let node: Node | null = null;
    let isTemplate = false;
    let ctorDtor = false;
    while (!this.eat('E')) {
      if (this.done) throw new Fail();
      isTemplate = false;
      // a constructor template (C1I...E) is still a constructor: no return type
      if (this.peek() !== 'I') ctorDtor = false;
      if (this.peek() === 'S' && this.peek(1) !== 't') {
        if (node) throw new Fail();
        node = this.substitution();
        continue; // a substitution is already in the table
      } else if (this.peek() === 'I') {
        if (!node) throw new Fail();
        node = new Template(node, this.templateArgList());
        isTemplate = true;
      } else if (this.peek() === 'T') {
        if (node) throw new Fail();
        node = this.templateParam();
      } else if (this.peek() === 'D' && /[tT]/.test(this.peek(1))) {
        throw new Fail(); // decltype prefixes: rare in symbols
      } else {
        if (this.eat('St')) {
          if (node) throw new Fail();
          node = new Text('std');
        }
        const u = this.unqualifiedName(node);
        ctorDtor = u.ctorDtor;
        node = node ? new Nested(node, u.node) : u.node;
      }
      if (this.peek() !== 'E') this.subs.push(node);
    }
    if (!node) throw new Fail();
    return { node, cv: (cv ? ` ${cv}` : '') + ref, isTemplate, ctorDtor };
  }

  private localName(): { node: Node; cv: string; isTemplate: boolean; ctorDtor: boolean } {
    this.need('Z');
    const fn = this.encoding();
    this.need('E');
    if (this.eat('s')) {
      this.discriminator();
      return { node: new Nested(fn, new Text('string literal')), cv: '', isTemplate: false, ctorDtor: false };
    }
    if (this.eat('d')) {
      if (this.peek() !== '_') this.number();
      this.need('_');
    }
    const inner = this.name();
    this.discriminator();
    return { ...inner, node: new Nested(fn, inner.node) };
  }

  private discriminator(): void {
    if (this.eat('__')) {
      this.number();
      this.need('_');
    } else if (this.eat('_')) this.number();
  }

  /** <unqualified-name>: source names, operators, constructors/destructors, unnamed types, with [abi:tag]s. */
  private unqualifiedName(scope: Node | null): { node: Node; ctorDtor: boolean } {
    let node: Node;
    let ctorDtor = false;
    const c = this.peek();
    if (/\d/.test(c)) node = this.sourceName();
    else if (c === 'C' && /[1-5I]/.test(this.peek(1))) {
      this.pos++;
      this.eat('I');
      this.pos++;
      if (!scope) throw new Fail();
      node = new Text(lastComponent(scope));
      ctorDtor = true;
    } else if (c === 'D' && /[0-5]/.test(this.peek(1))) {
      this.pos += 2;
      if (!scope) throw new Fail();
      node = new Text(`~${lastComponent(scope)}`);
      ctorDtor = true;
    } else if (c === 'U' && this.peek(1) === 't') {
      this.pos += 2;
      const n = this.peek() === '_' ? 1 : this.number() + 2;
      this.need('_');
      node = new Text(`{unnamed type#${n}}`);
    } else if (c === 'U' && this.peek(1) === 'l') {
      this.pos += 2;
      const params: Node[] = [];
      while (!this.eat('E')) params.push(this.type());
      const n = this.peek() === '_' ? 1 : this.number() + 2;
      this.need('_');
      node = new Text(`{lambda(${paramList(params)})#${n}}`);
    } else if (c === 'L') {
      this.pos++;
      node = this.sourceName();
      this.discriminator();
    } else node = this.operatorName();
    while (this.eat('B')) node = new AbiTagged(node, this.sourceIdentifier());
    return { node, ctorDtor };
  }

  private sourceIdentifier(): string {
    const n = this.number();
    if (n <= 0 || this.pos + n > this.s.length) throw new Fail();
    const id = this.s.slice(this.pos, this.pos + n);
    this.pos += n;
    return id;
  }

  private sourceName(): Node {
    const id = this.sourceIdentifier();
    return new Text(id.startsWith('_GLOBAL__N') ? '(anonymous namespace)' : id);
  }

  private operatorName(): Node {
    if (this.eat('cv')) return new Text(`operator ${this.type().str()}`);
    if (this.eat('li')) return new Text(`operator"" ${this.sourceIdentifier()}`);
    const op = OPERATORS[this.s.slice(this.pos, this.pos + 2)];
    if (!op) throw new Fail();
    this.pos += 2;
    return new Text(/^[a-z]/.test(op) ? `operator ${op}` : `operator${op}`);
  }

  private substitution(): Node {
    this.need('S');
    const c = this.peek();
    if (STD_SUBS[c]) {
      this.pos++;
      return new Text(STD_SUBS[c]);
    }
    const id = this.seqId();
    const n = this.subs[id];
    if (!n) throw new Fail();
    return n;
  }

  private templateParam(): Node {
    this.need('T');
    const id = this.seqId();
    const n = this.templateArgs[id];
    if (!n) throw new Fail();
    return n;
  }

  private templateArgList(): Node[] {
    this.need('I');
    const args: Node[] = [];
    while (!this.eat('E')) {
      if (this.done) throw new Fail();
      args.push(this.templateArg());
    }
    if (this.typeDepth === 0) this.templateArgs = args;
    return args;
  }

  private templateArg(): Node {
    if (this.peek() === 'L') return this.literal();
    if (this.eat('J')) {
      const items: Node[] = [];
      while (!this.eat('E')) items.push(this.templateArg());
      return new Pack(items);
    }
    if (this.peek() === 'X') throw new Fail(); // expressions: rare in symbols
    return this.type();
  }

  private literal(): Node {
    this.need('L');
    if (this.eat('_Z')) {
      const e = this.encoding();
      this.need('E');
      return e;
    }
    const t = this.type();
    const m = /^n?[0-9a-f]*/.exec(this.rest);
    const v = m ? m[0] : '';
    this.pos += v.length;
    this.need('E');
    const num = v.startsWith('n') ? `-${v.slice(1)}` : v;
    const ts = t.str();
    if (ts === 'bool') return new Text(num === '0' ? 'false' : 'true');
    if (ts === 'int') return new Text(num);
    if (ts === 'unsigned int') return new Text(`${num}u`);
    if (ts === 'long') return new Text(`${num}l`);
    if (ts === 'unsigned long') return new Text(`${num}ul`);
    if (ts === 'long long') return new Text(`${num}ll`);
    if (ts === 'unsigned long long') return new Text(`${num}ull`);
    return new Text(`(${ts})${num}`);
  }

  /** <type>: builtins, qualifiers, pointers/references, functions, arrays, names, substitutions, template parameters. */
  type(): Node {
    this.typeDepth++;
    try {
      return this.typeInner();
    } finally {
      this.typeDepth--;
    }
  }

  private typeInner(): Node {
    return this.guard(() => {
      const c = this.peek();
      if (BUILTINS[c]) {
        this.pos++;
        return new Text(BUILTINS[c]);
      }
      if (c === 'D' && D_BUILTINS[this.peek(1)]) {
        this.pos += 2;
        return new Text(D_BUILTINS[this.s[this.pos - 1]]);
      }
      if (c === 'u') {
        this.pos++;
        return this.keep(this.sourceName());
      }
      if (c === 'r' || c === 'V' || c === 'K') {
        const q = this.cvQualifiers();
        return this.keep(new Qualified(this.type(), q));
      }
      if (c === 'P') { this.pos++; return this.keep(new Indirect(this.type(), '*')); }
      if (c === 'R') { this.pos++; return this.keep(new Indirect(this.type(), '&')); }
      if (c === 'O') { this.pos++; return this.keep(new Indirect(this.type(), '&&')); }
      if (c === 'C') { this.pos++; return this.keep(new Text(`${this.type().str()} _Complex`)); }
      if (c === 'G') { this.pos++; return this.keep(new Text(`${this.type().str()} _Imaginary`)); }
      if (c === 'F') return this.keep(this.functionType());
      if (c === 'A') {
        this.pos++;
        let dim = '';
        if (/\d/.test(this.peek())) dim = String(this.number());
        this.need('_');
        return this.keep(new ArrayType(this.type(), dim));
      }
      if (c === 'M') {
        this.pos++;
        const cls = this.type();
        return this.keep(new MemberPointer(cls, this.type()));
      }
      if (c === 'D' && this.peek(1) === 'p') {
        this.pos += 2;
        return this.keep(new Text(`${this.type().str()}...`));
      }
      if (c === 'T') {
        let t = this.templateParam();
        this.subs.push(t);
        if (this.peek() === 'I') {
          t = new Template(t, this.templateArgList());
          this.subs.push(t);
        }
        return t;
      }
      if (c === 'S') {
        if (this.peek(1) === 't') {
          const n = this.name().node;
          return this.keep(n);
        }
        let t = this.substitution();
        if (this.peek() === 'I') {
          t = new Template(t, this.templateArgList());
          this.subs.push(t);
        }
        return t;
      }
      if (c === 'N' || c === 'Z' || /\d/.test(c)) return this.keep(this.name().node);
      throw new Fail();
    });
  }

  private keep(n: Node): Node {
    this.subs.push(n);
    return n;
  }

  private functionType(): Node {
    this.need('F');
    this.eat('Y'); // extern "C"
    const ret = this.type();
    const params: Node[] = [];
    let suffix = '';
    for (;;) {
      if (this.eat('E')) break;
      if (this.eat('RE')) { suffix = ' &'; break; }
      if (this.eat('OE')) { suffix = ' &&'; break; }
      if (this.done) throw new Fail();
      params.push(this.type());
    }
    return new FunctionType(ret, params, suffix);
  }
}

function lastComponent(n: Node): string {
  if (n instanceof Nested) return lastComponent(n.name);
  if (n instanceof Template) return lastComponent(n.name);
  if (n instanceof AbiTagged) return lastComponent(n.base);
  // Ss, Si ... as a scope: their constructors are basic_string's, basic_istream's ...
  const s = n.str().replace(/<.*$/, '');
  const at = s.lastIndexOf('::');
  return at < 0 ? s : s.slice(at + 2);
}

const cache = new Map<string, string>();

/** The demangled form of an Itanium-mangled C++ symbol; anything else (or what cannot be parsed) as given. */
export function demangle(symbol: string): string {
  if (!symbol.startsWith('_Z')) return symbol;
  const hit = cache.get(symbol);
  if (hit !== undefined) return hit;
  let out = symbol;
  try {
    // GCC's clone suffixes (.cold, .isra.0, .constprop.1 ...) print as [clone .cold]
    const dot = symbol.search(/\.[A-Za-z_]/);
    const base = dot > 0 ? symbol.slice(0, dot) : symbol;
    const p = new Parser(base.slice(2));
    const n = p.encoding();
    if (p.done) {
      const clones = dot > 0 ? symbol.slice(dot).match(/\.[A-Za-z_]+(\.\d+)*/g) ?? [] : [];
      out = n.str() + clones.map((c) => ` [clone ${c}]`).join('');
    }
  } catch {
    out = symbol; // not something this parser knows: print it mangled, as it is
  }
  if (cache.size > 100_000) cache.clear();
  cache.set(symbol, out);
  return out;
}
