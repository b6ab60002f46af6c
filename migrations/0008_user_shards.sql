-- The directory (issue 22, DESIGN.md "Sharding"): which shard database holds each user's
-- rows. One migration set runs on every database, the DIRECTORY and each DB_n shard
-- alike, so every database has every table; this one is written only in the directory.
CREATE TABLE `user_shards` (
	`user_id` text PRIMARY KEY NOT NULL,
	`shard` integer NOT NULL,
	`assigned_at` integer NOT NULL
);
