-- +goose Up
-- When a rebuild last changed any facts: caches of the facts are kept
-- until then, not dropped by each minute's rebuild that found nothing new.
ALTER TABLE fact_state ADD COLUMN changed_at BIGINT NOT NULL DEFAULT 0;
UPDATE fact_state SET changed_at = rebuilt_at;

-- +goose Down
ALTER TABLE fact_state DROP COLUMN changed_at;
