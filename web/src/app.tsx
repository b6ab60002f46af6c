// The signed-in shell: header, the tabs (upload, gallery; ops for operators) and sign-out.
import { useState } from "preact/hooks";
import { savedToken, saveToken } from "./api";
import { Gallery } from "./gallery";
import { OpsView, useIsOperator } from "./ops/ops-view";
import { SignIn } from "./sign-in";
import { UploadView } from "./upload-view";

export function App() {
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
