// Imported first by tests that work with local time: a zone with daylight saving time, so the
// 23- and 25-hour days are really tested. Node applies a TZ set at run time to `Date` and to
// `Intl` formats created afterwards (format.ts creates its formats when it is first imported).
process.env["TZ"] = "Europe/Berlin";
