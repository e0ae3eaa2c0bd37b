/** xfsdist: latency histograms of xfs reads, writes, opens and fsyncs (bcc xfsdist); see common/fsdist.ts. */
import { fsdistTool } from './common/fsdist';
import { XFS } from './common/fsslower';

export const tool = fsdistTool(XFS);
