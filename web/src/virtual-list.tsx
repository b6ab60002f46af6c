// Only the rows in view (plus a few) exist in the DOM: 2,000 or 20,000 files cost the
// same to render.
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";

export function VirtualList<T>(props: {
  items: readonly T[];
  rowHeight: number;
  height: number;
  row: (item: T, index: number) => ComponentChildren;
  testId?: string;
}) {
  const [top, setTop] = useState(0);
  const { items, rowHeight, height } = props;
  const first = Math.max(0, Math.floor(top / rowHeight) - 5);
  const last = Math.min(items.length, Math.ceil((top + height) / rowHeight) + 5);
  const visible = [];
  for (let i = first; i < last; i++) {
    const item = items[i];
    if (item === undefined) continue;
    visible.push(
      <div key={i} class="vrow" style={{ top: `${i * rowHeight}px`, height: `${rowHeight}px` }}>
        {props.row(item, i)}
      </div>,
    );
  }
  return (
    <div
      class="vlist"
      data-testid={props.testId}
      style={{ height: `${height}px` }}
      onScroll={(e) => setTop((e.currentTarget as HTMLDivElement).scrollTop)}
    >
      <div style={{ height: `${items.length * rowHeight}px`, position: "relative" }}>{visible}</div>
    </div>
  );
}
