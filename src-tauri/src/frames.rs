//! Decoded pictures to the page: the `natter-frame` scheme (docs/desktop-ipc.md, "Frames to the
//! page"). Each stream keeps only its newest picture; the page pulls with one request in
//! flight, so a page that draws slower than pictures arrive skips pictures instead of queueing
//! them, and nothing grows over a long call. Pictures are scaled down to the size they are drawn
//! at before they cross into the webview.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicU32, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use natter_media::{VideoFrame, devices::VideoSink, scale::Scaler};
use tauri::http::{Request, Response, StatusCode, header};
use tokio::sync::watch;

/// The scheme the page fetches pictures from.
pub const SCHEME: &str = "natter-frame";
/// How long a request waits for a newer picture before answering 204.
const LONGEST_WAIT: Duration = Duration::from_secs(1);
/// Bytes before the picture: width, height, seq, format (u32), captured at, ready at (f64).
pub const HEADER_LEN: usize = 32;
/// Largest drawing size a page may ask for, per side (a 4K screen at 2x is within it).
const MAX_SIDE: u32 = 8192;

/// How the picture's bytes are laid out, as the page asks (`format=`) and the header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    /// Planar Y, U, V, chroma at half size: the smallest, for a page that converts (WebGL).
    I420 = 0,
    /// Converted here, rows of `width * 4` bytes: for a page that draws with `putImageData`.
    Rgba = 1,
}

/// The answer to a request.
#[derive(Debug, PartialEq, Eq)]
enum Next {
    /// The body: header and picture.
    Picture(Vec<u8>),
    /// Nothing newer within [`LONGEST_WAIT`].
    Nothing,
    /// The newest picture cannot be given in the format asked (an odd size as RGBA).
    Unusable,
}

/// A picture ready for the page.
struct Ready {
    seq: u32,
    frame: VideoFrame,
    ready_at_ms: f64,
}

/// One stream of pictures (the peer's video, my self view, the settings' camera test).
pub struct FrameStream {
    latest: watch::Sender<Option<Arc<Ready>>>,
    scaler: Mutex<Scaler>,
}

/// Numbers pictures across every stream and call, so a page never mistakes a new call's first
/// picture for one it drew.
static NEXT_SEQ: AtomicU32 = AtomicU32::new(1);

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |elapsed| elapsed.as_secs_f64() * 1000.0)
}

impl FrameStream {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            latest: watch::Sender::new(None),
            scaler: Mutex::new(Scaler::default()),
        })
    }

    /// Forgets the last picture (the call ended: the next one must not show it).
    pub fn clear(&self) {
        self.latest.send_replace(None);
    }

    /// The first picture newer than `after`, waiting up to [`LONGEST_WAIT`], fitted in
    /// `width` x `height`, as the response body.
    async fn next_after(
        self: &Arc<Self>,
        after: u32,
        width: u32,
        height: u32,
        format: Format,
    ) -> Next {
        let mut latest = self.latest.subscribe();
        let waited = tokio::time::timeout(
            LONGEST_WAIT,
            latest.wait_for(|ready| ready.as_ref().is_some_and(|ready| ready.seq > after)),
        )
        .await;
        let Some(ready) = waited
            .ok()
            .and_then(Result::ok)
            .and_then(|ready| ready.clone())
        else {
            return Next::Nothing;
        };
        // Scaling and converting take milliseconds per picture: not on the async workers.
        let stream = self.clone();
        let encoded = tokio::task::spawn_blocking(move || {
            let scaled = stream
                .scaler
                .lock()
                .ok()
                .and_then(|mut scaler| scaler.fit_within(&ready.frame, width, height));
            let frame = scaled.as_ref().unwrap_or(&ready.frame);
            encode(frame, ready.seq, ready.ready_at_ms, format)
        })
        .await;
        match encoded {
            Ok(Some(body)) => Next::Picture(body),
            Ok(None) => Next::Unusable,
            Err(error) => {
                tracing::warn!(%error, "picture not prepared");
                Next::Unusable
            }
        }
    }
}

impl VideoSink for FrameStream {
    fn frame(&self, frame: VideoFrame) {
        let seq = NEXT_SEQ.fetch_add(1, Ordering::Relaxed);
        self.latest.send_replace(Some(Arc::new(Ready {
            seq,
            frame,
            ready_at_ms: now_ms(),
        })));
    }
}

/// The header and the picture, as the page reads them; `None` if it cannot be converted.
fn encode(frame: &VideoFrame, seq: u32, ready_at_ms: f64, format: Format) -> Option<Vec<u8>> {
    let pixels = frame.luma_len();
    let picture_len = match format {
        Format::I420 => frame.data.len(),
        Format::Rgba => pixels * 4,
    };
    let mut body = Vec::with_capacity(HEADER_LEN + picture_len);
    body.extend_from_slice(&frame.width.to_le_bytes());
    body.extend_from_slice(&frame.height.to_le_bytes());
    body.extend_from_slice(&seq.to_le_bytes());
    body.extend_from_slice(&(format as u32).to_le_bytes());
    body.extend_from_slice(&(frame.captured_at_us as f64 / 1000.0).to_le_bytes());
    body.extend_from_slice(&ready_at_ms.to_le_bytes());
    match format {
        Format::I420 => body.extend_from_slice(&frame.data),
        Format::Rgba => frame.append_rgba(&mut body)?,
    }
    Some(body)
}

/// The app's picture streams; managed by Tauri.
pub struct Streams {
    /// The peer's video.
    pub remote: Arc<FrameStream>,
    /// My camera as it is sent (the self view).
    pub local: Arc<FrameStream>,
    /// The camera test in the settings.
    pub preview: Arc<FrameStream>,
}

impl Default for Streams {
    fn default() -> Self {
        Self {
            remote: FrameStream::new(),
            local: FrameStream::new(),
            preview: FrameStream::new(),
        }
    }
}

impl Streams {
    fn by_name(&self, name: &str) -> Option<&Arc<FrameStream>> {
        match name {
            "remote" => Some(&self.remote),
            "local" => Some(&self.local),
            "preview" => Some(&self.preview),
            _ => None,
        }
    }
}

/// What a request asks for: the stream, the last picture the page has, the drawing size.
#[derive(Debug, PartialEq, Eq)]
struct Wanted {
    stream: String,
    after: u32,
    width: u32,
    height: u32,
    format: Format,
}

fn parse(uri: &str) -> Result<Wanted, String> {
    let url = tauri::Url::parse(uri).map_err(|error| format!("not a URL: {error}"))?;
    // `natter-frame://localhost/remote` on Linux and macOS, `http://natter-frame.localhost/remote`
    // on Windows: the stream is the path either way.
    let stream = url.path().trim_matches('/').to_owned();
    let mut wanted = Wanted {
        stream,
        after: 0,
        width: MAX_SIDE,
        height: MAX_SIDE,
        format: Format::I420,
    };
    for (key, value) in url.query_pairs() {
        let number = || {
            value
                .parse::<u32>()
                .map_err(|_| format!("{key} must be a whole number, not {value:?}"))
        };
        match key.as_ref() {
            "after" => wanted.after = number()?,
            "width" => wanted.width = number()?.clamp(2, MAX_SIDE),
            "height" => wanted.height = number()?.clamp(2, MAX_SIDE),
            "format" => {
                wanted.format = match value.as_ref() {
                    "i420" => Format::I420,
                    "rgba" => Format::Rgba,
                    other => return Err(format!("format must be i420 or rgba, not {other:?}")),
                }
            }
            _ => {}
        }
    }
    Ok(wanted)
}

/// The origins of the app's own pages (`tauri://localhost` on Linux and macOS,
/// `http(s)://tauri.localhost` on Windows): the only ones that may read pictures.
const APP_ORIGINS: [&str; 3] = [
    "tauri://localhost",
    "http://tauri.localhost",
    "https://tauri.localhost",
];

fn allowed_origin(origin: Option<&str>) -> Option<&'static str> {
    let origin = origin?;
    APP_ORIGINS.into_iter().find(|allowed| *allowed == origin)
}

fn respond(
    status: StatusCode,
    body: Vec<u8>,
    content_type: &str,
    origin: Option<&'static str>,
) -> Response<Vec<u8>> {
    let mut response = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CACHE_CONTROL, "no-store")
        .header(header::VARY, "Origin");
    // The page's origin is the app's own scheme, which differs from this one: allowed by
    // name, so no other page (were one ever loaded) could read the camera's pictures.
    if let Some(origin) = origin {
        response = response.header(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    }
    response.body(body).unwrap_or_default()
}

/// Answers one request of the page.
pub async fn serve(streams: &Streams, request: &Request<Vec<u8>>) -> Response<Vec<u8>> {
    let origin = allowed_origin(
        request
            .headers()
            .get(header::ORIGIN)
            .and_then(|value| value.to_str().ok()),
    );
    let answer = |status, body, content_type: &str| respond(status, body, content_type, origin);
    let wanted = match parse(&request.uri().to_string()) {
        Ok(wanted) => wanted,
        Err(message) => {
            return answer(StatusCode::BAD_REQUEST, message.into_bytes(), "text/plain");
        }
    };
    let Some(stream) = streams.by_name(&wanted.stream) else {
        let message = format!("no stream {:?}", wanted.stream);
        return answer(StatusCode::NOT_FOUND, message.into_bytes(), "text/plain");
    };
    match stream
        .next_after(wanted.after, wanted.width, wanted.height, wanted.format)
        .await
    {
        Next::Picture(body) => answer(StatusCode::OK, body, "application/octet-stream"),
        Next::Nothing => answer(StatusCode::NO_CONTENT, Vec::new(), "text/plain"),
        // Not 204: the page would ask again at once and get the same picture back.
        Next::Unusable => answer(
            StatusCode::INTERNAL_SERVER_ERROR,
            b"the picture cannot be converted".to_vec(),
            "text/plain",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn picture(width: u32, height: u32) -> VideoFrame {
        let mut frame = VideoFrame::black(width, height);
        frame.captured_at_us = 1_700_000_000_123_456;
        frame
    }

    impl Next {
        fn picture(self) -> Vec<u8> {
            match self {
                Next::Picture(body) => body,
                Next::Nothing => panic!("no picture: nothing newer"),
                Next::Unusable => panic!("no picture: unusable"),
            }
        }
    }

    fn header(body: &[u8]) -> (u32, u32, u32, f64) {
        let word = |at: usize| u32::from_le_bytes(body[at..at + 4].try_into().unwrap());
        let captured = f64::from_le_bytes(body[16..24].try_into().unwrap());
        (word(0), word(4), word(8), captured)
    }

    #[test]
    fn requests_name_a_stream_and_the_drawing_size() {
        let wanted =
            parse("natter-frame://localhost/remote?after=12&width=640&height=360").unwrap();
        assert_eq!(
            wanted,
            Wanted {
                stream: "remote".into(),
                after: 12,
                width: 640,
                height: 360,
                format: Format::I420,
            }
        );
        let rgba = parse("natter-frame://localhost/remote?format=rgba").unwrap();
        assert_eq!(rgba.format, Format::Rgba);
        assert!(parse("natter-frame://localhost/remote?format=png").is_err());
        let windows = parse("http://natter-frame.localhost/local?after=0").unwrap();
        assert_eq!(windows.stream, "local");
        assert_eq!(windows.width, MAX_SIDE);
        assert!(parse("natter-frame://localhost/remote?after=-1").is_err());
        assert_eq!(
            parse("natter-frame://localhost/x?width=0").unwrap().width,
            2
        );
    }

    #[tokio::test]
    async fn the_newest_picture_is_served_scaled_and_older_ones_are_dropped() {
        let stream = FrameStream::new();
        stream.frame(picture(1280, 720));
        stream.frame(picture(1280, 720));
        let body = stream.next_after(0, 640, 640, Format::I420).await.picture();
        let (width, height, seq, captured) = header(&body);
        assert_eq!((width, height), (640, 360));
        assert_eq!(body.len(), HEADER_LEN + 640 * 360 * 3 / 2);
        assert!((captured - 1_700_000_000_123.456).abs() < 0.001);
        // The second picture replaced the first: asking after it waits for a newer one.
        let waited = tokio::time::Instant::now();
        assert_eq!(
            stream.next_after(seq, 640, 640, Format::I420).await,
            Next::Nothing
        );
        assert!(waited.elapsed() >= LONGEST_WAIT);
    }

    #[tokio::test]
    async fn a_waiting_request_gets_the_next_picture_at_once() {
        let stream = FrameStream::new();
        let waiting = {
            let stream = stream.clone();
            tokio::spawn(async move { stream.next_after(0, 4096, 4096, Format::I420).await })
        };
        tokio::task::yield_now().await;
        stream.frame(picture(320, 240));
        let body = waiting.await.unwrap().picture();
        assert_eq!(header(&body).0, 320, "not scaled up");
        stream.clear();
        assert!(stream.latest.borrow().is_none());
    }

    #[tokio::test]
    async fn rgba_pictures_are_converted_and_say_so() {
        let stream = FrameStream::new();
        stream.frame(picture(64, 48));
        let body = stream.next_after(0, 32, 32, Format::Rgba).await.picture();
        let (width, height, _, _) = header(&body);
        assert_eq!((width, height), (32, 24));
        assert_eq!(u32::from_le_bytes(body[12..16].try_into().unwrap()), 1);
        assert_eq!(body.len(), HEADER_LEN + 32 * 24 * 4);
        // Limited-range black is RGB 0, opaque.
        assert_eq!(&body[HEADER_LEN..HEADER_LEN + 4], &[0, 0, 0, 255]);

        // An odd size cannot be converted: an error, not "nothing newer" (which the page
        // would ask again for at once, forever).
        let mut odd = picture(64, 48);
        odd.width = 63;
        stream.frame(odd);
        assert_eq!(
            stream.next_after(0, 4096, 4096, Format::Rgba).await,
            Next::Unusable
        );
    }

    #[test]
    fn only_the_apps_own_pages_may_read_pictures() {
        assert_eq!(
            allowed_origin(Some("tauri://localhost")),
            Some("tauri://localhost")
        );
        assert_eq!(
            allowed_origin(Some("http://tauri.localhost")),
            Some("http://tauri.localhost")
        );
        assert_eq!(allowed_origin(Some("https://example.com")), None);
        assert_eq!(allowed_origin(None), None);
    }
}
