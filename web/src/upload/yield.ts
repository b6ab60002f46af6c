// Giving the event loop back between slices of a long job (walking a folder of 20,000
// files, making their rows): input, rendering and the other tasks run between two slices,
// so no task of ours grows with the size of the drop (bench:page's longest task).
// `scheduler.yield()` where the browser has it (Chromium 129+: the continuation keeps its
// place ahead of other tasks of the same priority), else a fresh task via setTimeout 0.
// https://developer.mozilla.org/en-US/docs/Web/API/Scheduler/yield

type YieldingScheduler = { yield?: () => Promise<void> };

const scheduler = (): YieldingScheduler | undefined =>
  (globalThis as { scheduler?: YieldingScheduler }).scheduler;

export function yieldToEventLoop(): Promise<void> {
  const s = scheduler();
  if (typeof s?.yield === "function") return s.yield();
  return new Promise((resolve) => setTimeout(resolve, 0));
}
