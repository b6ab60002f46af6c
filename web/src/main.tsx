import { render } from "preact";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { ApiError, api, savedToken, saveToken } from "./api";
import { filesFromDataTransfer } from "./files-from-drop";
import { Gallery } from "./gallery";
import { LiveEvents } from "./live";
import { clearManifest, loadManifest } from "./manifest";
import { OpsView, useIsOperator } from "./ops/ops-view";
import { type AssetProgress, rates, stageCounts } from "./progress";
import { formatBytes } from "./sniff";
import { useStore } from "./store";
import { type Row, Uploader } from "./uploader";
import { VirtualList } from "./virtual-list";

function App() {
  const [token, setToken] = useState(savedToken());
  const [tab, setTab] = useState<"upload" | "gallery" | "ops">("upload");
  const operator = useIsOperator(token);
  if (!token) {
    return (
      <SignIn
        onToken={(t) => {
          saveToken(t);
          setToken(t);
        }}
      />
    );
  }
  return (
    <div class="app">
      <header>
        <h1>Darkroom</h1>
        <nav>
          <button
            type="button"
            class={tab === "upload" ? "on" : ""}
            onClick={() => setTab("upload")}
          >
            Upload
          </button>
          <button
            type="button"
            class={tab === "gallery" ? "on" : ""}
            onClick={() => setTab("gallery")}
          >
            Gallery
          </button>
          {operator && (
            <button type="button" class={tab === "ops" ? "on" : ""} onClick={() => setTab("ops")}>
              Ops
            </button>
          )}
        </nav>
        <button
          type="button"
          class="link"
          onClick={() => {
            saveToken(null);
            setToken(null);
          }}
        >
          Sign out
        </button>
      </header>
      <main>
        {tab === "upload" ? <UploadView /> : tab === "gallery" ? <Gallery /> : <OpsView />}
      </main>
    </div>
  );
}

function SignIn(props: { onToken: (t: string) => void }) {
  const [user, setUser] = useState("");
  const [jwt, setJwt] = useState("");
  const [devLogin, setDevLogin] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      props.onToken((await api.devLogin(user.trim())).token);
    } catch (err) {
      // The route exists only with DEV_LOGIN=true; production takes an issued JWT.
      if (err instanceof ApiError && err.status === 404) setDevLogin(false);
      else setError(err instanceof Error ? err.message : String(err));
    }
  };
  return (
    <div class="signin">
      <h1>Darkroom</h1>
      {devLogin && (
        <form onSubmit={submit}>
          <label>
            User name (local dev sign-in)
            <input
              data-testid="user"
              value={user}
              required
              onInput={(e) => setUser((e.currentTarget as HTMLInputElement).value)}
            />
          </label>
          <button type="submit">Sign in</button>
        </form>
      )}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (jwt.trim()) props.onToken(jwt.trim());
        }}
      >
        <label>
          {devLogin ? "…or paste a token" : "Paste the token (JWT) you were issued"}
          <textarea
            data-testid="jwt"
            rows={3}
            value={jwt}
            onInput={(e) => setJwt((e.currentTarget as HTMLTextAreaElement).value)}
          />
        </label>
        <button type="submit">Use token</button>
      </form>
      {error && <p class="error">{error}</p>}
    </div>
  );
}

const STAGE_LABEL: Record<string, string> = {
  pending: "uploaded, waiting",
  uploaded: "uploaded",
  processing: "processing",
  processed: "processed",
  embedding: "indexing",
  ready: "searchable",
  failed: "failed",
  deleted: "deleted",
};

function rowStage(row: Row, server: AssetProgress | undefined): { text: string; cls: string } {
  if (row.local === "duplicate" || row.local === "skipped")
    return { text: row.local, cls: row.local };
  if (server && server.status !== "pending" && server.version > 0) {
    return { text: STAGE_LABEL[server.status] ?? server.status, cls: server.status };
  }
  switch (row.local) {
    case "uploading":
      return {
        text: `uploading ${Math.round((row.loaded / Math.max(1, row.size)) * 100)}%`,
        cls: "uploading",
      };
    case "sent":
      return { text: "uploaded", cls: "uploaded" };
    case "needs-file":
      return { text: "not uploaded: re-pick", cls: "failed" };
    case "upload-failed":
      return { text: "upload failed", cls: "failed" };
    default:
      return { text: row.local, cls: row.local };
  }
}

function UploadView() {
  const up = useMemo(() => new Uploader(), []);
  useStore(up.store);
  const [restored, setRestored] = useState<"loading" | "none" | "restored">("loading");
  const [dragging, setDragging] = useState(false);
  const [live, setLive] = useState(false);
  // Why a retry was refused (rate limit, retry cap), by failure; the server says it best.
  const [retryNotes, setRetryNotes] = useState<Record<string, string>>({});
  const liveRef = useRef<LiveEvents | null>(null);

  useEffect(() => {
    const events = new LiveEvents({
      batchId: () => up.batchId,
      lastSeq: () => up.progress.lastSeq,
      onFrames: (frames) => {
        up.dispatch({ type: "frames", frames, now: Date.now() });
        if (up.progress.needsRefetch) void up.refetch();
      },
      onState: setLive,
    });
    liveRef.current = events;
    up.onBatch = () => events.ensureBatch();
    void loadManifest()
      .then(async (m) => {
        if (m && m.files.length > 0) {
          await up.restore(m);
          setRestored("restored");
        } else setRestored("none");
      })
      .catch(() => setRestored("none"))
      .finally(() => events.start());
    // The counters keep moving between frames (ETA, throughput).
    const tick = setInterval(() => up.store.changed(), 1000);
    return () => {
      clearInterval(tick);
      events.stop();
    };
  }, [up]);

  const add = (files: File[]) => {
    if (files.length > 0) up.addFiles(files);
  };
  const c = stageCounts(up.progress);
  const r = rates(up.progress);
  const rows = up.rows;
  const total = Math.max(
    c.total,
    rows.filter((x) => x.local !== "skipped" && x.local !== "duplicate").length,
  );
  const skipped = rows.filter((x) => x.local === "skipped");
  const duplicates = rows.filter((x) => x.local === "duplicate");
  const needsFile = up.needsFile();
  const failures: Array<{
    key: string;
    name: string;
    reason: string;
    assetId: string | null;
    row: Row | null;
  }> = [];
  for (const [id, a] of up.progress.assets) {
    if (a.status !== "failed") continue;
    const row = up.rowByAsset(id) ?? null;
    failures.push({
      key: id,
      name: row?.name ?? id,
      reason: a.error ? `${a.error.code}: ${a.error.message}` : "failed",
      assetId: id,
      row,
    });
  }
  for (const row of rows) {
    if (
      row.local === "upload-failed" &&
      up.progress.assets.get(row.assetId ?? "")?.status !== "failed"
    ) {
      failures.push({
        key: row.clientId,
        name: row.name,
        reason: row.note ?? "upload failed",
        assetId: null,
        row,
      });
    }
  }
  const sched = up.scheduler.summary();

  const retryOne = async (f: (typeof failures)[number]) => {
    if (f.assetId && up.progress.assets.get(f.assetId)?.status === "failed") {
      try {
        await api.retry(f.assetId);
      } catch (err) {
        // Refetched below; the row shows the server's word, and why it was refused.
        if (err instanceof ApiError) setRetryNotes((n) => ({ ...n, [f.key]: err.message }));
      }
      await up.refetch();
    } else if (f.row) up.retryUpload(f.row);
  };
  const retryAll = async () => {
    for (const f of failures) if (!f.assetId && f.row) up.retryUpload(f.row);
    if (up.batchId) {
      let note = "";
      try {
        const r = await api.retryFailed(up.batchId);
        if (r.retryLimitReached > 0) {
          note = `${r.retryLimitReached} photo(s) had the most retries a photo gets; delete them to upload them anew`;
        }
      } catch (err) {
        if (err instanceof ApiError) note = err.message;
      }
      setRetryNotes((n) => ({ ...n, all: note }));
      await up.refetch();
    }
  };

  return (
    <section>
      {/* biome-ignore lint/a11y/noStaticElementInteractions: a drop target; the file inputs inside are the keyboard path */}
      <div
        class={`dropzone${dragging ? " over" : ""}`}
        data-testid="dropzone"
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={(e) => {
          e.preventDefault();
          setDragging(false);
          if (e.dataTransfer) void filesFromDataTransfer(e.dataTransfer).then(add);
        }}
      >
        <p>Drop photos or folders here (JPEG, PNG, WebP)</p>
        <label class="button">
          Choose files
          <input
            type="file"
            multiple
            accept="image/jpeg,image/png,image/webp"
            data-testid="file-input"
            onChange={(e) => {
              const input = e.currentTarget as HTMLInputElement;
              add(Array.from(input.files ?? []));
              input.value = "";
            }}
          />
        </label>{" "}
        <label class="button">
          Choose a folder
          <input
            type="file"
            multiple
            // @ts-expect-error: not in the DOM typings, supported by every current browser
            webkitdirectory=""
            onChange={(e) => {
              const input = e.currentTarget as HTMLInputElement;
              add(Array.from(input.files ?? []));
              input.value = "";
            }}
          />
        </label>
        {rows.length > 0 && (
          <button
            type="button"
            class="link"
            onClick={() => {
              void clearManifest().then(() => location.reload());
            }}
          >
            Start a new batch
          </button>
        )}
      </div>

      {restored === "restored" && needsFile.length > 0 && (
        <div class="notice" data-testid="repick">
          <p>
            This batch was interrupted: {needsFile.length} file(s) were not uploaded. Pick them
            again to finish (matched by name and size).
          </p>
          <label class="button">
            Re-pick files
            <input
              type="file"
              multiple
              data-testid="repick-input"
              onChange={(e) => {
                const input = e.currentTarget as HTMLInputElement;
                up.repick(Array.from(input.files ?? []));
                input.value = "";
              }}
            />
          </label>
        </div>
      )}

      {(rows.length > 0 || up.batchId) && (
        <div class="progress" data-testid="progress">
          <Bar label="Uploaded" testId="uploaded" n={c.uploaded} of={total} />
          <Bar label="Processed" testId="processed" n={c.processed} of={total} />
          <Bar label="Searchable" testId="searchable" n={c.searchable} of={total} />
          <p class="muted">
            {formatBytes(Math.round(up.bytesPerSecond()))}/s · {r.searchablePerSec.toFixed(1)}{" "}
            photos/s searchable · ETA {r.etaSeconds === null ? "—" : `${r.etaSeconds} s`} ·{" "}
            {sched.active} uploading (limit {up.scheduler.concurrency}) · {duplicates.length}{" "}
            duplicate(s) · {skipped.length} skipped · live {live ? "●" : "○"}
          </p>
        </div>
      )}

      {failures.length > 0 && (
        <div class="failures" data-testid="failures">
          <h2>
            Failures ({failures.length}){" "}
            <button type="button" onClick={() => void retryAll()}>
              Retry all
            </button>
          </h2>
          {retryNotes.all && (
            <p class="muted" data-testid="retry-note">
              {retryNotes.all}
            </p>
          )}
          <ul>
            {failures.map((f) => (
              <li key={f.key} data-testid="failure">
                <strong>{f.name}</strong> — <span class="reason">{f.reason}</span>{" "}
                <button type="button" onClick={() => void retryOne(f)}>
                  Retry
                </button>
                {retryNotes[f.key] && (
                  <span class="muted" data-testid="retry-note">
                    {" "}
                    {retryNotes[f.key]}
                  </span>
                )}
              </li>
            ))}
          </ul>
        </div>
      )}

      {skipped.length > 0 && (
        <details class="skipped" data-testid="skipped">
          <summary>Skipped ({skipped.length})</summary>
          <ul>
            {skipped.map((s) => (
              <li key={s.clientId}>
                {s.name} — {s.note}
              </li>
            ))}
          </ul>
        </details>
      )}

      {rows.length > 0 && (
        <VirtualList
          items={rows}
          rowHeight={28}
          height={Math.min(420, rows.length * 28 + 2)}
          testId="file-list"
          row={(row) => {
            const st = rowStage(row, row.assetId ? up.progress.assets.get(row.assetId) : undefined);
            return (
              <div class="filerow" data-name={row.name} data-stage={st.cls}>
                <span class="name" title={row.name}>
                  {row.name}
                </span>
                <span class="size">{formatBytes(row.size)}</span>
                <span class={`stage ${st.cls}`}>{st.text}</span>
                <span class="note">{row.note ?? ""}</span>
              </div>
            );
          }}
        />
      )}
    </section>
  );
}

function Bar(props: { label: string; testId: string; n: number; of: number }) {
  const pct = props.of > 0 ? Math.min(100, (props.n / props.of) * 100) : 0;
  return (
    <div class="bar">
      <span class="bar-label">{props.label}</span>
      <span class="track">
        <span class="fill" style={{ width: `${pct}%` }} />
      </span>
      <span class="count" data-testid={`count-${props.testId}`}>
        {props.n} / {props.of}
      </span>
    </div>
  );
}

const root = document.getElementById("app");
if (root) render(<App />, root);
