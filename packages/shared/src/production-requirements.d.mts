export declare const PRODUCTION_SECRETS: readonly { readonly name: string; readonly why: string }[];
