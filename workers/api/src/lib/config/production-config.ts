import {
  type ConfigProblem,
  checkProductionConfig,
  describeProblems,
} from "@darkroom/shared/production-requirements";
import { createMiddleware } from "hono/factory";
import { HttpError } from "../../errors";
import type { AppEnv } from "../../types";

/**
 * Production is every configuration that does not say DEV_LOGIN = "true": a typo or a
 * missing var must fall on the strict side, never on the lenient one.
 */
export function isProduction(env: Env): boolean {
  return env.DEV_LOGIN !== "true";
}

/** Computed once per env object, i.e. once per isolate in a deployment (env does not change). */
const checked = new WeakMap<object, ConfigProblem[]>();

/** What this production worker lacks (packages/shared/src/production-requirements.mjs); [] when fine or not production. */
export function productionProblems(env: Env): ConfigProblem[] {
  if (!isProduction(env)) return [];
  let problems = checked.get(env);
  if (!problems) {
    problems = checkProductionConfig({ ...env }, { worker: "api" });
    checked.set(env, problems);
    // One line per isolate, where the deployer looks (wrangler tail, Workers Logs).
    if (problems.length > 0) console.error(describeProblems(problems));
  }
  return problems;
}

/** 503: the deployment, not the request, is wrong; retrying the same request cannot help until it is fixed. */
export class Misconfigured extends HttpError {
  constructor(problems: ConfigProblem[]) {
    super(503, "misconfigured", describeProblems(problems), {
      problems: problems.map((p) => ({ name: p.name, kind: p.kind })),
    });
  }
}

/**
 * Mounted before every other middleware on /api/*: a production worker missing a secret
 * or carrying an unsafe var answers this, naming what is wrong, before any route runs,
 * charges a token or touches storage (never a 500 from inside a route).
 */
export const requireProductionConfig = createMiddleware<AppEnv>(async (c, next) => {
  const problems = productionProblems(c.env);
  if (problems.length > 0) throw new Misconfigured(problems);
  await next();
});
