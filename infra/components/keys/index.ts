export { DataKey, type DataKeyArgs } from "./data-key";
export { SIGNING_KEY_SPEC, SigningKey, type SigningKeyArgs } from "./signing-key";
