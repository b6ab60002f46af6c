// Sign-in: the local dev login when the API offers it (DEV_LOGIN=true), else a pasted JWT.
import { useState } from "preact/hooks";
import { ApiError, api } from "./api";

export function SignIn(props: { onToken: (t: string) => void }) {
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
