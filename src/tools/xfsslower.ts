/** xfsslower: xfs reads, writes, opens and fsyncs slower than a threshold (bcc xfsslower); see common/fsslower.ts. */
import { XFS, fsslowerTool } from './common/fsslower';

export const tool = fsslowerTool(XFS);
