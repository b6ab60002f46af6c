export * from "./ai";
export * from "./constants";
export * from "./d1-vector-index";
export * from "./fts";
export * from "./queries";
export * from "./vector-index";
export * from "./vector-types";
export * from "./vectorize-vector-index";
