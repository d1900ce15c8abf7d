// A JPEG's EXIF, the little the field page needs: when the photo was taken (DateTimeOriginal, else
// DateTime) and where (the GPS IFD's latitude and longitude). Reads the APP1 "Exif" segment's TIFF
// structure directly; anything malformed gives nulls, never an error.

export interface PhotoExif {
  /** "YYYY-MM-DDTHH:MM:SS" (camera local time, as EXIF has no zone) or null. */
  date: string | null;
  latitude: number | null;
  longitude: number | null;
}

const NONE: PhotoExif = { date: null, latitude: null, longitude: null };

/** The APP1 EXIF segment's TIFF bytes of a JPEG, or null. */
function tiffOf(bytes: Uint8Array): DataView | null {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return null;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let p = 2;
  while (p + 4 <= bytes.length) {
    if (bytes[p] !== 0xff) return null;
    const marker = bytes[p + 1]!;
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01 || marker === 0xff) {
      p += marker === 0xff ? 1 : 2;
      continue;
    }
    if (marker === 0xda || marker === 0xd9) return null; // image data: no EXIF before it
    const len = v.getUint16(p + 2);
    if (len < 2 || p + 2 + len > bytes.length) return null;
    // "Exif\0\0"
    if (marker === 0xe1 && len >= 8 && v.getUint32(p + 4) === 0x45786966 && v.getUint16(p + 8) === 0) {
      return new DataView(bytes.buffer, bytes.byteOffset + p + 10, len - 8);
    }
    p += 2 + len;
  }
  return null;
}

interface Entry {
  type: number;
  count: number;
  /** Offset of the value (inline or pointed to) in the TIFF view. */
  at: number;
}

const TYPE_SIZE: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 7: 1, 9: 4, 10: 8 };

function readIfd(t: DataView, offset: number, le: boolean): Map<number, Entry> {
  const out = new Map<number, Entry>();
  if (offset + 2 > t.byteLength) return out;
  const n = t.getUint16(offset, le);
  for (let i = 0; i < n; i++) {
    const e = offset + 2 + i * 12;
    if (e + 12 > t.byteLength) break;
    const tag = t.getUint16(e, le);
    const type = t.getUint16(e + 2, le);
    const count = t.getUint32(e + 4, le);
    const size = (TYPE_SIZE[type] ?? 0) * count;
    if (size === 0) continue;
    const at = size <= 4 ? e + 8 : t.getUint32(e + 8, le);
    if (at + size > t.byteLength) continue;
    out.set(tag, { type, count, at });
  }
  return out;
}

function ascii(t: DataView, e: Entry | undefined): string | null {
  if (!e || e.type !== 2) return null;
  let s = '';
  for (let i = 0; i < e.count; i++) {
    const c = t.getUint8(e.at + i);
    if (c === 0) break;
    s += String.fromCharCode(c);
  }
  return s;
}

function long(t: DataView, e: Entry | undefined, le: boolean): number | null {
  if (!e) return null;
  return e.type === 4 ? t.getUint32(e.at, le) : e.type === 3 ? t.getUint16(e.at, le) : null;
}

/** Degrees, minutes, seconds (three rationals) as decimal degrees. */
function dms(t: DataView, e: Entry | undefined, le: boolean): number | null {
  if (!e || e.type !== 5 || e.count < 3) return null;
  let deg = 0;
  for (let i = 0; i < 3; i++) {
    const num = t.getUint32(e.at + i * 8, le);
    const den = t.getUint32(e.at + i * 8 + 4, le);
    if (den === 0) return i === 0 ? null : deg;
    deg += num / den / 60 ** i;
  }
  return deg;
}

/** "2024:07:01 10:00:00" -> "2024-07-01T10:00:00"; null when not a date. */
function exifDate(s: string | null): string | null {
  const m = s ? /^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})/.exec(s) : null;
  if (!m || m[1] === '0000') return null;
  const iso = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}`;
  return Number.isNaN(Date.parse(iso)) ? null : iso;
}

/** Date and GPS position from a photo's bytes (JPEG with EXIF; anything else gives nulls). */
export function readExif(bytes: Uint8Array): PhotoExif {
  try {
    const t = tiffOf(bytes);
    if (!t || t.byteLength < 8) return NONE;
    const order = t.getUint16(0);
    if (order !== 0x4949 && order !== 0x4d4d) return NONE;
    const le = order === 0x4949;
    if (t.getUint16(2, le) !== 42) return NONE;
    const ifd0 = readIfd(t, t.getUint32(4, le), le);
    const exifAt = long(t, ifd0.get(0x8769), le);
    const exif = exifAt !== null ? readIfd(t, exifAt, le) : new Map<number, Entry>();
    const date = exifDate(ascii(t, exif.get(0x9003))) ?? exifDate(ascii(t, ifd0.get(0x0132)));
    let latitude: number | null = null;
    let longitude: number | null = null;
    const gpsAt = long(t, ifd0.get(0x8825), le);
    if (gpsAt !== null) {
      const gps = readIfd(t, gpsAt, le);
      const lat = dms(t, gps.get(2), le);
      const lon = dms(t, gps.get(4), le);
      if (lat !== null && lon !== null && lat <= 90 && lon <= 180) {
        latitude = ascii(t, gps.get(1))?.toUpperCase() === 'S' ? -lat : lat;
        longitude = ascii(t, gps.get(3))?.toUpperCase() === 'W' ? -lon : lon;
      }
    }
    return { date, latitude, longitude };
  } catch {
    return NONE;
  }
}
