-- Full-text search over search_docs (file name, EXIF words, labels, caption), used when
-- no AI binding is present. FTS5 virtual tables and triggers are not expressible in the
-- drizzle schema, hence this hand-written migration; D1 supports FTS5 in production.
-- External content: search_docs holds the text, search_fts only the index, and the
-- triggers below keep the two in step on every insert, update and delete.
CREATE VIRTUAL TABLE `search_fts` USING fts5(
	`user_key`,
	`name`,
	`exif`,
	`labels`,
	`caption`,
	content = 'search_docs',
	content_rowid = 'id',
	tokenize = 'unicode61 remove_diacritics 2'
);
--> statement-breakpoint
CREATE TRIGGER `search_docs_after_insert` AFTER INSERT ON `search_docs` BEGIN
	INSERT INTO `search_fts` (`rowid`, `user_key`, `name`, `exif`, `labels`, `caption`)
	VALUES (new.`id`, new.`user_key`, new.`name`, new.`exif`, new.`labels`, new.`caption`);
END;
--> statement-breakpoint
CREATE TRIGGER `search_docs_after_delete` AFTER DELETE ON `search_docs` BEGIN
	INSERT INTO `search_fts` (`search_fts`, `rowid`, `user_key`, `name`, `exif`, `labels`, `caption`)
	VALUES ('delete', old.`id`, old.`user_key`, old.`name`, old.`exif`, old.`labels`, old.`caption`);
END;
--> statement-breakpoint
CREATE TRIGGER `search_docs_after_update` AFTER UPDATE ON `search_docs` BEGIN
	INSERT INTO `search_fts` (`search_fts`, `rowid`, `user_key`, `name`, `exif`, `labels`, `caption`)
	VALUES ('delete', old.`id`, old.`user_key`, old.`name`, old.`exif`, old.`labels`, old.`caption`);
	INSERT INTO `search_fts` (`rowid`, `user_key`, `name`, `exif`, `labels`, `caption`)
	VALUES (new.`id`, new.`user_key`, new.`name`, new.`exif`, new.`labels`, new.`caption`);
END;
