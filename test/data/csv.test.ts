import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CsvError, formatCsv, parseCsv } from '../../src/data/csv.js';
import { checkTable, IMAGE_NAME, INDIVIDUAL_ID, SPECIES_LABEL } from '../../src/data/validate.js';

describe('parseCsv', () => {
  it('handles quoted commas, doubled quotes and newlines inside quotes', () => {
    const t = parseCsv('a,b,c\n"x, y","say ""hi""","two\nlines"\nplain,,end\n');
    assert.deepEqual(t.header, ['a', 'b', 'c']);
    assert.deepEqual(t.rows, [['x, y', 'say "hi"', 'two\nlines'], ['plain', '', 'end']]);
    assert.deepEqual(t.lines, [2, 4]);
  });

  it('strips a BOM and accepts CRLF, CR and a missing final newline', () => {
    const t = parseCsv('\uFEFFimage,species\r\na.jpg,beluga\rb.jpg,"gray\r\nwhale"\r\nc.jpg,fin_whale');
    assert.deepEqual(t.header, ['image', 'species']);
    assert.deepEqual(t.rows, [['a.jpg', 'beluga'], ['b.jpg', 'gray\r\nwhale'], ['c.jpg', 'fin_whale']]);
    assert.deepEqual(t.lines, [2, 3, 5]);
  });

  it('skips empty lines but keeps rows with the wrong number of fields', () => {
    const t = parseCsv('a,b\n\n1,2\n3\n4,5,6\n\n');
    assert.deepEqual(t.rows, [['1', '2'], ['3'], ['4', '5', '6']]);
    assert.deepEqual(t.lines, [3, 4, 5]);
  });

  it('rejects an unterminated quote, naming its line', () => {
    assert.throws(() => parseCsv('a,b\n1,2\n3,"oops\n4,5\n'), (e: unknown) => e instanceof CsvError && e.line === 3 && /unterminated/.test(e.message));
  });

  it('round-trips through formatCsv, quoting only where needed', () => {
    const rows = [['plain', 'with,comma', 'with "quote"', 'multi\nline', ' padded '], ['1', '2', '3', '4', '5']];
    const text = formatCsv(['a', 'b', 'c', 'd', 'e'], rows);
    assert.match(text, /^a,b,c,d,e\nplain,"with,comma","with ""quote""","multi\nline"," padded "\n/);
    assert.deepEqual(parseCsv(text).rows, rows);
  });
});

describe('checkTable', () => {
  const rules = [IMAGE_NAME, SPECIES_LABEL, INDIVIDUAL_ID];

  it('reports missing columns and returns no rows', () => {
    const r = checkTable('train.csv', parseCsv('image,species\na.jpg,beluga\n'), rules);
    assert.equal(r.records.length, 0);
    assert.ok(r.issues.some((i) => i.kind === 'missing-column' && i.message.includes('"individual_id"')));
  });

  it('reports an unknown column but keeps the rows', () => {
    const r = checkTable('train.csv', parseCsv('image,species,individual_id,notes\na.jpg,beluga,abc,hello\n'), rules);
    assert.deepEqual(r.records.map((x) => x.values), [{ image: 'a.jpg', species: 'beluga', individual_id: 'abc' }]);
    assert.deepEqual(r.issues.map((i) => [i.kind, i.row]), [['unknown-column', 1]]);
  });

  it('skips short rows, empty and malformed fields and duplicate images, naming each line', () => {
    const text = ['image,species,individual_id', 'a.jpg,beluga,id1', 'b.jpg,beluga', 'c.jpg,,id3', 'd.txt,beluga,id4', 'e.jpg,Beluga Whale,id5', 'a.jpg,beluga,id6', 'f.jpg,beluga,id 7'].join('\n');
    const r = checkTable('train.csv', parseCsv(text), rules);
    assert.deepEqual(r.records.map((x) => x.line), [2]);
    assert.deepEqual(r.issues.map((i) => [i.row, i.kind]), [
      [3, 'field-count'], [4, 'empty-field'], [5, 'malformed-field'], [6, 'malformed-field'], [7, 'duplicate-image'], [8, 'malformed-field'],
    ]);
    assert.match(r.issues[4]!.message, /already listed on line 2/);
  });
});
