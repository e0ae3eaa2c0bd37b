/** Registers every tool. Each entry loads its module on first use. */
import { register } from './registry';
import type { ToolDef } from './tool';

const tool = (file: string) => () => (require(file) as { tool: ToolDef }).tool;

register('bitesize', tool('./bitesize'));
register('execsnoop', tool('./execsnoop'));
register('opensnoop', tool('./opensnoop'));
register('biolatency', tool('./biolatency'));
register('runqlat', tool('./runqlat'));
register('syscount', tool('./syscount'));
register('tplist', tool('./tplist'));
register('vfsstat', tool('./vfsstat'));
register('funccount', tool('./funccount'));
register('gethostlatency', tool('./gethostlatency'));
register('trace', tool('./trace'));
register('profile', tool('./profile'));
register('argdist', tool('./argdist'));
register('stackcount', tool('./stackcount'));
register('offcputime', tool('./offcputime'));
register('tcplife', tool('./tcplife'));
register('killsnoop', tool('./killsnoop'));
register('sigsnoop', tool('./sigsnoop'));
register('exitsnoop', tool('./exitsnoop'));
register('tcpstates', tool('./tcpstates'));
register('tcpconnect', tool('./tcpconnect'));
register('tcpaccept', tool('./tcpaccept'));
register('statsnoop', tool('./statsnoop'));
register('syncsnoop', tool('./syncsnoop'));
register('mountsnoop', tool('./mountsnoop'));
register('biosnoop', tool('./biosnoop'));
register('cpudist', tool('./cpudist'));
