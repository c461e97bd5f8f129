// Formatting of times and names for display. Times are milliseconds since the Unix epoch and are
// shown in the local time zone and the system's locale (`undefined` locale).

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const clockFormat = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });
const weekdayFormat = new Intl.DateTimeFormat(undefined, { weekday: "short" });
const shortDateFormat = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short" });
const shortDateYearFormat = new Intl.DateTimeFormat(undefined, {
  day: "numeric",
  month: "short",
  year: "numeric",
});
const dayFormat = new Intl.DateTimeFormat(undefined, {
  weekday: "long",
  day: "numeric",
  month: "long",
});
const dayYearFormat = new Intl.DateTimeFormat(undefined, {
  weekday: "long",
  day: "numeric",
  month: "long",
  year: "numeric",
});
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "short" });

/** Local midnight of the day containing `ms`. */
function startOfDay(ms: number): number {
  const date = new Date(ms);
  date.setHours(0, 0, 0, 0);
  return date.getTime();
}

/** Whole local calendar days from `ms` to `now` (0 = same day); DST-safe. */
function daysAgo(ms: number, now: number): number {
  return Math.round((startOfDay(now) - startOfDay(ms)) / DAY);
}

/** Key identifying the local calendar day, for grouping messages. */
export function dayKey(ms: number): string {
  const date = new Date(ms);
  return `${date.getFullYear()}-${date.getMonth() + 1}-${date.getDate()}`;
}

/** "Today", "Yesterday", or the date, for a separator between days. */
export function dayLabel(ms: number, now: number = Date.now()): string {
  const days = daysAgo(ms, now);
  if (days === 0) {
    return "Today";
  }
  if (days === 1) {
    return "Yesterday";
  }
  const sameYear = new Date(ms).getFullYear() === new Date(now).getFullYear();
  return (sameYear ? dayFormat : dayYearFormat).format(ms);
}

/** Time of day, for a message. */
export function clockTime(ms: number): string {
  return clockFormat.format(ms);
}

/** Full date and time, for tooltips. */
export function fullDateTime(ms: number): string {
  return fullFormat.format(ms);
}

/** Short relative time for the conversation list: "now", "5 min", "14:05", "Yesterday", "Mon". */
export function relativeTime(ms: number, now: number = Date.now()): string {
  const elapsed = now - ms;
  if (elapsed < MINUTE) {
    return "now";
  }
  if (elapsed < HOUR) {
    return `${Math.floor(elapsed / MINUTE)} min`;
  }
  const days = daysAgo(ms, now);
  if (days <= 0) {
    return clockFormat.format(ms);
  }
  if (days === 1) {
    return "Yesterday";
  }
  if (days < 7) {
    return weekdayFormat.format(ms);
  }
  const sameYear = new Date(ms).getFullYear() === new Date(now).getFullYear();
  return (sameYear ? shortDateFormat : shortDateYearFormat).format(ms);
}

/** "Last seen 5 min ago" and the like, for a contact that is offline. */
export function lastSeen(ms: number, now: number = Date.now()): string {
  const elapsed = now - ms;
  if (elapsed < MINUTE) {
    return "Last seen just now";
  }
  if (elapsed < HOUR) {
    return `Last seen ${Math.floor(elapsed / MINUTE)} min ago`;
  }
  const days = daysAgo(ms, now);
  if (days <= 0) {
    return `Last seen today at ${clockFormat.format(ms)}`;
  }
  if (days === 1) {
    return `Last seen yesterday at ${clockFormat.format(ms)}`;
  }
  return `Last seen ${shortDateYearFormat.format(ms)}`;
}

/** Up to two initials of a name, for an avatar without a picture. */
export function initials(name: string): string {
  // The first letter or digit of the first and last words; punctuation is skipped.
  const letters = name
    .split(/\s+/u)
    .map((word) => /[\p{L}\p{N}]/u.exec(word)?.[0])
    .filter((letter): letter is string => letter !== undefined);
  const first = letters[0] ?? "";
  const last = letters.length >= 2 ? (letters[letters.length - 1] ?? "") : "";
  return (first + last).toLocaleUpperCase();
}

/** A number from 0 to buckets-1 that stays the same for the same text (avatar colours). */
export function hashBucket(text: string, buckets: number): number {
  let hash = 0;
  for (let i = 0; i < text.length; i += 1) {
    hash = (hash * 31 + text.charCodeAt(i)) | 0;
  }
  return Math.abs(hash) % buckets;
}

/** "Bob is typing…", "Bob and Ann are typing…", "Several people are typing…". */
export function typingText(names: readonly string[]): string {
  if (names.length === 0) {
    return "";
  }
  if (names.length === 1) {
    return `${names[0] ?? ""} is typing…`;
  }
  if (names.length === 2) {
    return `${names[0] ?? ""} and ${names[1] ?? ""} are typing…`;
  }
  return "Several people are typing…";
}

export function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** Talk time of a running call, mm:ss or h:mm:ss: "00:07", "03:02", "1:04:09". */
export function callDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = String(Math.floor((total % 3600) / 60)).padStart(2, "0");
  const seconds = String(total % 60).padStart(2, "0");
  return hours > 0 ? `${hours}:${minutes}:${seconds}` : `${minutes}:${seconds}`;
}

/** A size for people: "512 B", "1.5 KB", "12 MB", "1.2 GB" (powers of 1024, as file managers
 * on Windows show them). */
export function fileSize(bytes: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const shown = unit === 0 || value >= 10 ? Math.round(value).toString() : value.toFixed(1);
  return `${shown} ${units[unit] ?? "B"}`;
}
