// The signed-in shell: header, the two tabs (upload, gallery) and sign-out.
import { useState } from "preact/hooks";
import { savedToken, saveToken } from "./api";
import { Gallery } from "./gallery";
import { SignIn } from "./sign-in";
import { UploadView } from "./upload-view";

export function App() {
  const [token, setToken] = useState(savedToken());
  const [tab, setTab] = useState<"upload" | "gallery">("upload");
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
      <main>{tab === "upload" ? <UploadView /> : <Gallery />}</main>
    </div>
  );
}
