export * from "./assets";
export * from "./backoff";
export * from "./events";
export * from "./http";
export * from "./hub-client";
export * from "./keys";
export * from "./messages";
export * from "./transitions";
