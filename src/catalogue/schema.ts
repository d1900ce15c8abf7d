// The catalogue database's schema, as numbered migrations: a catalogue made by an older finprint is
// brought up to date when opened (SQLite's user_version says how far it is), one made by a newer
// one is refused.

export const MIGRATIONS: readonly string[] = [
  // 1: the first schema
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE individual (
    id TEXT PRIMARY KEY,
    name TEXT,
    species TEXT,
    created TEXT NOT NULL,
    notes TEXT,
    merged_into TEXT REFERENCES individual(id)
  );
  CREATE TABLE encounter (
    id INTEGER PRIMARY KEY,
    status TEXT NOT NULL CHECK (status IN ('unreviewed', 'confirmed', 'unidentifiable', 'skipped')),
    individual_id TEXT REFERENCES individual(id),
    date TEXT,
    latitude REAL,
    longitude REAL,
    observer TEXT,
    species TEXT,
    notes TEXT,
    created TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    CHECK ((status = 'confirmed') = (individual_id IS NOT NULL))
  );
  CREATE INDEX encounter_status ON encounter(status);
  CREATE INDEX encounter_individual ON encounter(individual_id);
  CREATE TABLE photo (
    id INTEGER PRIMARY KEY,
    encounter_id INTEGER NOT NULL REFERENCES encounter(id),
    sha256 TEXT NOT NULL UNIQUE,
    original_name TEXT NOT NULL,
    format TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    exif_date TEXT,
    exif_latitude REAL,
    exif_longitude REAL,
    box_x0 REAL, box_y0 REAL, box_x1 REAL, box_y1 REAL,
    box_source TEXT NOT NULL CHECK (box_source IN ('imported', 'detected', 'whole'))
  );
  CREATE INDEX photo_encounter ON photo(encounter_id);
  CREATE TABLE embedding (
    photo_id INTEGER NOT NULL REFERENCES photo(id),
    model TEXT NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (photo_id, model)
  );
  CREATE TABLE decision (
    id INTEGER PRIMARY KEY,
    user TEXT NOT NULL,
    at TEXT NOT NULL,
    action TEXT NOT NULL,
    encounter_id INTEGER,
    individual_id TEXT,
    before TEXT NOT NULL,
    after TEXT NOT NULL,
    undone_by INTEGER REFERENCES decision(id)
  );
  CREATE INDEX decision_encounter ON decision(encounter_id);
  CREATE TABLE reviewer (name TEXT PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE, created TEXT NOT NULL);
  `,
  // 2: field decisions synced from an offline field pack (finprint catalogue sync), each keyed by
  // its entry id; a proposal the reviewer sees beside the encounter it came with (none for a
  // duplicate photo)
  `
  CREATE TABLE proposal (
    entry_id TEXT PRIMARY KEY,
    encounter_id INTEGER REFERENCES encounter(id),
    kind TEXT NOT NULL CHECK (kind IN ('match', 'new', 'unsure')),
    individual_id TEXT,
    proposed_individual_id TEXT,
    by TEXT,
    at TEXT,
    source TEXT NOT NULL,
    synced TEXT NOT NULL,
    outcome TEXT NOT NULL
  );
  CREATE INDEX proposal_encounter ON proposal(encounter_id);
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;
