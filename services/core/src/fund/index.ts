export * from "./decimal";
export * from "./risk";
