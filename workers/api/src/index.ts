import app from "./app";
import { productionProblems } from "./lib/config/production-config";
import { sweep } from "./sweeper";

export { AiBreaker } from "./breaker/ai-breaker";
export { UserHub } from "./hub/user-hub";

export default {
  fetch: app.fetch,
  async scheduled(_controller, env, ctx) {
    // A misconfigured production worker does no work at all (productionProblems logs why).
    if (productionProblems(env).length > 0) return;
    ctx.waitUntil(sweep(env).then((r) => console.log("sweep", r)));
  },
} satisfies ExportedHandler<Env>;
