CREATE TABLE `asset_features` (
	`asset_id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`phash` text NOT NULL,
	`descriptor` blob NOT NULL,
	`descriptor_version` integer NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `asset_features_user_created` ON `asset_features` (`user_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `asset_vectors` (
	`kind` text NOT NULL,
	`asset_id` text NOT NULL,
	`user_id` text NOT NULL,
	`vector` blob NOT NULL,
	PRIMARY KEY(`kind`, `asset_id`)
);
--> statement-breakpoint
CREATE INDEX `asset_vectors_user` ON `asset_vectors` (`kind`,`user_id`,`asset_id`);--> statement-breakpoint
CREATE TABLE `search_docs` (
	`id` integer PRIMARY KEY NOT NULL,
	`asset_id` text NOT NULL,
	`user_id` text NOT NULL,
	`user_key` text NOT NULL,
	`name` text NOT NULL,
	`exif` text NOT NULL,
	`labels` text NOT NULL,
	`caption` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `search_docs_asset_id_unique` ON `search_docs` (`asset_id`);