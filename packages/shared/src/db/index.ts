export * from "./filter-only";
export * from "./schema";
