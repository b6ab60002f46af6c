import app from "./app";
import { sweep } from "./sweeper";

export { AiBreaker } from "./breaker/ai-breaker";
export { UserHub } from "./hub/user-hub";

export default {
  fetch: app.fetch,
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(sweep(env).then((r) => console.log("sweep", r)));
  },
} satisfies ExportedHandler<Env>;
