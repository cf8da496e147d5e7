-- Every article image is kept, not only remote ones (docs/ARCHITECTURE.md,
-- "Remote images"): remote_images is keyed by the image's reference (its
-- URL, "/media/u/…" for an upload, "/path" for a content-folder file),
-- and each article carries the reference of its image.
ALTER TABLE remote_images RENAME COLUMN url TO ref;

ALTER TABLE articles ADD COLUMN image_ref TEXT NOT NULL DEFAULT '';
UPDATE articles SET image_ref = CASE
    WHEN image_url <> '' THEN image_url
    WHEN image_media_path LIKE 'u/%' THEN '/media/' || image_media_path
    WHEN image_media_path <> '' THEN '/' || image_media_path
    ELSE '' END;
DROP INDEX articles_image_pending;
CREATE INDEX articles_image_pending ON articles (image_ref) WHERE image_ref <> '' AND image_kept = '';
CREATE INDEX articles_image_ref ON articles (image_ref) WHERE image_ref <> '';
