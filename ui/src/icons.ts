// Small stroke icons, built as SVG elements (no markup strings, no remote assets).

const SVG_NS = "http://www.w3.org/2000/svg";

const PATHS = {
  clock: ["M12 7v5l3 2", "M12 3a9 9 0 1 0 0 18a9 9 0 1 0 0-18z"],
  tick: ["M5 12.5l4.5 4.5L19 7.5"],
  ticks: ["M2 12.5l4.5 4.5L16 7.5", "M11.5 16l1 1L22 7.5"],
  alert: ["M12 8v5", "M12 16.5v.5", "M12 3a9 9 0 1 0 0 18a9 9 0 1 0 0-18z"],
  more: ["M5 12h.01", "M12 12h.01", "M19 12h.01"],
  send: ["M4 12l16-8-6 16-2.5-6.5z", "M11.5 13.5L20 4"],
  search: ["M10.5 4a6.5 6.5 0 1 0 0 13a6.5 6.5 0 1 0 0-13z", "M15.5 15.5L20 20"],
  close: ["M6 6l12 12", "M18 6L6 18"],
  back: ["M15 5l-7 7 7 7"],
  down: ["M12 5v14", "M6 13l6 6 6-6"],
  group: [
    "M9 11a3.5 3.5 0 1 0 0-7a3.5 3.5 0 1 0 0 7z",
    "M3 20c0-3.3 2.7-6 6-6s6 2.7 6 6",
    "M16 4.5a3.5 3.5 0 0 1 0 6.5",
    "M18 14.5c1.8.8 3 2.8 3 5.5",
  ],
  // A handset, earpiece top left; "hangup" is the same handset, turned down by CSS.
  phone: ["M6.5 3.5h3l1.5 4.5-2 1.5a11 11 0 0 0 5.5 5.5l1.5-2 4.5 1.5v3a2 2 0 0 1-2 2A16 16 0 0 1 4.5 5.5a2 2 0 0 1 2-2z"],
  hangup: ["M6.5 3.5h3l1.5 4.5-2 1.5a11 11 0 0 0 5.5 5.5l1.5-2 4.5 1.5v3a2 2 0 0 1-2 2A16 16 0 0 1 4.5 5.5a2 2 0 0 1 2-2z"],
  video: ["M4 7h9a2 2 0 0 1 2 2v6a2 2 0 0 1-2 2H4a2 2 0 0 1-2-2V9a2 2 0 0 1 2-2z", "M15 10.5l6-3.5v10l-6-3.5"],
  "video-off": [
    "M4 7h9a2 2 0 0 1 2 2v6a2 2 0 0 1-2 2H4a2 2 0 0 1-2-2V9a2 2 0 0 1 2-2z",
    "M15 10.5l6-3.5v10l-6-3.5",
    "M3 3l18 18",
  ],
  mic: ["M12 3a3 3 0 0 1 3 3v5a3 3 0 0 1-6 0V6a3 3 0 0 1 3-3z", "M5.5 11a6.5 6.5 0 0 0 13 0", "M12 17.5V21", "M9 21h6"],
  "mic-off": [
    "M12 3a3 3 0 0 1 3 3v5a3 3 0 0 1-6 0V6a3 3 0 0 1 3-3z",
    "M5.5 11a6.5 6.5 0 0 0 13 0",
    "M12 17.5V21",
    "M9 21h6",
    "M3 3l18 18",
  ],
  speaker: ["M4 9h4l5-4v14l-5-4H4z", "M16.5 9a4.5 4.5 0 0 1 0 6", "M19 6.5a8 8 0 0 1 0 11"],
  sliders: ["M4 7h9", "M17 7h3", "M15 5v4", "M4 12h3", "M11 12h9", "M9 10v4", "M4 17h11", "M19 17h1", "M17 15v4"],
  fullscreen: ["M4 9V4h5", "M15 4h5v5", "M20 15v5h-5", "M9 20H4v-5"],
  "fullscreen-exit": ["M9 4v5H4", "M20 9h-5V4", "M15 20v-5h5", "M4 15h5v5"],
  incoming: ["M18 6L7 17", "M7 9v8h8"],
  outgoing: ["M6 18L17 7", "M9 7h8v8"],
  smile: ["M12 3a9 9 0 1 0 0 18a9 9 0 1 0 0-18z", "M8.5 14a4 4 0 0 0 7 0", "M9 9.5h.01", "M15 9.5h.01"],
  reply: ["M10 8L5 12.5 10 17", "M5 12.5h9a5 5 0 0 1 5 5V19"],
  "bell-off": ["M6 17V11a6 6 0 0 1 9.5-4.9", "M18 11v6", "M4 17h16", "M10 20.5a2 2 0 0 0 4 0", "M3 3l18 18"],
  bell: ["M6 17V11a6 6 0 0 1 12 0v6", "M4 17h16", "M10 20.5a2 2 0 0 0 4 0"],
  chat: ["M5 4h14a2 2 0 0 1 2 2v9a2 2 0 0 1-2 2H10l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"],
  paperclip: ["M20 11.5l-8.2 8.2a5 5 0 0 1-7.1-7.1l8.5-8.5a3.3 3.3 0 0 1 4.7 4.7l-8.5 8.5a1.7 1.7 0 0 1-2.4-2.4l7.8-7.8"],
  file: ["M14 3H7a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h10a2 2 0 0 0 2-2V8z", "M14 3v5h5"],
  "file-text": ["M14 3H7a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h10a2 2 0 0 0 2-2V8z", "M14 3v5h5", "M9 13h6", "M9 17h6"],
  archive: ["M4 4h16v4H4z", "M5 8v11a1 1 0 0 0 1 1h12a1 1 0 0 0 1-1V8", "M10 12h4"],
  music: ["M9 18V5l11-2v13", "M6 21a3 3 0 1 0 0-6a3 3 0 1 0 0 6z", "M17 19a3 3 0 1 0 0-6a3 3 0 1 0 0 6z"],
  film: ["M4 4h16v16H4z", "M8 4v16", "M16 4v16", "M4 9h4", "M4 15h4", "M16 9h4", "M16 15h4"],
  image: ["M4 4h16v16H4z", "M9 10a1.5 1.5 0 1 0 0-3a1.5 1.5 0 1 0 0 3z", "M20 15l-5-5-11 10"],
  download: ["M12 4v11", "M7 10l5 5 5-5", "M5 20h14"],
  folder: ["M3 6a2 2 0 0 1 2-2h4l2 2h8a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2z"],
  "open-external": ["M14 4h6v6", "M20 4l-9 9", "M18 14v5a1 1 0 0 1-1 1H5a1 1 0 0 1-1-1V7a1 1 0 0 1 1-1h5"],
  forward: ["M9 5l7 7-7 7"],
  "zoom-in": ["M10.5 4a6.5 6.5 0 1 0 0 13a6.5 6.5 0 1 0 0-13z", "M15.5 15.5L20 20", "M8 10.5h5", "M10.5 8v5"],
  "zoom-out": ["M10.5 4a6.5 6.5 0 1 0 0 13a6.5 6.5 0 1 0 0-13z", "M15.5 15.5L20 20", "M8 10.5h5"],
} as const;

export type IconName = keyof typeof PATHS;

export function icon(name: IconName, size = 18): SVGSVGElement {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", String(size));
  svg.setAttribute("height", String(size));
  svg.setAttribute("fill", "none");
  svg.setAttribute("stroke", "currentColor");
  svg.setAttribute("stroke-width", "2");
  svg.setAttribute("stroke-linecap", "round");
  svg.setAttribute("stroke-linejoin", "round");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  svg.classList.add("icon", `icon-${name}`);
  for (const d of PATHS[name]) {
    const path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", d);
    svg.appendChild(path);
  }
  return svg;
}
