// The last known state of each background job (recover, repair, scrub, audit), kept from the bus:
// the overview shows what ran or runs now even when it started before the page was opened; the
// page follows on live from the `job` events of /api/events.
import type { EventBus, ProgressEvent } from '../../events/index.ts'

export interface JobState extends ProgressEvent { at: string }

export class JobLog {
  private readonly last = new Map<ProgressEvent['job'], JobState>()
  private readonly off: () => void

  constructor (events: EventBus) {
    this.off = events.on('job:progress', (event) => { this.last.set(event.job, { ...event, at: new Date().toISOString() }) })
  }

  /** One entry per job that ran since the node started, its latest event. */
  states (): JobState[] {
    return [...this.last.values()]
  }

  close (): void {
    this.off()
  }
}
