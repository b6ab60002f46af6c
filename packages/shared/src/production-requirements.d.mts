export declare const SECRET_MIN_BYTES: number;
export declare const MAX_SHARDS: number;
export declare const R2_ACCESS_KEY_ID_PATTERN: RegExp;
export declare const R2_JURISDICTIONS: readonly string[];
export declare const DEV_SECRET_VALUES: Readonly<Record<string, string>>;

export type CheckContext = { deploying: boolean };
export type Requirement = {
  name: string;
  workers: readonly string[];
  why: string;
  /** Absent (empty) is fine; a value is still checked. */
  optional?: boolean;
  /** The problem with a non-empty value, without the name; null when it is fine. */
  check: (value: string, ctx: CheckContext) => string | null;
};
export declare const PRODUCTION_SECRETS: readonly Requirement[];
export declare const PRODUCTION_VARS: readonly Requirement[];

export type ConfigProblem = { name: string; kind: "secret" | "var"; message: string };
export declare function checkProductionConfig(
  env: Record<string, unknown>,
  options?: { worker?: string; deploying?: boolean; secrets?: boolean },
): ConfigProblem[];
export declare function describeProblems(problems: readonly ConfigProblem[]): string;
