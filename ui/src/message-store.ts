// The messages of the open conversation, in display order: stored ones by `seq`, then pending
// ones (seq null) in the order they were created. Rust decides every message's content and
// state; this only keeps what it sent, keyed by `client_id`.

import type { MessageView } from "./ipc";

export class MessageStore {
  private readonly byClientId = new Map<string, MessageView>();
  /** Insertion order of pending messages, for ties in creation time. */
  private readonly arrival = new Map<string, number>();
  private nextArrival = 0;
  private sorted: MessageView[] = [];

  get size(): number {
    return this.sorted.length;
  }

  /** Display order. The array is replaced on every change, never mutated. */
  list(): readonly MessageView[] {
    return this.sorted;
  }

  get(clientId: string): MessageView | undefined {
    return this.byClientId.get(clientId);
  }

  has(clientId: string): boolean {
    return this.byClientId.has(clientId);
  }

  clear(): void {
    this.byClientId.clear();
    this.arrival.clear();
    this.sorted = [];
  }

  /** Lowest `seq` held, for `load_older`. */
  oldestSeq(): number | null {
    for (const message of this.sorted) {
      if (message.seq !== null) {
        return message.seq;
      }
    }
    return null;
  }

  /** Adds or replaces messages (by client_id); returns whether anything changed. */
  upsert(messages: readonly MessageView[]): boolean {
    if (messages.length === 0) {
      return false;
    }
    let next = this.sorted;
    let copied = false;
    for (const message of messages) {
      if (!copied) {
        next = [...next];
        copied = true;
      }
      const previous = this.byClientId.get(message.client_id);
      if (previous !== undefined) {
        const at = this.indexIn(next, previous);
        if (at >= 0) {
          next.splice(at, 1);
        }
      }
      if (!this.arrival.has(message.client_id)) {
        this.arrival.set(message.client_id, this.nextArrival);
        this.nextArrival += 1;
      }
      this.byClientId.set(message.client_id, message);
      next.splice(this.insertionPoint(next, message), 0, message);
    }
    this.sorted = next;
    return true;
  }

  remove(clientId: string): boolean {
    const previous = this.byClientId.get(clientId);
    if (previous === undefined) {
      return false;
    }
    const next = [...this.sorted];
    const at = this.indexIn(next, previous);
    if (at >= 0) {
      next.splice(at, 1);
    }
    this.byClientId.delete(clientId);
    this.arrival.delete(clientId);
    this.sorted = next;
    return true;
  }

  private compare(a: MessageView, b: MessageView): number {
    if (a.seq !== null && b.seq !== null) {
      return a.seq - b.seq;
    }
    if (a.seq !== null) {
      return -1;
    }
    if (b.seq !== null) {
      return 1;
    }
    return (
      a.created_at - b.created_at ||
      (this.arrival.get(a.client_id) ?? 0) - (this.arrival.get(b.client_id) ?? 0)
    );
  }

  /** First position whose message sorts after `message` (binary search). */
  private insertionPoint(list: readonly MessageView[], message: MessageView): number {
    let low = 0;
    let high = list.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      const other = list[middle];
      if (other !== undefined && this.compare(other, message) <= 0) {
        low = middle + 1;
      } else {
        high = middle;
      }
    }
    return low;
  }

  /** Position of a stored message object, found by binary search on its sort key. */
  private indexIn(list: readonly MessageView[], message: MessageView): number {
    const at = this.insertionPoint(list, message) - 1;
    if (list[at] === message) {
      return at;
    }
    // Equal keys (should not happen with seq, possible for pending): fall back to a scan.
    return list.indexOf(message);
  }
}
