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
