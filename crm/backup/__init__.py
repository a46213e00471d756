"""Backups that restore (docs/operations.md, "Backups").

- `archive`: `backup_create` writes one encrypted file: the database dumped from
  one snapshot, the private files and a manifest of what it holds (row counts of
  every table, migrations, files' SHA-256), and records a `BackupRun`;
- `stream`: the file's encryption, AES-256-GCM in chunks, read and written as a
  stream (memory bounded whatever the database size);
- `retention`: which files to keep (the newest of each recent day, ISO week and
  month);
- `restore`: `backup_restore` unpacks a file into a new database and a new
  folder, then checks them against the manifest;
- `alerts`: the jobs `backup` and `backup_check`, and the admins' alerts;
- `postgres`: pg_dump and pg_restore of the server's version, with the
  connection settings of DATABASES["default"].
"""
