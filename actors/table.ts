/**
 * A keyed table inside an actor's state, for state that grows with the actor's work (a domain's
 * waiting recipients): the runtime persists only the rows a turn changed (a delta on the
 * changelog) instead of the whole state, and a transition changes rows in place instead of
 * copying the collection. Rows are values: replace a row to change it (`set(id, {...old, x})`),
 * never mutate one in place.
 *
 * Transactional per transition: the runtime calls `begin()` before a message and `rollback()`
 * if the transition throws, so a failed transition still changes nothing. Iteration order is
 * insertion order (a JavaScript Map's), also after a restore.
 */
export class Table<T> {
  private readonly rows = new Map<string, T>();
  /** Ids changed since the runtime last persisted the table. */
  private readonly dirty = new Set<string>();
  /** Previous value of each row the running transition changed (`undefined`: it did not exist). */
  private readonly undo = new Map<string, T | undefined>();

  get size(): number {
    return this.rows.size;
  }

  get(id: string): T | undefined {
    return this.rows.get(id);
  }

  has(id: string): boolean {
    return this.rows.has(id);
  }

  set(id: string, row: T): void {
    this.remember(id);
    this.rows.set(id, row);
  }

  delete(id: string): boolean {
    if (!this.rows.has(id)) return false;
    this.remember(id);
    this.rows.delete(id);
    return true;
  }

  /** Rows changed since the runtime last persisted the table. */
  get changed(): boolean {
    return this.dirty.size > 0;
  }

  keys(): IterableIterator<string> {
    return this.rows.keys();
  }

  values(): IterableIterator<T> {
    return this.rows.values();
  }

  entries(): IterableIterator<[string, T]> {
    return this.rows.entries();
  }

  private remember(id: string): void {
    if (!this.undo.has(id)) this.undo.set(id, this.rows.get(id));
    this.dirty.add(id);
  }

  // ---- for the runtime ----

  /** A transition starts: changes from here on can be rolled back. */
  begin(): void {
    this.undo.clear();
  }

  /** The transition succeeded: its changes stay (and are no longer held for a rollback). */
  commit(): void {
    this.undo.clear();
  }

  /** The transition threw: every row it changed gets its previous value back. */
  rollback(): void {
    for (const [id, old] of this.undo) {
      if (old === undefined) this.rows.delete(id);
      else this.rows.set(id, old);
    }
    this.undo.clear();
  }

  /** Rows changed since the last call, as upserts and deletions; clears the change set. */
  takeChanges(): { put: [string, T][]; del: string[] } {
    const put: [string, T][] = [];
    const del: string[] = [];
    for (const id of this.dirty) {
      const row = this.rows.get(id);
      if (row === undefined) del.push(id);
      else put.push([id, row]);
    }
    this.dirty.clear();
    return { put, del };
  }

  /** Every row (for a full snapshot); clears the change set. */
  takeAll(): [string, T][] {
    this.dirty.clear();
    return [...this.rows];
  }

  /** Restore: rows from a full snapshot, then each delta in order. Not a change. */
  load(put: readonly [string, T][], del: readonly string[] = []): void {
    for (const [id, row] of put) this.rows.set(id, row);
    for (const id of del) this.rows.delete(id);
  }
}
