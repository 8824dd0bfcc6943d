import type { OutboxEvent } from '../../domain/outbox-event.js';
import type { ActivityWindow } from './audit-repository.js';

export interface OutboxRepository {
  append(event: OutboxEvent): Promise<void>;
  /**
   * Rotation rejections per interval, summed from the `TokenRejectedDueToRotation`
   * roll-up events whose window ended inside it (`bucket` 0 starts at `since`). Only
   * non-empty intervals are returned.
   */
  rejectionsByInterval(window: ActivityWindow): Promise<
    readonly {
      readonly bucket: number;
      readonly globalRotation: number;
      readonly userRotation: number;
    }[]
  >;
}
