/**
 * Thrown by a stage that meets another consumer's live claim (`claimStage`): the queue
 * loop retries the message when that claim's lease would have run out, never acks it away.
 */
export class ClaimHeld extends Error {
  constructor(readonly delaySeconds: number) {
    super(`another consumer is working on this asset; retry in ${delaySeconds} s`);
  }
}
