/** ext4slower: ext4 reads, writes, opens and fsyncs slower than a threshold (bcc ext4slower); see common/fsslower.ts. */
import { EXT4, fsslowerTool } from './common/fsslower';

export const tool = fsslowerTool(EXT4);
