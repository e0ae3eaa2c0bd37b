/**
 * The part of bpftrace 0.26's standard library that is written in the
 * language itself, as tsbpf macros (F34, F36, F37): available to every
 * script, replaced by a user macro of the same name and arity, expanded only
 * where used (lang/desugar.ts).
 */
export const STDLIB_SOURCE = `
macro assert(cond, msg) { if (!(cond)) { errorf("assert failed: %s", msg); exit(1); } }
macro ppid(task) { task.real_parent.pid }
macro ppid() { ppid(curtask) }
macro pcomm(task) { task.real_parent.comm }
macro pcomm() { pcomm(curtask) }
macro leader_tid(task) { task.group_leader.pid }
macro leader_tid() { leader_tid(curtask) }
macro leader_comm(task) { task.group_leader.comm }
macro leader_comm() { leader_comm(curtask) }
macro config() { __builtin_config }
`;

/** Names the standard library defines (a program using none of them is not rebuilt). */
export const STDLIB_NAMES: ReadonlySet<string> = new Set(['assert', 'ppid', 'pcomm', 'leader_tid', 'leader_comm', 'config']);
