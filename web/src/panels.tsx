// The upload view's panels: stage bars, the failures list, the skipped and changed lists,
// the resume and re-pick notices and the virtualised file list. Presentational: what they show comes from
// view-model.ts.
import type { AssetProgress } from "./progress";
import { formatBytes } from "./sniff";
import type { Row } from "./upload/rows";
import { type Failure, rowStage } from "./view-model";
import { VirtualList } from "./virtual-list";

export function Bar(props: { label: string; testId: string; n: number; of: number }) {
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

export function FailuresPanel(props: {
  failures: readonly Failure[];
  /** Why a retry was refused: by failure key, and `all` for Retry all. */
  notes: Readonly<Record<string, string>>;
  onRetry: (f: Failure) => void;
  onRetryAll: () => void;
}) {
  if (props.failures.length === 0) return null;
  return (
    <div class="failures" data-testid="failures">
      <h2>
        Failures ({props.failures.length}){" "}
        <button type="button" onClick={props.onRetryAll}>
          Retry all
        </button>
      </h2>
      {props.notes.all && (
        <p class="muted" data-testid="retry-note">
          {props.notes.all}
        </p>
      )}
      <ul>
        {props.failures.map((f) => (
          <li key={f.key} data-testid="failure">
            <strong>{f.name}</strong> — <span class="reason">{f.reason}</span>{" "}
            <button type="button" onClick={() => props.onRetry(f)}>
              Retry
            </button>
            {props.notes[f.key] && (
              <span class="muted" data-testid="retry-note">
                {" "}
                {props.notes[f.key]}
              </span>
            )}
          </li>
        ))}
      </ul>
    </div>
  );
}

export function SkippedPanel(props: { skipped: readonly Row[]; title?: string; testId?: string }) {
  if (props.skipped.length === 0) return null;
  return (
    <details class="skipped" data-testid={props.testId ?? "skipped"}>
      <summary>
        {props.title ?? "Skipped"} ({props.skipped.length})
      </summary>
      <ul>
        {props.skipped.map((s) => (
          <li key={s.clientId}>
            {s.name} — {s.note}
          </li>
        ))}
      </ul>
    </details>
  );
}

/** Stored handles: one click asks read access again and the batch goes on. */
export function ResumeNotice(props: {
  waiting: number;
  busy: boolean;
  result: string | null;
  onResume: () => void;
}) {
  return (
    <div class="notice" data-testid="resume">
      <p>
        This batch was interrupted: {props.waiting} file(s) were not uploaded. Resume reads them
        again from where you picked them (your browser may ask to allow it once per folder).
      </p>
      <button type="button" disabled={props.busy} onClick={props.onResume}>
        Resume
      </button>
      {props.result && (
        <span class="muted" data-testid="resume-result">
          {" "}
          {props.result}
        </span>
      )}
    </div>
  );
}

export function RepickNotice(props: { missing: number; onFiles: (files: File[]) => void }) {
  return (
    <div class="notice" data-testid="repick">
      <p>
        This batch was interrupted: {props.missing} file(s) were not uploaded. Pick them again to
        finish (matched by name and size).
      </p>
      <label class="button">
        Re-pick files
        <input
          type="file"
          multiple
          data-testid="repick-input"
          onChange={(e) => {
            const input = e.currentTarget as HTMLInputElement;
            props.onFiles(Array.from(input.files ?? []));
            input.value = "";
          }}
        />
      </label>
    </div>
  );
}

export function FileList(props: {
  rows: readonly Row[];
  server: (assetId: string) => AssetProgress | undefined;
}) {
  const { rows } = props;
  if (rows.length === 0) return null;
  return (
    <VirtualList
      items={rows}
      rowHeight={28}
      height={Math.min(420, rows.length * 28 + 2)}
      testId="file-list"
      row={(row) => {
        const st = rowStage(row, row.assetId ? props.server(row.assetId) : undefined);
        return (
          <div class="filerow" data-name={row.name} data-stage={st.cls}>
            <span class="name" title={row.name}>
              {row.name}
            </span>
            <span class="size">{row.local === "hashing" ? "" : formatBytes(row.size)}</span>
            <span class={`stage ${st.cls}`}>{st.text}</span>
            <span class="note">{row.note ?? ""}</span>
          </div>
        );
      }}
    />
  );
}
