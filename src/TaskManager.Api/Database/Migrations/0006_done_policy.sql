-- A project's done policy: with done_by_people_only, agents may take work as far as review and only a person (a token
-- of kind person) moves it to done.
ALTER TABLE projects ADD COLUMN done_by_people_only boolean NOT NULL DEFAULT false;
