export * from "./events";
export * from "./failures";
export * from "./outcomes";
export * from "./stage";
export * from "./store";
export * from "./write";
