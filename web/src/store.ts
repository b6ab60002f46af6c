// A tiny observable with at most one notification per animation frame, and at most one
// per MIN_GAP_MS: a drop of thousands of files hashing and uploading changes state
// thousands of times a second, and the counters and the visible rows are read fine at ten
// renders a second. At 60 a second the page's renders were a third of its main thread's
// CPU during a 20,000-file drop (bench:page's trace: 6,588 animation-frame renders in
// 127 s), time a loaded machine stretches into long tasks. Scrolling the list does not
// wait for this: the list keeps its own scroll state (virtual-list.tsx).
import { useEffect, useState } from "preact/hooks";

/** The least time between two notifications. */
const MIN_GAP_MS = 100;

export class Store {
  private readonly listeners = new Set<() => void>();
  private scheduled = false;
  private last = Number.NEGATIVE_INFINITY;
  rev = 0;

  changed(): void {
    this.rev += 1;
    if (this.scheduled) return;
    this.scheduled = true;
    const notify = () =>
      requestAnimationFrame(() => {
        this.scheduled = false;
        this.last = performance.now();
        for (const l of this.listeners) l();
      });
    const wait = this.last + MIN_GAP_MS - performance.now();
    if (wait > 0) setTimeout(notify, wait);
    else notify();
  }

  subscribe(l: () => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
}

/** Re-render the calling component whenever the store changes (coalesced, see Store). */
export function useStore(store: Store): number {
  const [, setRev] = useState(0);
  useEffect(() => store.subscribe(() => setRev(store.rev)), [store]);
  return store.rev;
}
