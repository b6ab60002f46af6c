// Types of request-ids.js for the workers, whose tsconfig does not read JavaScript.
export declare const MAX_CLIENT_ID_LENGTH: number;
export declare function clientIdFor(path: string, index: number): string;
