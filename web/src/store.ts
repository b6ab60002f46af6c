// A tiny observable with at most one notification per animation frame: 2,000 files
// hashing and uploading change state thousands of times a second, the screen needs it
// 60 times.
import { useEffect, useState } from "preact/hooks";

export class Store {
  private readonly listeners = new Set<() => void>();
  private scheduled = false;
  rev = 0;

  changed(): void {
    this.rev += 1;
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => {
      this.scheduled = false;
      for (const l of this.listeners) l();
    });
  }

  subscribe(l: () => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
}

/** Re-render the calling component whenever the store changes (coalesced per frame). */
export function useStore(store: Store): number {
  const [, setRev] = useState(0);
  useEffect(() => store.subscribe(() => setRev(store.rev)), [store]);
  return store.rev;
}
