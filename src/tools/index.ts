/** Registers every tool. Each entry loads its module on first use. */
import { register } from './registry';
import type { ToolDef } from './tool';

// A literal require per tool, so the CLI bundle (scripts/build.js, esbuild) can see and include each module;
// it still runs only when the tool is used.
const tool = (load: () => unknown) => () => (load() as { tool: ToolDef }).tool;

register('bitesize', tool(() => require('./bitesize')));
register('execsnoop', tool(() => require('./execsnoop')));
register('opensnoop', tool(() => require('./opensnoop')));
register('biolatency', tool(() => require('./biolatency')));
register('runqlat', tool(() => require('./runqlat')));
register('syscount', tool(() => require('./syscount')));
register('tplist', tool(() => require('./tplist')));
register('vfsstat', tool(() => require('./vfsstat')));
register('funccount', tool(() => require('./funccount')));
register('gethostlatency', tool(() => require('./gethostlatency')));
register('trace', tool(() => require('./trace')));
register('profile', tool(() => require('./profile')));
register('argdist', tool(() => require('./argdist')));
register('stackcount', tool(() => require('./stackcount')));
register('offcputime', tool(() => require('./offcputime')));
register('tcplife', tool(() => require('./tcplife')));
register('killsnoop', tool(() => require('./killsnoop')));
register('sigsnoop', tool(() => require('./sigsnoop')));
register('exitsnoop', tool(() => require('./exitsnoop')));
register('tcpstates', tool(() => require('./tcpstates')));
register('tcpconnect', tool(() => require('./tcpconnect')));
register('tcpaccept', tool(() => require('./tcpaccept')));
register('statsnoop', tool(() => require('./statsnoop')));
register('syncsnoop', tool(() => require('./syncsnoop')));
register('mountsnoop', tool(() => require('./mountsnoop')));
register('biosnoop', tool(() => require('./biosnoop')));
register('cpudist', tool(() => require('./cpudist')));
register('runqslower', tool(() => require('./runqslower')));
register('funclatency', tool(() => require('./funclatency')));
register('memleak', tool(() => require('./memleak')));
register('oomkill', tool(() => require('./oomkill')));
register('llcstat', tool(() => require('./llcstat')));
register('vfscount', tool(() => require('./vfscount')));
register('filelife', tool(() => require('./filelife')));
register('capable', tool(() => require('./capable')));
register('solisten', tool(() => require('./solisten')));
register('shmsnoop', tool(() => require('./shmsnoop')));
register('softirqs', tool(() => require('./softirqs')));
register('hardirqs', tool(() => require('./hardirqs')));
register('wakeuptime', tool(() => require('./wakeuptime')));
register('drsnoop', tool(() => require('./drsnoop')));
