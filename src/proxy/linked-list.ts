// A doubly linked list through its entries' own fields: appending and removing allocate nothing,
// and a removed entry keeps no link to the others, so a removed entry that has reached the old
// generation cannot keep newer requests' objects alive (see OpenResponse in runtime/server.ts).
// Used for a listener's open responses and for the request_timeout deadline queue.

/** The fields an entry carries for the list it is in (one list at a time). */
export interface Linked<T> {
  listPrev: T | undefined;
  listNext: T | undefined;
  /** Whether the entry is in a list now. */
  listed: boolean;
}

export class LinkedList<T extends Linked<T>> {
  head: T | undefined;
  private tail: T | undefined;

  append(entry: T): void {
    entry.listPrev = this.tail;
    entry.listNext = undefined;
    entry.listed = true;
    if (this.tail === undefined) this.head = entry;
    else this.tail.listNext = entry;
    this.tail = entry;
  }

  /** Takes `entry` out and clears its links; a no-op when it is not in the list. */
  remove(entry: T): void {
    if (!entry.listed) return;
    entry.listed = false;
    const { listPrev: prev, listNext: next } = entry;
    if (prev === undefined) this.head = next;
    else prev.listNext = next;
    if (next === undefined) this.tail = prev;
    else next.listPrev = prev;
    entry.listPrev = undefined;
    entry.listNext = undefined;
  }

  /** Entries in the list now (tests and diagnostics; walks the list). */
  get size(): number {
    let count = 0;
    for (let entry = this.head; entry !== undefined; entry = entry.listNext) count++;
    return count;
  }
}
