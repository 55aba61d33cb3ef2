-- +goose Up
-- One row per rate-limit key: transactions lock it before counting, so
-- concurrent requests cannot both pass the last free place.
CREATE TABLE rate_keys (
    key TEXT PRIMARY KEY
);

-- +goose Down
DROP TABLE rate_keys;
