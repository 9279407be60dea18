/**
 * The executions waiting for one account, one queue per recorder, served round-robin: each recorder's
 * signals stay in their order, and a flood on one recorder delays another recorder's signal on the same
 * account by at most one execution: a recorder with nothing waiting is served next, as soon as the
 * running execution ends.
 */
import type { ExecutionJob } from "./executor";

export class AccountLane {
  private readonly queues = new Map<string, ExecutionJob[]>();
  /** Recorders with work, in the order they are served; the head is served next. */
  private readonly turn: string[] = [];
  private lastServed: string | undefined;
  /** The pump running this lane's executions one at a time, while there are any. */
  running: Promise<void> | undefined;

  push(job: ExecutionJob): void {
    const q = this.queues.get(job.recorderId);
    if (q) q.push(job);
    else {
      // A recorder that had nothing waiting goes next (behind at most the execution already running),
      // unless it was also the last one served: then the others' turn comes first, so none starves.
      this.queues.set(job.recorderId, [job]);
      if (job.recorderId === this.lastServed) this.turn.push(job.recorderId);
      else this.turn.unshift(job.recorderId);
    }
  }

  /** The next execution: the head of the next recorder's queue; that recorder goes to the back. */
  take(): ExecutionJob | undefined {
    const recorder = this.turn.shift();
    if (recorder === undefined) return undefined;
    const q = this.queues.get(recorder) as ExecutionJob[];
    const job = q.shift();
    this.lastServed = recorder;
    if (q.length > 0) this.turn.push(recorder);
    else this.queues.delete(recorder);
    return job;
  }

  get size(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.length;
    return n;
  }
}
