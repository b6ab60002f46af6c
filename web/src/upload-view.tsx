// The upload tab: drop zone and pickers, then the batch's progress, failures and files.
import { useEffect, useMemo, useState } from "preact/hooks";
import { ApiError, api } from "./api";
import {
  dropHandles,
  hasDropHandles,
  hasPickers,
  isHandle,
  pickFiles,
  pickFolder,
} from "./file-handles";
import { filesFromDataTransfer } from "./files-from-drop";
import { LiveEvents } from "./live";
import { clearManifest, loadManifest } from "./manifest";
import { Bar, FailuresPanel, FileList, RepickNotice, ResumeNotice, SkippedPanel } from "./panels";
import { rates, stageCounts } from "./progress";
import { ACCEPT_ATTRIBUTE, formatBytes } from "./sniff";
import { useStore } from "./store";
import { Uploader } from "./upload/coordinator";
import { type Failure, failuresOf, localCounts } from "./view-model";

/** showOpenFilePicker's filter: every photo type, and the extensions (a .heic has no type). */
const PICKER_ACCEPT = {
  "image/*": ACCEPT_ATTRIBUTE.split(",").filter((a) => a.startsWith(".")),
};

/**
 * The same path a picker feeds, for handles a script holds: the browser tests and
 * bench:page hand in files from the origin private file system this way, since no script
 * can answer a picker's prompt.
 */
const HANDLES_EVENT = "darkroom:handles";

export function UploadView() {
  const up = useMemo(() => new Uploader(), []);
  useStore(up.store);
  const [restored, setRestored] = useState<"loading" | "none" | "restored">("loading");
  const [dragging, setDragging] = useState(false);
  const [live, setLive] = useState(false);
  // Why a retry was refused (rate limit, retry cap), by failure; the server says it best.
  const [retryNotes, setRetryNotes] = useState<Record<string, string>>({});
  const [resume, setResume] = useState<{ busy: boolean; result: string | null; tried: boolean }>({
    busy: false,
    result: null,
    tried: false,
  });

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
    const onHandles = (e: Event) => {
      const detail = e instanceof CustomEvent && Array.isArray(e.detail) ? e.detail : [];
      void up.addHandles(detail.filter(isHandle));
    };
    addEventListener(HANDLES_EVENT, onHandles);
    return () => {
      clearInterval(tick);
      removeEventListener(HANDLES_EVENT, onHandles);
      events.stop();
    };
  }, [up]);

  const add = (files: File[]) => {
    if (files.length > 0) up.addFiles(files);
  };
  const c = stageCounts(up.progress);
  const r = rates(up.progress);
  const rows = up.rows;
  const local = localCounts(rows);
  const total = Math.max(c.total, local.toUpload);
  const failures = failuresOf(rows, up.progress.assets, (id) => up.rowByAsset(id));
  const sched = up.scheduler.summary();

  const retryOne = async (f: Failure) => {
    if (f.assetId) {
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
  // Synchronous up to the permission requests: they need the click's user activation.
  const onResume = () => {
    setResume({ busy: true, result: null, tried: true });
    up.resume().then(
      (o) => {
        const refused = o.roots > 0 && o.granted < o.roots ? "; read access refused for some" : "";
        setResume({ busy: false, result: `${o.files} file(s) resumed${refused}`, tried: true });
      },
      (err: unknown) =>
        setResume({ busy: false, result: `could not resume: ${String(err)}`, tried: true }),
    );
  };
  // With the File System Access API the buttons open its pickers (handles, kept for a
  // resume): the input's click is cancelled before its dialog opens; without the API, the
  // <input type=file> does as before.
  const pickHandles = (e: Event, folder: boolean) => {
    if (!hasPickers()) return;
    e.preventDefault();
    const picked = folder
      ? pickFolder().then((d) => (d ? [d] : []))
      : pickFiles(PICKER_ACCEPT).then((fs) => fs ?? []);
    void picked.then((hs) => (hs.length > 0 ? up.addHandles(hs) : undefined));
  };
  const pick = (e: Event) => {
    const input = e.currentTarget as HTMLInputElement;
    const files = Array.from(input.files ?? []);
    input.value = "";
    // Chromium spends hundreds of ms of its own building the list of a 2,000-file pick in
    // the task that fires `change` (bench:page's peer); the page's work goes in a task of
    // its own instead of lengthening that one.
    setTimeout(() => add(files), 0);
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
          if (!e.dataTransfer) return;
          if (hasDropHandles()) void dropHandles(e.dataTransfer).then((hs) => up.addHandles(hs));
          else void filesFromDataTransfer(e.dataTransfer).then(add);
        }}
      >
        <p>Drop photos or folders here (JPEG, PNG, WebP, HEIC, AVIF, GIF)</p>
        <label class="button">
          Choose files
          <input
            type="file"
            multiple
            accept={ACCEPT_ATTRIBUTE}
            data-testid="file-input"
            onClick={(e) => pickHandles(e, false)}
            onChange={pick}
          />
        </label>{" "}
        <label class="button">
          Choose a folder
          <input
            type="file"
            multiple
            // @ts-expect-error: not in the DOM typings, supported by every current browser
            webkitdirectory=""
            onClick={(e) => pickHandles(e, true)}
            onChange={pick}
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

      {restored === "restored" && (local.resumable > 0 || resume.result) && (
        <ResumeNotice
          waiting={local.resumable}
          busy={resume.busy}
          result={resume.result}
          onResume={onResume}
        />
      )}
      {/* Files without a handle, or whose folder's access was refused: pick them again. */}
      {restored === "restored" && local.needsFile - (resume.tried ? 0 : local.resumable) > 0 && (
        <RepickNotice
          missing={local.needsFile - (resume.tried ? 0 : local.resumable)}
          onFiles={(files) => up.repick(files)}
        />
      )}

      {(rows.length > 0 || up.batchId) && (
        <div
          class="progress"
          data-testid="progress"
          // Read by bench:page: PUTs done, files hashed, manifest records written so far.
          data-sent={sched.done}
          data-hashed={local.hashed}
          data-manifest-writes={up.writer.written}
        >
          <Bar label="Uploaded" testId="uploaded" n={c.uploaded} of={total} />
          <Bar label="Processed" testId="processed" n={c.processed} of={total} />
          <Bar label="Searchable" testId="searchable" n={c.searchable} of={total} />
          <p class="muted">
            {formatBytes(Math.round(up.bytesPerSecond()))}/s · {r.searchablePerSec.toFixed(1)}{" "}
            photos/s searchable · ETA {r.etaSeconds === null ? "—" : `${r.etaSeconds} s`} ·{" "}
            {sched.active} uploading (limit {up.scheduler.concurrency}) · {local.duplicates}{" "}
            duplicate(s) · {local.skipped.length} skipped · live {live ? "●" : "○"}
          </p>
        </div>
      )}

      <FailuresPanel
        failures={failures}
        notes={retryNotes}
        onRetry={(f) => void retryOne(f)}
        onRetryAll={() => void retryAll()}
      />
      <SkippedPanel skipped={local.skipped} />
      <SkippedPanel
        skipped={local.changed}
        title="Changed or gone since the drop"
        testId="changed"
      />
      <FileList rows={rows} server={(id) => up.progress.assets.get(id)} />
    </section>
  );
}
