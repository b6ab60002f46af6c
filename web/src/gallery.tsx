// The user's photos: infinite scroll over cursor pages, search, similar, detail.
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, type Asset, api } from "./api";
import { formatBytes } from "./sniff";

type View =
  | { kind: "all" }
  | { kind: "search"; q: string; mode: string }
  | { kind: "similar"; of: Asset };

export function Gallery() {
  const [items, setItems] = useState<Asset[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  const [loading, setLoading] = useState(false);
  const [view, setView] = useState<View>({ kind: "all" });
  const [q, setQ] = useState("");
  const [detail, setDetail] = useState<Asset | null>(null);
  const [error, setError] = useState<string | null>(null);
  const sentinel = useRef<HTMLDivElement>(null);

  const loadMore = async () => {
    if (loading || done || view.kind !== "all") return;
    setLoading(true);
    try {
      const page = await api.assets({ cursor, limit: 60 });
      setItems((prev) => [...prev, ...page.assets]);
      setCursor(page.nextCursor);
      if (!page.nextCursor) setDone(true);
    } catch (err) {
      setError(String(err instanceof Error ? err.message : err));
    } finally {
      setLoading(false);
    }
  };

  useEffect(() => {
    const el = sentinel.current;
    if (!el) return;
    const io = new IntersectionObserver((es) => {
      if (es.some((e) => e.isIntersecting)) void loadMore();
    });
    io.observe(el);
    return () => io.disconnect();
  });

  const search = async (e: Event) => {
    e.preventDefault();
    setError(null);
    if (!q.trim()) {
      setView({ kind: "all" });
      setItems([]);
      setCursor(null);
      setDone(false);
      return;
    }
    try {
      const r = await api.search(q.trim());
      setView({ kind: "search", q: q.trim(), mode: r.mode });
      setItems(r.results.map((x) => x.asset));
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  };

  const similar = async (a: Asset) => {
    setDetail(null);
    setError(null);
    try {
      const r = await api.similar(a.id);
      setView({ kind: "similar", of: a });
      setItems(r.results.map((x) => x.asset));
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    }
  };

  return (
    <section class="gallery">
      <form class="searchbar" onSubmit={search}>
        <input
          type="search"
          data-testid="search"
          placeholder="Search: file name, camera, year, colour…"
          value={q}
          onInput={(e) => setQ((e.currentTarget as HTMLInputElement).value)}
        />
        <button type="submit">Search</button>
      </form>
      {view.kind === "search" && (
        <p class="muted" data-testid="search-info">
          {items.length} results for “{view.q}” ({view.mode} search)
        </p>
      )}
      {view.kind === "similar" && <p class="muted">Similar to {view.of.name}</p>}
      {error && <p class="error">{error}</p>}
      <div class="grid" data-testid="grid">
        {items.map((a) => (
          <button type="button" key={a.id} class="tile" onClick={() => setDetail(a)} title={a.name}>
            {a.urls.thumb ? (
              <img src={a.urls.thumb} alt={a.name} loading="lazy" />
            ) : (
              <span class="placeholder">{a.status}</span>
            )}
          </button>
        ))}
      </div>
      <div ref={sentinel} class="sentinel">
        {view.kind === "all" && !done ? "loading…" : ""}
      </div>
      {detail && <Detail asset={detail} onClose={() => setDetail(null)} onSimilar={similar} />}
    </section>
  );
}

function Detail(props: { asset: Asset; onClose: () => void; onSimilar: (a: Asset) => void }) {
  const a = props.asset;
  const rows: Array<[string, string]> = [
    ["name", a.name],
    ["status", a.status],
    ["size", formatBytes(a.size)],
    ["dimensions", a.width && a.height ? `${a.width} × ${a.height}` : "—"],
    ["taken", a.takenAt ?? "—"],
    ["camera", [a.camera.make, a.camera.model].filter(Boolean).join(" ") || "—"],
    ["labels", a.labels.join(", ") || "—"],
    // Without a caption, why (AI paused, out of its daily allocation, …).
    ["caption", a.caption ?? (a.captionSkipped ? `— ${a.captionSkipped.message}` : "—")],
    ["near duplicate of", a.nearDuplicateOf ?? "—"],
  ];
  for (const v of ["thumb", "preview"] as const) {
    const info = a.variants[v];
    if (info) rows.push([v, `${info.width} × ${info.height}, ${formatBytes(info.bytes)}`]);
  }
  return (
    <div class="modal" role="dialog" aria-label={a.name} data-testid="detail">
      <div class="modal-body">
        <button type="button" class="close" onClick={props.onClose}>
          ×
        </button>
        {a.urls.preview && <img class="preview" src={a.urls.preview} alt={a.name} />}
        <table>
          <tbody>
            {rows.map(([k, v]) => (
              <tr key={k}>
                <th>{k}</th>
                <td>{v}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <p>
          {a.status === "ready" && (
            <button type="button" onClick={() => props.onSimilar(a)}>
              Similar photos
            </button>
          )}{" "}
          {a.urls.original && (
            <a href={a.urls.original} target="_blank" rel="noreferrer">
              Original
            </a>
          )}
        </p>
      </div>
    </div>
  );
}
