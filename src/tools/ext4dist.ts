/** ext4dist: latency histograms of ext4 reads, writes, opens and fsyncs (bcc ext4dist); see common/fsdist.ts. */
import { fsdistTool } from './common/fsdist';
import { EXT4 } from './common/fsslower';

export const tool = fsdistTool(EXT4);
