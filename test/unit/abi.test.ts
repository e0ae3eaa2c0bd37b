/**
 * The hand-written kernel ABI offsets (src/sys/bpf.ts, src/sys/perf.ts, the
 * pt_regs tables of src/arch and src/ebpf/usdt.ts) against src/sys/abi.ts,
 * which test/kernel/abi.test.ts checks against the running kernel's BTF.
 * Each row is [struct member, the literal the code uses].
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BPF_ATTR, BPF_LINK_INFO, BPF_MAP_INFO, BPF_PROG_INFO, PERF_EVENT_ATTR, PT_REGS } from '../../src/sys/abi';
import { X86_64 } from '../../src/arch/x86_64';
import { PT_REGS_X86_64, PT_REGS_SIZE_X86_64 } from '../../src/ebpf/usdt';
import { PERF_ATTR_SIZE } from '../../src/sys/perf';
import { PT_REGS_SIZE } from '../../src/sys/abi';

function check(table: Record<string, number>, rows: [string, number][], what: string): void {
  for (const [field, used] of rows) assert.equal(table[field], used, `${what}.${field}: the code uses ${used}, BTF says ${table[field]}`);
}

test('bpf_attr offsets written by sys/bpf.ts match BTF', () => {
  check(BPF_ATTR.map_create, [['map_type', 0], ['key_size', 4], ['value_size', 8], ['max_entries', 12], ['map_flags', 16], ['inner_map_fd', 20],
    ['numa_node', 24], ['map_name', 28], ['btf_fd', 48], ['btf_key_type_id', 52], ['btf_value_type_id', 56], ['btf_vmlinux_value_type_id', 60], ['map_extra', 64]], 'map_create');
  check(BPF_ATTR.map_elem, [['map_fd', 0], ['key', 8], ['value', 16], ['next_key', 16], ['flags', 24]], 'map_elem');
  check(BPF_ATTR.batch, [['in_batch', 0], ['out_batch', 8], ['keys', 16], ['values', 24], ['count', 32], ['map_fd', 36], ['elem_flags', 40]], 'batch');
  check(BPF_ATTR.prog_load, [['prog_type', 0], ['insn_cnt', 4], ['insns', 8], ['license', 16], ['log_level', 24], ['log_size', 28], ['log_buf', 32],
    ['kern_version', 40], ['prog_flags', 44], ['prog_name', 48], ['expected_attach_type', 68], ['prog_btf_fd', 72], ['func_info_rec_size', 76],
    ['func_info', 80], ['func_info_cnt', 88], ['attach_btf_id', 108], ['attach_prog_fd', 112], ['attach_btf_obj_fd', 112], ['log_true_size', 140]], 'prog_load');
  check(BPF_ATTR.test, [['prog_fd', 0], ['retval', 4], ['data_size_in', 8], ['data_size_out', 12], ['data_in', 16], ['data_out', 24], ['repeat', 32],
    ['duration', 36], ['ctx_size_in', 40], ['ctx_size_out', 44], ['ctx_in', 48], ['ctx_out', 56], ['flags', 64], ['cpu', 68]], 'test');
  check(BPF_ATTR.get_id, [['start_id', 0], ['prog_id', 0], ['map_id', 0], ['next_id', 4], ['open_flags', 8]], 'get_id');
  check(BPF_ATTR.obj, [['pathname', 0], ['bpf_fd', 8], ['file_flags', 12]], 'obj');
  check(BPF_ATTR.info, [['bpf_fd', 0], ['info_len', 4], ['info', 8]], 'info');
  check(BPF_ATTR.raw_tracepoint, [['name', 0], ['prog_fd', 8]], 'raw_tracepoint');
});

test('bpf_prog_info / bpf_map_info / bpf_link_info offsets read by sys/bpf.ts match BTF', () => {
  check(BPF_PROG_INFO, [['type', 0], ['id', 4], ['tag', 8], ['jited_prog_len', 16], ['xlated_prog_len', 20], ['jited_prog_insns', 24],
    ['xlated_prog_insns', 32], ['load_time', 40], ['created_by_uid', 48], ['nr_map_ids', 52], ['map_ids', 56], ['name', 64], ['ifindex', 80],
    ['netns_dev', 88], ['netns_ino', 96], ['nr_jited_ksyms', 104], ['nr_jited_func_lens', 108], ['jited_ksyms', 112], ['jited_func_lens', 120],
    ['btf_id', 128], ['nr_func_info', 144], ['nr_line_info', 148], ['run_time_ns', 192], ['run_cnt', 200], ['recursion_misses', 208],
    ['verified_insns', 216], ['attach_btf_obj_id', 220], ['attach_btf_id', 224]], 'bpf_prog_info');
  check(BPF_MAP_INFO, [['type', 0], ['id', 4], ['key_size', 8], ['value_size', 12], ['max_entries', 16], ['map_flags', 20], ['name', 24],
    ['ifindex', 40], ['btf_vmlinux_value_type_id', 44], ['netns_dev', 48], ['netns_ino', 56], ['btf_id', 64], ['btf_key_type_id', 68],
    ['btf_value_type_id', 72], ['map_extra', 80]], 'bpf_map_info');
  check(BPF_LINK_INFO, [['type', 0], ['id', 4], ['prog_id', 8], ['raw_tracepoint', 16], ['tracing', 16], ['perf_event', 16]], 'bpf_link_info');
});

test('perf_event_attr offsets written by sys/perf.ts match BTF', () => {
  check(PERF_EVENT_ATTR, [['type', 0], ['size', 4], ['config', 8], ['sample_period', 16], ['sample_freq', 16], ['sample_type', 24],
    ['read_format', 32], ['wakeup_events', 48], ['bp_type', 52], ['config1', 56], ['bp_addr', 56], ['config2', 64], ['bp_len', 64],
    ['clockid', 92], ['sample_max_stack', 108]], 'perf_event_attr');
  // the flags word (disabled, inherit, ...) is the bitfield between read_format and wakeup_events
  assert.equal(PERF_EVENT_ATTR.read_format + 8, 40);
  assert.ok(PERF_ATTR_SIZE <= 136 && PERF_ATTR_SIZE >= PERF_EVENT_ATTR.sample_max_stack + 2, 'the attr size tsbpf passes covers every field it writes');
});

test('pt_regs: the architecture module and the USDT register table match BTF', () => {
  for (const [reg, off] of Object.entries(X86_64.ptRegs)) assert.equal(PT_REGS[reg as keyof typeof PT_REGS], off, `arch x86_64 pt_regs.${reg}`);
  assert.equal(X86_64.ptRegsSize, PT_REGS_SIZE);
  assert.equal(PT_REGS_SIZE_X86_64, PT_REGS_SIZE);
  // usdt.ts names registers as the assembler does (rax, rip, eflags): the same slots
  const asmName: Record<string, string> = { rbp: 'bp', rbx: 'bx', rax: 'ax', rcx: 'cx', rdx: 'dx', rsi: 'si', rdi: 'di', orig_rax: 'orig_ax', rip: 'ip', eflags: 'flags', rsp: 'sp' };
  for (const [reg, off] of Object.entries(PT_REGS_X86_64)) assert.equal(PT_REGS[(asmName[reg] ?? reg) as keyof typeof PT_REGS], off, `usdt pt_regs.${reg}`);
});
