-- +goose Up
-- Name search pages newest first: with the id in the index, a full name
-- finds its page without sorting.
DROP INDEX students_name;
CREATE INDEX students_name ON students (name, id);

-- +goose Down
DROP INDEX students_name;
CREATE INDEX students_name ON students (name);
