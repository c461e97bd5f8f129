// Draws one frame stream of the natter-frame scheme (docs/desktop-ipc.md, "Frames to the page")
// on a canvas. Decoded pictures come as I420 over plain HTTP-style requests, one in flight per
// canvas; the GPU turns them into RGB (a fragment shader), so the page does no per-pixel work.
//
// Latency matters more than smoothness here: a picture is drawn the moment it arrives (no
// waiting for requestAnimationFrame) and the next request leaves right after. Rust only ever
// answers with the newest picture, so a slow page skips pictures instead of falling behind.

import { convertFileSrc } from "@tauri-apps/api/core";
import type { FrameStream } from "./ipc";

/** u32 width, u32 height, u32 seq, u32 format, f64 captured_at_ms, f64 ready_at_ms. */
const HEADER_BYTES = 32;
/** The header's format: planar YUV (WebGL converts) or RGBA (converted in Rust). */
const FORMAT_I420 = 0;
const FORMAT_RGBA = 1;
/** Back-off after a failed request (network error, 404, a malformed answer). */
const RETRY_MS = 500;
/** How often a canvas without a size (hidden) is looked at again. */
const NO_SIZE_POLL_MS = 250;
/** Latency samples kept per stream. */
const LATENCY_SAMPLES = 600;

// ---------------------------------------------------------------------------------------------
// Statistics, for tests and benchmarks (window.__natterVideo)

export type StreamStats = {
  frames: number;
  last_seq: number;
  width: number;
  height: number;
  /** The last samples (oldest first) of drawn_at - ready_at, in milliseconds. */
  latency_ms: number[];
  /** When the first frame (since the last reset) was drawn, ms since the Unix epoch; 0 before. */
  since_ms: number;
};

export type VideoStatsApi = {
  stats(): Record<string, StreamStats>;
  reset(): void;
  /** The latency samples recorded since the last call, per stream, which are then forgotten:
   * a benchmark calling it more often than every LATENCY_SAMPLES pictures misses none. */
  takeLatency(): Record<string, number[]>;
};

declare global {
  interface Window {
    __natterVideo?: VideoStatsApi;
  }
}

/** Counters of one stream; a fixed ring of latencies, so recording a frame allocates nothing. */
class StreamCounters {
  frames = 0;
  lastSeq = 0;
  width = 0;
  height = 0;
  sinceMs = 0;
  private readonly latency = new Float64Array(LATENCY_SAMPLES);
  private latencyCount = 0;
  private latencyNext = 0;

  record(seq: number, width: number, height: number, drawnAt: number, readyAt: number): void {
    if (this.frames === 0) {
      this.sinceMs = drawnAt;
    }
    this.frames += 1;
    this.lastSeq = seq;
    this.width = width;
    this.height = height;
    this.latency[this.latencyNext] = drawnAt - readyAt;
    this.latencyNext = (this.latencyNext + 1) % LATENCY_SAMPLES;
    this.latencyCount = Math.min(this.latencyCount + 1, LATENCY_SAMPLES);
  }

  snapshot(): StreamStats {
    const latency: number[] = [];
    const first = (this.latencyNext - this.latencyCount + LATENCY_SAMPLES) % LATENCY_SAMPLES;
    for (let i = 0; i < this.latencyCount; i += 1) {
      latency.push(this.latency[(first + i) % LATENCY_SAMPLES] ?? 0);
    }
    return {
      frames: this.frames,
      last_seq: this.lastSeq,
      width: this.width,
      height: this.height,
      latency_ms: latency,
      since_ms: this.sinceMs,
    };
  }

  /** The latency samples so far, oldest first, which are then forgotten. */
  takeLatency(): number[] {
    const taken = this.snapshot().latency_ms;
    this.latencyCount = 0;
    this.latencyNext = 0;
    return taken;
  }

  /** Starts measuring afresh; what the stream currently shows (seq, size) stays. */
  reset(): void {
    this.frames = 0;
    this.sinceMs = 0;
    this.latencyCount = 0;
    this.latencyNext = 0;
  }
}

const counters = new Map<string, StreamCounters>();

function countersOf(stream: string): StreamCounters {
  let known = counters.get(stream);
  if (known === undefined) {
    known = new StreamCounters();
    counters.set(stream, known);
  }
  return known;
}

window.__natterVideo = {
  stats: () => {
    const result: Record<string, StreamStats> = {};
    for (const [stream, known] of counters) {
      result[stream] = known.snapshot();
    }
    return result;
  },
  reset: () => {
    for (const known of counters.values()) {
      known.reset();
    }
  },
  takeLatency: () => {
    const result: Record<string, number[]> = {};
    for (const [stream, known] of counters) {
      result[stream] = known.takeLatency();
    }
    return result;
  },
};

// ---------------------------------------------------------------------------------------------
// WebGL: I420 to RGB

const VERTEX_SHADER = `
attribute vec2 a_position;
varying vec2 v_texcoord;
void main() {
  // Row 0 of each plane is the top of the picture: flip y instead of the uploaded data.
  v_texcoord = vec2(a_position.x * 0.5 + 0.5, 0.5 - a_position.y * 0.5);
  gl_Position = vec4(a_position, 0.0, 1.0);
}
`;

// BT.601, limited range (16-235 luma, 16-240 chroma), the range the decoders and cameras give.
const FRAGMENT_SHADER = `
precision mediump float;
varying vec2 v_texcoord;
uniform sampler2D u_y;
uniform sampler2D u_u;
uniform sampler2D u_v;
void main() {
  float y = 1.164 * (texture2D(u_y, v_texcoord).r - 16.0 / 255.0);
  float u = texture2D(u_u, v_texcoord).r - 0.5;
  float v = texture2D(u_v, v_texcoord).r - 0.5;
  vec3 rgb = vec3(y + 1.596 * v, y - 0.391 * u - 0.813 * v, y + 2.018 * u);
  gl_FragColor = vec4(clamp(rgb, 0.0, 1.0), 1.0);
}
`;

/** Draws pictures on one canvas. */
interface Painter {
  readonly usable: boolean;
  /** The `format` the painter asks the scheme for. */
  readonly format: "i420" | "rgba";
  /** Draws the picture in `body` (after the header); false when it could not. */
  draw(width: number, height: number, format: number, body: ArrayBuffer): boolean;
  dispose(): void;
}

/** RGBA converted in Rust, put on a 2D canvas as it is: no GL, which without a GPU is a
 * software rasteriser plus a read back for every picture. */
class RgbaPainter implements Painter {
  readonly format = "rgba";
  private readonly context: CanvasRenderingContext2D | null;

  constructor(canvas: HTMLCanvasElement) {
    this.context = canvas.getContext("2d", { alpha: false, desynchronized: true });
    if (this.context === null) {
      console.error("video: the canvas has no 2D context, pictures cannot be shown");
    }
  }

  get usable(): boolean {
    return this.context !== null;
  }

  draw(width: number, height: number, format: number, body: ArrayBuffer): boolean {
    const bytes = width * height * 4;
    if (this.context === null || format !== FORMAT_RGBA || HEADER_BYTES + bytes > body.byteLength) {
      return false;
    }
    const pixels = new Uint8ClampedArray(body, HEADER_BYTES, bytes);
    this.context.putImageData(new ImageData(pixels, width, height), 0, 0);
    return true;
  }

  dispose(): void {}
}

type Plane = { texture: WebGLTexture; width: number; height: number };

type GlResources = { program: WebGLProgram; buffer: WebGLBuffer; planes: [Plane, Plane, Plane] };

/** The GL side of one canvas: a program, a quad and one LUMINANCE texture per plane. */
class I420Painter implements Painter {
  readonly format = "i420";
  private readonly canvas: HTMLCanvasElement;
  private readonly gl: WebGLRenderingContext | null;
  private resources: GlResources | null = null;

  private readonly handleLost = (event: Event): void => {
    // Without preventDefault the context is never restored.
    event.preventDefault();
    this.resources = null;
  };

  private readonly handleRestored = (): void => {
    this.resources = this.create();
  };

  constructor(canvas: HTMLCanvasElement) {
    this.canvas = canvas;
    this.gl = canvas.getContext("webgl", {
      alpha: false,
      antialias: false,
      depth: false,
      stencil: false,
      premultipliedAlpha: false,
      preserveDrawingBuffer: false,
      // A hint to skip the compositor's extra buffering where the webview supports it.
      desynchronized: true,
    });
    if (this.gl === null) {
      console.error("video: WebGL is not available, pictures cannot be shown");
      return;
    }
    canvas.addEventListener("webglcontextlost", this.handleLost);
    canvas.addEventListener("webglcontextrestored", this.handleRestored);
    this.resources = this.create();
  }

  get usable(): boolean {
    return this.gl !== null;
  }

  /** Draws an I420 picture; its chroma planes are half the size, rounded up or down. */
  draw(width: number, height: number, format: number, body: ArrayBuffer): boolean {
    const gl = this.gl;
    const resources = this.resources;
    if (format !== FORMAT_I420 || gl === null || resources === null || gl.isContextLost()) {
      return false;
    }
    const lumaBytes = width * height;
    // The contract sizes chroma planes width/2 × height/2; for odd sizes, accept both rounding
    // up (the usual I420 layout) and down, whichever the body holds.
    let chromaWidth = (width + 1) >>> 1;
    let chromaHeight = (height + 1) >>> 1;
    if (HEADER_BYTES + lumaBytes + 2 * chromaWidth * chromaHeight > body.byteLength) {
      chromaWidth = width >>> 1;
      chromaHeight = height >>> 1;
    }
    const chromaBytes = chromaWidth * chromaHeight;
    if (HEADER_BYTES + lumaBytes + 2 * chromaBytes > body.byteLength) {
      return false;
    }
    const planes = new Uint8Array(body, HEADER_BYTES);
    const y = planes.subarray(0, lumaBytes);
    const u = planes.subarray(lumaBytes, lumaBytes + chromaBytes);
    const v = planes.subarray(lumaBytes + chromaBytes, lumaBytes + 2 * chromaBytes);
    const [yPlane, uPlane, vPlane] = resources.planes;
    upload(gl, 0, yPlane, width, height, y);
    upload(gl, 1, uPlane, chromaWidth, chromaHeight, u);
    upload(gl, 2, vPlane, chromaWidth, chromaHeight, v);
    gl.viewport(0, 0, width, height);
    gl.drawArrays(gl.TRIANGLE_STRIP, 0, 4);
    gl.flush();
    return true;
  }

  dispose(): void {
    const gl = this.gl;
    this.canvas.removeEventListener("webglcontextlost", this.handleLost);
    this.canvas.removeEventListener("webglcontextrestored", this.handleRestored);
    const resources = this.resources;
    this.resources = null;
    // The context belongs to the canvas and outlives this painter (a canvas can get a new
    // renderer later): free what was made for it.
    if (gl !== null && resources !== null && !gl.isContextLost()) {
      for (const plane of resources.planes) {
        gl.deleteTexture(plane.texture);
      }
      gl.deleteBuffer(resources.buffer);
      gl.deleteProgram(resources.program);
    }
  }

  private create(): GlResources | null {
    const gl = this.gl;
    if (gl === null || gl.isContextLost()) {
      return null;
    }
    const program = linkProgram(gl);
    const buffer = gl.createBuffer();
    if (program === null || buffer === null) {
      return null;
    }
    gl.useProgram(program);
    gl.bindBuffer(gl.ARRAY_BUFFER, buffer);
    gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([-1, -1, 1, -1, -1, 1, 1, 1]), gl.STATIC_DRAW);
    const position = gl.getAttribLocation(program, "a_position");
    gl.enableVertexAttribArray(position);
    gl.vertexAttribPointer(position, 2, gl.FLOAT, false, 0, 0);
    // Rows of a plane are packed: a chroma plane of an odd width has rows of odd length, which
    // the default alignment of 4 would misread.
    gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);

    const planes: Plane[] = [];
    for (const [unit, name] of [
      [0, "u_y"],
      [1, "u_u"],
      [2, "u_v"],
    ] as const) {
      const texture = gl.createTexture();
      if (texture === null) {
        return null;
      }
      gl.activeTexture(gl.TEXTURE0 + unit);
      gl.bindTexture(gl.TEXTURE_2D, texture);
      // Sizes are not powers of two: WebGL 1 then needs clamping and no mipmaps.
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.LINEAR);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.LINEAR);
      gl.uniform1i(gl.getUniformLocation(program, name), unit);
      planes.push({ texture, width: 0, height: 0 });
    }
    const [yPlane, uPlane, vPlane] = planes;
    if (yPlane === undefined || uPlane === undefined || vPlane === undefined) {
      return null;
    }
    // Black until the first picture, also when the canvas showed another stream before.
    gl.clearColor(0, 0, 0, 1);
    gl.clear(gl.COLOR_BUFFER_BIT);
    return { program, buffer, planes: [yPlane, uPlane, vPlane] };
  }
}

/** Puts a plane into its texture; the texture is reallocated only when the size changed. */
function upload(
  gl: WebGLRenderingContext,
  unit: number,
  plane: Plane,
  width: number,
  height: number,
  data: Uint8Array,
): void {
  gl.activeTexture(gl.TEXTURE0 + unit);
  gl.bindTexture(gl.TEXTURE_2D, plane.texture);
  if (plane.width === width && plane.height === height) {
    gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, width, height, gl.LUMINANCE, gl.UNSIGNED_BYTE, data);
  } else {
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.LUMINANCE, width, height, 0, gl.LUMINANCE, gl.UNSIGNED_BYTE, data);
    plane.width = width;
    plane.height = height;
  }
}

function compile(gl: WebGLRenderingContext, type: number, source: string): WebGLShader | null {
  const shader = gl.createShader(type);
  if (shader === null) {
    return null;
  }
  gl.shaderSource(shader, source);
  gl.compileShader(shader);
  if (gl.getShaderParameter(shader, gl.COMPILE_STATUS) !== true && !gl.isContextLost()) {
    console.error("video: shader does not compile", gl.getShaderInfoLog(shader));
    gl.deleteShader(shader);
    return null;
  }
  return shader;
}

function linkProgram(gl: WebGLRenderingContext): WebGLProgram | null {
  const vertex = compile(gl, gl.VERTEX_SHADER, VERTEX_SHADER);
  const fragment = compile(gl, gl.FRAGMENT_SHADER, FRAGMENT_SHADER);
  const program = gl.createProgram();
  if (vertex === null || fragment === null || program === null) {
    return null;
  }
  gl.attachShader(program, vertex);
  gl.attachShader(program, fragment);
  gl.linkProgram(program);
  // The program keeps what it needs; the shaders go once it is linked.
  gl.deleteShader(vertex);
  gl.deleteShader(fragment);
  if (gl.getProgramParameter(program, gl.LINK_STATUS) !== true && !gl.isContextLost()) {
    console.error("video: program does not link", gl.getProgramInfoLog(program));
    gl.deleteProgram(program);
    return null;
  }
  return program;
}

// ---------------------------------------------------------------------------------------------
// The pull loop

/** How pictures cross into the page: `localStorage["natter.videoFormat"]` may choose. */
function videoFormat(): "i420" | "rgba" {
  return window.localStorage.getItem("natter.videoFormat") === "i420" ? "i420" : "rgba";
}

export type VideoRendererOptions = {
  /** This renderer drew its first picture (the canvas may keep an earlier renderer's size). */
  onFirstPicture?: () => void;
};

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}

/**
 * Shows frame stream `stream` on `canvas` until disposed. The canvas gets the picture's size in
 * pixels; CSS decides how large it looks (object-fit: contain).
 */
export class VideoRenderer {
  private readonly canvas: HTMLCanvasElement;
  private readonly stream: FrameStream;
  private readonly options: VideoRendererOptions;
  private readonly painter: Painter;
  private readonly counters: StreamCounters;
  private readonly abort = new AbortController();
  /** The seq of the last picture received; 0 asks for whatever is newest. */
  private seq = 0;
  private requestWidth = 0;
  private requestHeight = 0;
  /** Failures are logged once per renderer, not on every retry. */
  private failureLogged = false;
  private drewOnce = false;

  constructor(canvas: HTMLCanvasElement, stream: FrameStream, options: VideoRendererOptions = {}) {
    this.canvas = canvas;
    this.stream = stream;
    this.options = options;
    this.painter = videoFormat() === "rgba" ? new RgbaPainter(canvas) : new I420Painter(canvas);
    this.counters = countersOf(stream);
    if (this.painter.usable) {
      void this.run();
    }
  }

  /** Stops pulling (the request in flight is aborted) and frees the GL resources. */
  dispose(): void {
    if (!this.abort.signal.aborted) {
      this.abort.abort();
      this.painter.dispose();
    }
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    const base = convertFileSrc(this.stream, "natter-frame");
    while (!signal.aborted) {
      if (!this.measure()) {
        // Hidden (display: none) or not laid out yet: nothing to draw into.
        await sleep(NO_SIZE_POLL_MS, signal);
        continue;
      }
      try {
        // A signal per request: handlers added to one long-lived signal by every fetch are
        // not removed by every engine, and would pile up over a long call.
        const request = new AbortController();
        const abortRequest = (): void => request.abort();
        signal.addEventListener("abort", abortRequest, { once: true });
        const response = await fetch(
          `${base}?after=${this.seq}&width=${this.requestWidth}&height=${this.requestHeight}` +
            `&format=${this.painter.format}`,
          { signal: request.signal },
        ).finally(() => signal.removeEventListener("abort", abortRequest));
        if (response.status === 200) {
          const body = await response.arrayBuffer();
          if (!signal.aborted && !this.show(body)) {
            await sleep(RETRY_MS, signal);
          }
        } else if (response.status !== 204) {
          // 204: nothing newer within a second, ask again at once. Anything else is a failure.
          response.body?.cancel().catch(() => undefined);
          this.failed(`HTTP ${response.status}`);
          await sleep(RETRY_MS, signal);
        }
      } catch (error: unknown) {
        if (signal.aborted) {
          return;
        }
        this.failed(error);
        await sleep(RETRY_MS, signal);
      }
    }
  }

  /** The canvas size in device pixels, rounded down to even (I420 halves it); false if none. */
  private measure(): boolean {
    const ratio = window.devicePixelRatio > 0 ? window.devicePixelRatio : 1;
    this.requestWidth = Math.floor((this.canvas.clientWidth * ratio) / 2) * 2;
    this.requestHeight = Math.floor((this.canvas.clientHeight * ratio) / 2) * 2;
    return this.requestWidth > 0 && this.requestHeight > 0;
  }

  /** Draws one answer; false when it is not a picture. */
  private show(body: ArrayBuffer): boolean {
    if (body.byteLength < HEADER_BYTES) {
      this.failed(`answer of ${body.byteLength} bytes has no header`);
      return false;
    }
    const header = new DataView(body, 0, HEADER_BYTES);
    const width = header.getUint32(0, true);
    const height = header.getUint32(4, true);
    const seq = header.getUint32(8, true);
    const format = header.getUint32(12, true);
    const readyAt = header.getFloat64(24, true);
    // Moves on even when the picture is unusable: asking again for the same `after` would get
    // the same picture back at once.
    this.seq = seq;
    if (width === 0 || height === 0) {
      this.failed(`picture ${width}x${height} is empty`);
      return false;
    }
    if (this.canvas.width !== width || this.canvas.height !== height) {
      // Setting the size, even to the same value, reallocates the drawing buffer: only on change.
      this.canvas.width = width;
      this.canvas.height = height;
    }
    const drawn = this.painter.draw(width, height, format, body);
    if (!drawn) {
      this.failed(`picture ${width}x${height} (format ${format}) in ${body.byteLength} bytes`);
    } else {
      const drawnAt = performance.timeOrigin + performance.now();
      this.counters.record(seq, width, height, drawnAt, readyAt);
      if (!this.drewOnce) {
        this.drewOnce = true;
        this.options.onFirstPicture?.();
      }
    }
    // A lost context is restored by the browser; until then pictures are skipped, not retried.
    return true;
  }

  private failed(reason: unknown): void {
    if (!this.failureLogged) {
      this.failureLogged = true;
      console.warn(`video: stream ${this.stream} failed, retrying`, reason);
    }
  }
}
