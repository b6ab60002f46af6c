ALTER TABLE `assets` ADD `caption_skipped` text;--> statement-breakpoint
ALTER TABLE `assets` ADD `redescribe_at` integer;--> statement-breakpoint
CREATE INDEX `assets_redescribe` ON `assets` (`redescribe_at`);