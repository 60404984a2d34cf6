/** A binary min-heap ordered by a numeric key; O(log n) push and pop. */
export class MinHeap<T> {
  readonly #items: { key: number; value: T }[] = [];

  get size(): number {
    return this.#items.length;
  }

  peekKey(): number | undefined {
    return this.#items[0]?.key;
  }

  push(key: number, value: T): void {
    const items = this.#items;
    items.push({ key, value });
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent]!;
      const c = items[i]!;
      if (p.key <= c.key) break;
      items[parent] = c;
      items[i] = p;
      i = parent;
    }
  }

  pop(): T | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined) return undefined;
    if (items.length > 0) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let smallest = i;
        if (l < items.length && items[l]!.key < items[smallest]!.key) smallest = l;
        if (r < items.length && items[r]!.key < items[smallest]!.key) smallest = r;
        if (smallest === i) break;
        const tmp = items[i]!;
        items[i] = items[smallest]!;
        items[smallest] = tmp;
        i = smallest;
      }
    }
    return top.value;
  }
}
