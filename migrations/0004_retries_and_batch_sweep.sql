ALTER TABLE `assets` ADD `retries` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX `assets_batch` ON `assets` (`batch_id`);--> statement-breakpoint
CREATE INDEX `batches_created` ON `batches` (`created_at`);