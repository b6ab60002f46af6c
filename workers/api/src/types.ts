export type AppEnv = {
  Bindings: Env;
  Variables: { uid: string; sub: string };
};
