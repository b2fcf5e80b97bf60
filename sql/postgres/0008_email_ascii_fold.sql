-- Emails match folding ASCII letters only, as SQLite's COLLATE NOCASE does
-- and docs/api.md says, whatever locale the database was created with.
-- lower() follows its argument's collation, which was the database's
-- default: under the C locale it folded ASCII only, under a UTF-8 locale it
-- folded Ü to ü as well. The columns now carry the C collation, and the
-- indexes on lower(email) are rebuilt with it; queries fold the text they
-- compare with in the same collation.
ALTER TABLE customers ALTER COLUMN email TYPE text COLLATE "C";
ALTER TABLE users ALTER COLUMN email TYPE text COLLATE "C";
